"""Patient records (search, timeline, transfers, end of follow-up), villages and households."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import labels, scope
from ..admin.audit import AUDIT_ROLES, filter_form, read_page
from ..auth.access import roles_required
from ..forms import apply_service_errors, facility_choices
from ..input_checks import ID_MAX, db_int
from ..models import Patient
from ..services.calls import households
from ..services.core import audit_trail
from ..services.core import settings as app_settings
from ..services.core.errors import Conflict, Invalid, NotFound
from ..services.records import records, transfers, villages
from .forms import ContactForm, EndForm, HouseholdForm, PlainForm, SearchForm, TransferForm

bp = Blueprint("records", __name__)
RECORD_ROLES = tuple(records.RECORD_ROLES)


@bp.app_template_global()
def record_url(patient_id):
    """The patient record's address for pages that name a patient, if this viewer may open records."""
    return url_for("records.record", patient_id=patient_id) if records.may_open_record(current_user) else None


# --- Patients ------------------------------------------------------------------------------------------

@bp.route("/patients/", methods=["GET", "POST"])
@roles_required(*RECORD_ROLES)
def search():
    """The search box posts its words (SearchForm); a link's ?q= still searches."""
    form = SearchForm()  # (a POST's CSRF token is checked before the view: an expired form is said so)
    if request.method == "GET":
        form.q.data = request.args.get("q")
    query = (form.q.data or "").strip()
    found, total, error = [], 0, None
    if query:
        try:
            found, total = records.find_patients(current_user, query)
        except Invalid as exc:
            error = str(exc.message)
    return render_template("records/search.html", form=form, query=query, found=found, total=total, error=error,
                           count_limit=records.COUNT_LIMIT)


@bp.route("/patients/<int:patient_id>")
@roles_required(*RECORD_ROLES)
def record(patient_id):
    patient = records.open_record(current_user, patient_id)
    return _render_record(patient)


def _render_record(patient, transfer_form=None, end_form=None, household_form=None, household_doubt=None):
    transfer_form = transfer_form or TransferForm(formdata=None)
    facility_choices(transfer_form.to_facility_id, transfers.destinations(patient))
    household = households.of(patient)
    members = households.members(household.id) if household else []
    suggestions = households.suggestions(patient) if households.may_group(current_user) else []
    named = [p.id for p in (*members, *suggestions)] + ([household_doubt[1]] if household_doubt else [])
    records.log_list_view(current_user, named, "record")  # named there too (a warning names the other patient)
    return render_template(
        "records/record.html", patient=patient, events=records.timeline(patient),
        today_tasks=records.todays_calls(patient),
        household=household, members=members, suggestions=suggestions,
        may_transfer=transfers.may_transfer(current_user, patient), may_end=transfers.may_end(current_user, patient),
        may_group=households.may_group(current_user) and patient.is_active,
        transfer_form=transfer_form, end_form=end_form or EndForm(formdata=None),
        household_form=household_form or HouseholdForm(formdata=None), plain_form=PlainForm(),
        household_doubt=household_doubt and household_doubt[0],
        may_view_village=villages.may_view(current_user), thresholds=app_settings.thresholds())


@bp.route("/patients/<int:patient_id>/access-log")
@roles_required(*AUDIT_ROLES)
def access_log(patient_id):
    """The record's "Access log" tab: who viewed, changed, exported or sent anything about this patient."""
    patient = scope.get_scoped(Patient, patient_id, current_user)
    records.log_view(current_user, patient, "access_log")  # the page names the patient: a view
    form = filter_form(patient_id=patient.id)
    page = read_page(form)
    return render_template("records/access_log.html", patient=patient, form=form, page=page, kinds=audit_trail.KINDS,
                           export_url=url_for("admin.audit.export", **page.filters.args()),
                           retention_days=audit_trail.retention_days())


@bp.route("/patients/<int:patient_id>/transfer", methods=["POST"])
@roles_required(*transfers.TRANSFER_ROLES)
def transfer(patient_id):
    patient = records.open_record(current_user, patient_id)
    form = TransferForm()
    facility_choices(form.to_facility_id, transfers.destinations(patient))
    done = _submit(patient_id, form, lambda: transfers.transfer(
        patient_id, current_user, form.to_setting.data, form.to_facility_id.data, form.reason.data),
        lambda move: _("%(name)s moved to %(place)s.", name=patient.name, place=_place(move)))
    return done or _render_record(patient, transfer_form=form)


def _submit(patient_id, form, action, success):
    """The record page's POST: run `action` if the form is valid and go back to the record with `success(result)`
    flashed; a conflict is flashed too. None means: show the record again with the form's errors."""
    if not form.validate_on_submit():
        return None
    try:
        result = action()
    except Invalid as exc:
        apply_service_errors(form, exc)
        return None
    except Conflict as exc:
        flash(str(exc.message), "danger")
    else:
        flash(success(result), "success")
    return redirect(url_for(".record", patient_id=patient_id))


