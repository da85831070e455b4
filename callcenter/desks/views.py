"""Desks for the control room, doctors and counsellors: the live console of open escalations, one
escalation's page, and the steps of its lifecycle (acknowledge, send help, hand over, resolve, cancel)."""
from datetime import timezone
from urllib.parse import unquote, urlsplit

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import labels, scope
from ..auth.access import roles_required
from ..auth.views import safe_next
from ..clock import local_to_utc, utcnow
from ..forms import apply_service_errors
from ..models import Role, Setting
from ..rules import routing
from ..rules.routing import Desk
from ..services.core import settings as app_settings
from ..services.core.errors import Conflict, Forbidden, Invalid
from ..services.desks import consultations, discharge, dispatch, escalations
from ..services.records import records
from ..templating import local_datetime
from .forms import DispatchForm, EscalationActionForm, ReassignForm, ReviewDecisionForm

bp = Blueprint("desks", __name__, url_prefix="/desk")
DESK_USERS = (Role.CONTROL_ROOM, Role.DOCTOR, Role.COUNSELLOR, Role.NODAL_OFFICER, Role.ADMIN)
REVIEWERS = tuple(discharge.REVIEWER_ROLES)
POLL_SECONDS = 5  # the console asks for changes this often
WATCHED = 50      # open emergencies the console's alarm watches, whatever the filters show


def _chosen_desk():
    desks = escalations.desks_for(current_user)
    chosen = request.args.get("desk") or desks[0]
    if chosen not in desks:
        abort(403)
    return desks, Desk(chosen)


def iso(dt):
    """Naive UTC from the database as ISO 8601 with its offset, for the browser."""
    return dt.replace(tzinfo=timezone.utc).isoformat() if dt else None


@bp.route("/")
@roles_required(*DESK_USERS)
def desk():
    desks, chosen = _chosen_desk()
    filters = escalations.ConsoleFilters.from_args(request.args)
    items, more = escalations.console_queue(current_user, chosen, filters)
    blocks = [b for d in scope.districts(current_user) for b in d.blocks]
    emergencies = _open_emergencies(chosen)
    records.log_list_view(current_user, [esc.patient_id for esc in items], "desk")
    return render_template("desks/desk.html", desks=desks, chosen=chosen, items=items, more=more,
                           filters=filters, blocks=blocks, settings=list(Setting), poll_seconds=POLL_SECONDS,
                           watched=[e["id"] for e in emergencies], emergencies_open=len(emergencies),
                           form=EscalationActionForm(), **_row_context(utcnow()))


def _row_context(now):
    """What desks/_console_rows.html needs besides the rows."""
    return {"now": now, "iso": iso, "breached": lambda esc: escalations.is_breached(esc, now),
            "may_consult": lambda esc: consultations.may_consult(current_user, esc),
            "band": lambda esc: routing.band(esc.kind, esc.severity),
            "group": lambda esc: routing.group(esc.kind, esc.severity)}


@bp.route("/console.json")
@roles_required(*DESK_USERS)
def console():
    """The console's rows (rendered, so every word is translated), with what its clock and alarm need."""
    _desks, chosen = _chosen_desk()
    filters = escalations.ConsoleFilters.from_args(request.args, _header_search())
    now = utcnow()
    items, more = escalations.console_queue(current_user, chosen, filters)
    records.log_list_view(current_user, [esc.patient_id for esc in items], "desk")
    records.polled()  # a repeat of the same patients writes no new row (shown.py)
    rows = render_template("desks/_console_rows.html", items=items, form=EscalationActionForm(), **_row_context(now))
    emergencies = _open_emergencies(chosen)
    empty = render_template("desks/_console_empty.html", chosen=chosen, filters=filters,
                            emergencies_open=len(emergencies))
    return jsonify({
        "at": iso(now), "at_text": local_datetime(now, "HH:mm:ss"), "desk": chosen, "more": more, "html": rows,
        "empty": empty, "items": [_item(esc, now) for esc in items],
        # The alarm rings for a new open emergency even when the filters hide it.
        "emergencies": emergencies,
    })


def _header_search():
    """The console's search words, sent in a header (percent-encoded: names in Hindi) to keep them out of
    addresses and so out of every log; None when the request has none (a plain ?q= still works)."""
    sent = request.headers.get("X-Console-Search")
    return unquote(sent, errors="replace") if sent is not None else None


