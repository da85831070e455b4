"""Awareness broadcasts' pages: the list, a new one (previewed before it is saved as a draft), one broadcast
(its texts, audience, approval and progress)."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import labels, scope
from ..auth.access import roles_required
from ..clock import local_to_utc, to_local, utcnow
from ..extensions import db
from ..forms import apply_service_errors
from ..models import Block, Facility, Setting, Village
from ..rules import broadcasts as rules
from ..services.broadcasts import broadcasts
from ..services.checkins import sms_templates
from ..services.core.errors import Conflict, Forbidden, Invalid
from .forms import BLANKS, WHO, BroadcastForm, DecisionForm, blanks_of

bp = Blueprint("broadcasts", __name__, url_prefix="/broadcasts")
STAFF = tuple(broadcasts.DRAFTERS)


@bp.route("/")
@roles_required(*STAFF)
def index():
    return render_template("broadcasts/list.html", items=broadcasts.listed(current_user), who=WHO)


def _choices(form):
    districts = scope.districts(current_user)
    ids = [d.id for d in districts]
    every = [("", _("Every district"))] if current_user.district_id is None else []
    form.district_id.choices = labels.choices(every + [(d.id, d.name) for d in districts])
    form.setting.choices = labels.choices([("", _("Any"))] + [(s.value, labels.SETTINGS[s]) for s in Setting])
    blocks = db.session.scalars(db.select(Block).where(Block.district_id.in_(ids)).order_by(Block.name)).all()
    form.block_id.choices = labels.choices([("", _("Any"))] + [(b.id, b.name) for b in blocks])
    villages = db.session.scalars(db.select(Village).join(Block).where(Block.district_id.in_(ids))
                                  .order_by(Village.name).limit(500)).all()
    form.village_id.choices = labels.choices([("", _("Any"))] + [(v.id, v.name) for v in villages])
    facilities = db.session.scalars(db.select(Facility).where(Facility.district_id.in_(ids))
                                    .order_by(Facility.name)).all()
    form.facility_id.choices = labels.choices([("", _("Any"))] + [(f.id, f.name) for f in facilities])


def _submitted(form):
    template = form.template.data
    variables = {name: (getattr(form, f"v_{name}").data or "").strip() for name in blanks_of(template)}
    audience = {"who": form.who.data, "setting": form.setting.data or None, "block_id": form.block_id.data,
                "village_id": form.village_id.data, "facility_id": form.facility_id.data,
                "language": form.language.data or None, "high_risk": bool(form.high_risk.data),
                "recovered_days": form.recovered_days.data or 14}
    send_at = local_to_utc(form.send_at.data) if form.send_at.data else None
    return template, variables, audience, send_at


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new():
    form = BroadcastForm()
    _choices(form)
    seen = None
    if request.method == "GET" and not form.send_at.data:
        form.send_at.data = to_local(utcnow()).replace(tzinfo=None, second=0, microsecond=0)
    if form.validate_on_submit():
        template, variables, audience, send_at = _submitted(form)
        try:
            if form.action.data == "save":
                made = broadcasts.draft(current_user, form.title.data, template, variables, audience, send_at,
                                        district_id=form.district_id.data)
                flash(_("Draft saved. Another nodal officer approves it before it goes out."), "success")
                return redirect(url_for(".detail", broadcast_id=made.id))
            seen = broadcasts.preview(current_user, template, variables, audience, form.district_id.data)
        except (Invalid, Forbidden) as exc:
            if isinstance(exc, Forbidden):
                flash(str(exc.message), "danger")
            else:
                apply_service_errors(form, exc)
    return render_template("broadcasts/new.html", form=form, seen=seen, blanks=BLANKS,
                           template_blanks={name: sms_templates.TEMPLATES[name].variables
                                            for name in sms_templates.BROADCAST_TEMPLATES},
                           hours=[t.strftime("%H:%M") for t in rules.PROMOTIONAL_HOURS])


@bp.route("/<int:broadcast_id>")
@roles_required(*STAFF)
def detail(broadcast_id):
    broadcast = broadcasts.get(broadcast_id, current_user)
    texts = broadcasts.check_message(broadcast.template, broadcast.variables)
    return render_template("broadcasts/detail.html", b=broadcast, texts=texts, who=WHO,
                           segments=broadcasts.segments(texts),
                           progress=broadcasts.progress(broadcast), failures=broadcasts.failures(broadcast),
                           form=DecisionForm(),
                           may_approve=broadcast.status == "draft" and rules.may_approve(
                               current_user.id, broadcast.drafted_by_id, current_user.role))


def _decide(broadcast_id, step, done):
    if not DecisionForm().validate_on_submit():
        flash(_("The form expired; please try again."), "warning")
        return redirect(url_for(".detail", broadcast_id=broadcast_id))
    try:
        step(broadcast_id, current_user)
        flash(done, "success")
    except (Conflict, Forbidden, Invalid) as exc:
        flash(str(exc.message), "danger")
    return redirect(url_for(".detail", broadcast_id=broadcast_id))


@bp.route("/<int:broadcast_id>/approve", methods=["POST"])
@roles_required(*STAFF)
def approve(broadcast_id):
    return _decide(broadcast_id, broadcasts.approve, _("Approved: the messages are queued."))


@bp.route("/<int:broadcast_id>/cancel", methods=["POST"])
@roles_required(*STAFF)
def cancel(broadcast_id):
    return _decide(broadcast_id, broadcasts.cancel, _("Cancelled: nothing more of it will be sent."))