def _place(move):
    setting = str(labels.SETTINGS[move.to_setting])
    return f"{setting} · {move.to_facility.name}" if move.to_facility else setting


@bp.route("/patients/<int:patient_id>/end", methods=["POST"])
@roles_required(*transfers.END_ROLES)
def end(patient_id):
    patient = records.open_record(current_user, patient_id)
    form = EndForm()
    done = _submit(patient_id, form, lambda: transfers.end(patient_id, current_user, form.status.data,
                                                           form.reason.data),
                   lambda _result: _("%(name)s: follow-up ended (%(status)s); their open calls are cancelled.",
                                     name=patient.name, status=labels.PATIENT_STATUSES[form.status.data]))
    return done or _render_record(patient, end_form=form)


@bp.route("/patients/<int:patient_id>/household", methods=["POST"])
@roles_required(*households.HOUSEHOLD_ROLES)
def group(patient_id):
    patient = records.open_record(current_user, patient_id)
    form = HouseholdForm()
    if form.validate_on_submit():
        try:
            if not 0 < form.other_id.data <= ID_MAX:  # no record has it (and the database could not be asked)
                raise NotFound("no such record number")
            households.group(patient_id, form.other_id.data, current_user, confirmed=form.confirm.data == "y")
        except households.Unconfirmed as exc:
            return _render_record(patient, household_form=form, household_doubt=(str(exc.message), form.other_id.data))
        except Invalid as exc:
            apply_service_errors(form, exc)
        except NotFound:
            form.other_id.errors = [_("No patient with this record number in your district.")]
        else:
            flash(_("Added to the household: one call now covers its members."), "success")
            return redirect(url_for(".record", patient_id=patient_id))
    return _render_record(patient, household_form=form)


@bp.route("/patients/<int:patient_id>/household/leave", methods=["POST"])
@roles_required(*households.HOUSEHOLD_ROLES)
def leave_household(patient_id):
    if not PlainForm().validate_on_submit():
        flash(_("The form expired; please try again."), "warning")
    else:
        try:
            households.leave(patient_id, current_user)
        except Conflict as exc:
            flash(str(exc.message), "warning")
        else:
            flash(_("Taken out of the household; the patient gets calls of their own."), "success")
    return redirect(url_for(".record", patient_id=patient_id))


# --- Villages ------------------------------------------------------------------------------------------

@bp.route("/villages/")
@roles_required(*villages.VIEWER_ROLES)
def village_list():
    districts = villages.districts_for(current_user)
    chosen = request.args.get("district", type=db_int) or (districts[0].id if districts else None)
    blocks = villages.blocks_with_counts(current_user, chosen) if chosen else []
    return render_template("records/villages.html", districts=districts, chosen=chosen, blocks=blocks)


@bp.route("/villages/<int:village_id>")
@roles_required(*villages.VIEWER_ROLES)
def village(village_id):
    page = villages.village_page(village_id, current_user)
    return render_template("records/village.html", **page, form=PlainForm(),
                           may_edit=villages.may_edit(current_user), may_open=records.may_open_record(current_user))


@bp.route("/villages/<int:village_id>/contacts/new", methods=["GET", "POST"])
@roles_required(*villages.EDITOR_ROLES)
def add_contact(village_id):
    village = villages.get_village(village_id, current_user)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = villages.add_contact(village_id, current_user, form.values())
        except Invalid as exc:
            apply_service_errors(form, exc)
        else:
            flash(_("%(name)s added to %(village)s.", name=contact.name, village=village.name), "success")
            return redirect(url_for(".village", village_id=village_id))
    return render_template("records/contact_form.html", form=form, village=village, contact=None)


@bp.route("/villages/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@roles_required(*villages.EDITOR_ROLES)
def edit_contact(contact_id):
    contact = villages.get_contact(contact_id, current_user)
    form = ContactForm(obj=contact) if request.method == "GET" else ContactForm()
    if form.validate_on_submit():
        try:
            villages.edit_contact(contact_id, current_user, form.values())
        except Invalid as exc:
            apply_service_errors(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".village", village_id=contact.village_id))
    return render_template("records/contact_form.html", form=form, village=contact.village, contact=contact)


@bp.route("/villages/contacts/<int:contact_id>/active", methods=["POST"])
@roles_required(*villages.EDITOR_ROLES)
def contact_active(contact_id):
    contact = villages.get_contact(contact_id, current_user)
    if not PlainForm().validate_on_submit():
        flash(_("The form expired; please try again."), "warning")
    else:
        try:
            villages.set_contact_active(contact_id, current_user, request.form.get("active") == "1")
        except Invalid as exc:
            flash(str(exc.message), "danger")
        else:
            flash(_("Saved."), "success")
    return redirect(url_for(".village", village_id=contact.village_id))