def _open_emergencies(desk):
    """The desk's open (unacknowledged) emergencies, whatever the filters: what the alarm watches."""
    watched, _more = escalations.console_queue(current_user, desk, limit=WATCHED)
    shown = [e for e in watched if e.severity == "emergency" and e.status == "open"]
    records.log_list_view(current_user, [e.patient_id for e in shown], "desk")  # the alarm names them
    return [{"id": e.id, "text": f"{labels.ESCALATION_KINDS.get(e.kind, e.kind)} · {e.patient.name}"}
            for e in shown]


def _item(esc, now):
    patient = esc.patient
    return {"id": esc.id, "kind": esc.kind, "severity": esc.severity, "status": esc.status, "version": esc.version,
            "band": routing.band(esc.kind, esc.severity), "group": routing.group(esc.kind, esc.severity),
            "created_at": iso(esc.created_at), "respond_by": iso(esc.respond_by),
            "breached": escalations.is_breached(esc, now), "owner_id": esc.owner_id,
            "patient": {"id": patient.id, "name": patient.name, "setting": patient.setting,
                        "block_id": patient.village.block_id if patient.village else None}}


def _detail_page(esc, action_form=None, dispatch_form=None, reassign_form=None, status=200):
    facilities = dispatch.facilities_for(esc)
    action_form = action_form or EscalationActionForm()
    dispatch_form = dispatch_form or DispatchForm()
    reassign_form = reassign_form or ReassignForm()
    action_form.facility_id.choices = [("", _("The ambulance's destination"))] + [
        (str(f.id), f.name) for f in facilities]
    dispatch_form.destination_facility_id.choices = [("", "—")] + [
        (str(f.id), _("%(name)s (%(kind)s) · free beds: %(general)s general, %(oxygen)s oxygen, %(icu)s ICU",
                      name=f.name, kind=labels.FACILITY_KINDS.get(f.kind, f.kind), general=f.free_general,
                      oxygen=f.free_oxygen, icu=f.free_icu)) for f in facilities]
    reassign_form.owner_id.choices = [("", "—")] + [
        (str(u.id), f"{u.display_name} ({labels.ROLES[u.role]})") for u in escalations.reassign_candidates(esc)]
    # Each desk's own work: sending help is the control room's; a doctor or counsellor calls the patient and
    # sees the consultations recorded against this referral.
    control_room = esc.desk == Desk.CONTROL_ROOM
    return render_template("desks/detail.html", esc=esc, history=records.recent_history(esc.patient),
                           form=action_form, dispatch_form=dispatch_form, reassign_form=reassign_form,
                           facilities=facilities, control_room=control_room,
                           may_dispatch=control_room and dispatch.may_dispatch(current_user),
                           consultations=[] if control_room else consultations.of_escalation(esc),
                           **_row_context(utcnow())), status


@bp.route("/escalation/<int:esc_id>", methods=["GET"])
@roles_required(*DESK_USERS)
def detail(esc_id):
    esc = escalations.get_for_desk(esc_id, current_user)
    records.log_view(current_user, esc.patient, "escalation")
    return _detail_page(esc)


@bp.route("/escalation/<int:esc_id>/act", methods=["POST"])
@roles_required(*DESK_USERS)
def act(esc_id):
    form = EscalationActionForm()
    back = url_for(".detail", esc_id=esc_id) if request.args.get("from") == "detail" else \
        _console_address(form.desk.data)
    if not form.validate_on_submit():
        flash(_("The form expired or was incomplete; please try again."), "warning")
        return redirect(back)
    if form.action.data == "resolve" and not form.outcome.data:
        flash(_("Choose what came of it."), "danger")
        return redirect(back)
    try:
        escalations.act(esc_id, current_user, form.action.data, form.text.data, form.version.data,
                        outcome=form.outcome.data, facility_id=form.facility_id.data)
    except (Conflict, Invalid, Forbidden) as exc:
        flash(" ".join([str(exc.message), *(str(m) for m in exc.errors.values() if str(m) != str(exc.message))]),
              "danger")
    else:
        flash(_("Saved."), "success")
    return redirect(back)


def _console_address(desk):
    """Back to the console as the operator left it: the console keeps its filters in the address, so the
    page the form was sent from (same site, the console only) says which."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path == url_for(".desk"):
        return safe_next(f"{referrer.path}?{referrer.query}" if referrer.query else referrer.path)
    return url_for(".desk", desk=desk or None)


@bp.route("/escalation/<int:esc_id>/dispatch", methods=["POST"])
@roles_required(*dispatch.DISPATCH_ROLES)
def send_help(esc_id):
    esc = escalations.get_for_desk(esc_id, current_user)
    form = DispatchForm()
    if not form.validate_on_submit():
        if not form.errors.keys() - {"eta", "delivery_at"}:  # only the times were unreadable
            return _detail_page(esc, dispatch_form=form, status=422)
        flash(_("The form expired or was incomplete; please try again."), "warning")
        return redirect(url_for(".detail", esc_id=esc_id))
    data = {name: getattr(form, name).data for name in (
        "kind", "vehicle_number", "driver_phone", "destination_facility_id", "delivered_by", "note")}
    data["eta"] = local_to_utc(form.eta.data) if form.eta.data else None
    data["delivery_at"] = local_to_utc(form.delivery_at.data) if form.delivery_at.data else None
    return _on_detail(esc_id, form, "dispatch_form",
                      lambda: dispatch.dispatch(esc_id, current_user, data, version=form.version.data),
                      lambda sent: _("Saved: %(what)s sent.", what=labels.DISPATCH_KINDS[sent.kind]))


def _on_detail(esc_id, form, form_name, action, success):
    """Run a step from the escalation's page: its field errors shown again on the page (422), a conflict
    flashed, `success(result)` flashed when it went through; then back to the page."""
    try:
        result = action()
    except Invalid as exc:
        apply_service_errors(form, exc)
        return _detail_page(escalations.get_for_desk(esc_id, current_user), **{form_name: form}, status=422)
    except (Conflict, Forbidden) as exc:
        flash(str(exc.message), "danger")
    else:
        flash(success(result), "success")
    return redirect(url_for(".detail", esc_id=esc_id))


@bp.route("/escalation/<int:esc_id>/reassign", methods=["POST"])
@roles_required(*DESK_USERS)
def reassign(esc_id):
    escalations.get_for_desk(esc_id, current_user)
    form = ReassignForm()
    if not form.validate_on_submit():
        flash(_("The form expired or was incomplete; please try again."), "warning")
        return redirect(url_for(".detail", esc_id=esc_id))
    return _on_detail(esc_id, form, "reassign_form",
                      lambda: escalations.reassign(esc_id, current_user, form.owner_id.data, form.text.data,
                                                   version=form.version.data),
                      lambda esc: _("Handed over to %(name)s.", name=esc.owner.display_name))


def _confirm_discharge(review_id, form):
    """The step between *Discharge* and the discharge: who, their latest readings, and the note, to confirm."""
    try:
        review = discharge.pending_review(review_id, current_user)
    except Conflict as exc:
        flash(str(exc.message), "danger")
        return redirect(url_for(".reviews"))
    records.log_view(current_user, review.patient, "reviews")
    return render_template("desks/review_confirm.html", review=review, patient=review.patient, form=form,
                           readings=discharge.latest_readings([review.patient_id])[review.patient_id],
                           thresholds=app_settings.thresholds())


@bp.route("/reviews")
@roles_required(*REVIEWERS)
def reviews():
    reviews = discharge.pending_reviews(current_user)
    records.log_list_view(current_user, [review.patient_id for review in reviews], "reviews")
    return render_template("desks/reviews.html", reviews=reviews, form=ReviewDecisionForm(),
                           readings=discharge.latest_readings({review.patient_id for review in reviews}),
                           thresholds=app_settings.thresholds())


@bp.route("/reviews/<int:review_id>", methods=["POST"])
@roles_required(*REVIEWERS)
def decide_review(review_id):
    form = ReviewDecisionForm()
    if not form.validate_on_submit():
        flash(_("The form expired or was incomplete; please try again."), "warning")
        return redirect(url_for(".reviews"))
    if form.decision.data == "discharge" and form.confirmed.data != "yes":
        return _confirm_discharge(review_id, form)
    try:
        review = discharge.decide(review_id, current_user, form.decision.data == "discharge", form.note.data)
    except (Conflict, Invalid) as exc:
        flash(str(exc.message), "danger")
    else:
        if review.status == "discharged":
            flash(_("%(name)s is discharged; their follow-up calls have ended.", name=review.patient.name),
                  "success")
        else:
            flash(_("%(name)s stays in isolation and will be reviewed again.", name=review.patient.name), "info")
    return redirect(url_for(".reviews"))
