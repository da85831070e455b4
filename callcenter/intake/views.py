"""Patient registration and line-list imports (nodal officer, admin)."""
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename

from .. import errors, labels, scope
from ..auth import access
from ..auth.access import roles_required
from ..forms import apply_service_errors
from ..input_checks import db_int, page_number
from ..models import ImportBatch, ImportStatus, Role, RowAction
from ..models.intake import WAITING_IMPORT_STATUSES
from ..rules.linelist.headers import map_headers
from ..services.core.errors import Conflict, Invalid, NotFound
from ..services.intake import batches, messages, queue, reading, refusing, storage
from ..services.records import patients, villages
from .forms import ImportForm, PatientForm, mapping_form

bp = Blueprint("intake", __name__, url_prefix="/intake")


def _fill_choices(form):
    districts = scope.districts(current_user)
    form.district_id.choices = labels.choices([("", "—")] + [(d.id, d.name) for d in districts])
    form.village_id.choices = labels.choices(
        [("", "—")] + [(v_id, f"{v_name} ({b_name})") for v_id, v_name, b_name in villages.villages_in(districts)])
    facilities = patients.facilities_for(current_user)
    form.facility_id.choices = labels.choices([("", "—")] + [(f.id, f"{f.name} · {_kind(f)}") for f in facilities])


def _kind(facility):
    return labels.FACILITY_KINDS[facility.kind]


@bp.route("/register", methods=["GET", "POST"])
@roles_required(Role.NODAL_OFFICER, Role.ADMIN)
def register():
    form = PatientForm()
    _fill_choices(form)
    if form.validate_on_submit():
        try:
            patient = patients.register_patient(form.values(), current_user)
        except (Invalid, Conflict) as exc:
            apply_service_errors(form, exc)
        else:
            flash(_("%(name)s is registered and queued for a call today.", name=patient.name), "success")
            return redirect(url_for(".register"))
    return render_template("intake/register.html", form=form, state_level=current_user.district_id is None)


# --- line-list imports ---------------------------------------------------------------------------------

IMPORTERS = (Role.NODAL_OFFICER, Role.ADMIN)
ROWS_PER_PAGE = 100


def _after_import(batch):
    # (The batch page says what the import did; only the calls it queued are news to flash.)
    if batch.status == ImportStatus.COMPLETED and batch.tasks_created:
        flash(_("%(n)s calls were added to today's queue.", n=batch.tasks_created), "success")
    elif getattr(batch, "stopped", False):
        flash(_("This file's import stopped before it ended: its worker is no longer running, and nothing from the "
                "file was saved. Restart it here."), "warning")
    elif getattr(batch, "already_waiting", False):
        flash(_("This file is already waiting to be imported: this is its import. Nothing was added twice."), "info")
    elif batch.status in WAITING_IMPORT_STATUSES:
        flash(_("The file is large, so it is imported in the background. This page shows how far it got; you "
                "can leave it and come back."), "info")
    return redirect(url_for(".import_batch", batch_id=batch.id))


def _to_columns(stored, dry_run, district_id):
    return redirect(url_for(".import_columns", sha=stored.sha256, name=stored.filename, dry_run=int(dry_run),
                            district=district_id or ""))


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*IMPORTERS)
def import_upload():
    form = ImportForm()
    state_level = current_user.district_id is None
    form.district_id.choices = labels.choices(
        [("", _("All districts: the file has a District column"))] +
        [(d.id, d.name) for d in scope.districts(current_user)])
    status = 200
    if form.validate_on_submit():
        district_id = form.district_id.data if state_level else None
        upload = form.file.data
        try:
            stored = storage.store_upload(upload.stream, upload.filename, current_user, district_id)
            batch = queue.submit(stored, current_user, dry_run=form.dry_run.data, district_id=district_id)
        except messages.NeedsMapping:
            return _to_columns(stored, form.dry_run.data, district_id)
        except (messages.Refused, Conflict) as exc:
            form.form_errors = [str(exc.message)]
            status = 422
        else:
            return _after_import(batch)
    elif form.is_submitted():
        status = 422
    recent, _total = batches.batches(current_user, limit=5)
    return render_template("intake/import_upload.html", form=form, state_level=state_level, recent=recent,
                           max_mb=storage.megabytes(current_app.config["IMPORT_MAX_BYTES"]),
                           inline_kb=current_app.config["IMPORT_INLINE_MAX_BYTES"] // 1024), status


@bp.route("/import/<sha>/columns", methods=["GET", "POST"])
@roles_required(*IMPORTERS)
def import_columns(sha):
    name = request.args.get("name", "")
    dry_run = request.args.get("dry_run") == "1"
    district_id = request.args.get("district", type=db_int)
    try:
        stored = storage.stored_upload_for(current_user, sha, name)
    except NotFound as exc:
        flash(str(exc.message), "warning")
        return redirect(url_for(".import_upload"))
    earlier = None
    if request.method == "GET" and request.args.get("batch", type=db_int):
        earlier = batches.open_batch(current_user, request.args.get("batch", type=db_int)).mapping
    try:
        inspection = reading.inspect(stored, current_user, district_id, chosen=earlier)
    except messages.Refused as exc:
        flash(str(exc.message), "danger")
        return redirect(url_for(".import_upload"))
    form = mapping_form(inspection.headers, inspection.map.fields)
    problems = []
    if form.validate_on_submit():
        chosen = {h: form[f"col_{i}"].data for i, h in enumerate(inspection.headers)}
        chosen_map = map_headers(inspection.headers, chosen=chosen)
        problems = _mapping_problems(chosen_map, inspection.required)
        if not problems:
            reading.remember_mapping(chosen, current_user)
            try:
                batch = queue.submit(stored, current_user, dry_run=dry_run, district_id=district_id,
                                       mapping=chosen)
            except messages.NeedsMapping as exc:
                problems = _mapping_problems(exc.inspection.map, exc.inspection.required)
            except (messages.Refused, Conflict) as exc:
                flash(str(exc.message), "danger")
                return redirect(url_for(".import_upload"))
            else:
                return _after_import(batch)
    elif request.method == "GET":
        problems = _mapping_problems(inspection.map, inspection.required)
    samples = [[row[i] if i < len(row) else "" for row in inspection.samples] for i in range(len(inspection.headers))]
    status = 422 if problems and request.method == "POST" else 200
    return render_template("intake/import_columns.html", form=form, inspection=inspection, samples=samples,
                           problems=problems, filename=stored.filename, dry_run=dry_run), status


def _mapping_problems(header_map, required):
    problems = []
    if header_map.unknown:
        problems.append(_("Say what these columns hold: %(columns)s.", columns=", ".join(header_map.unknown)))
    for field_name, headers in header_map.duplicates.items():
        problems.append(_("%(columns)s are all marked as “%(field)s”: choose one, ignore the others.",
                          columns=", ".join(headers), field=labels.IMPORT_FIELDS[field_name]))
    missing = header_map.missing(required)
    if missing:
        problems.append(_("No column holds: %(fields)s. Every patient needs these.",
                          fields=", ".join(str(labels.IMPORT_FIELDS[f]) for f in missing)))
    return problems


@bp.route("/imports/")
@roles_required(*IMPORTERS)
def import_list():
    page = page_number()
    found, total = batches.batches(current_user, offset=(page - 1) * 50, limit=50)
    return render_template("intake/import_list.html", batches=found, total=total, page=page, per_page=50,
                           stopped=batches.stopped_ids(found), stopped_text=batches.stopped_text)


@bp.route("/imports/<int:batch_id>")
@roles_required(*IMPORTERS)
def import_batch(batch_id):
    batch = batches.open_batch(current_user, batch_id)
    action = request.args.get("action") if request.args.get("action") in set(RowAction) else None
    page = page_number()
    rows, total = batches.batch_rows(batch, action, offset=(page - 1) * ROWS_PER_PAGE, limit=ROWS_PER_PAGE)
    return render_template("intake/import_batch.html", batch=batch, rows=rows, total=total, page=page,
                           per_page=ROWS_PER_PAGE, action=action, summary=batches.summary(batch),
                           waiting=batch.status in WAITING_IMPORT_STATUSES, progress=batches.progress(batch),
                           earlier=batches.earlier_imports(batch), can_run=batches.can_run(batch),
                           reason_text=messages.reason_text,
                           name_header=next((h for h, f in (batch.mapping or {}).items() if f == "name"), None))


@bp.route("/imports/<int:batch_id>/progress.json")
@roles_required(*IMPORTERS)
def import_progress(batch_id):
    """How far a background import got (the batch page polls it, and reloads when it is done)."""
    batch = scope.get_scoped(ImportBatch, batch_id, current_user)
    return batches.progress(batch)


@bp.route("/imports/<int:batch_id>/run", methods=["POST"])
@roles_required(*IMPORTERS)
def import_run(batch_id):
    """Import for real a file that was checked first (its upload is still kept)."""
    batch = batches.open_batch(current_user, batch_id)
    if batch.status != ImportStatus.DRY_RUN:
        abort(409)
    try:
        stored = storage.stored_upload(batch.file_hash, batch.filename)
        new = queue.submit(stored, current_user, dry_run=False, district_id=batch.district_id,
                             mapping=batch.mapping)
    except NotFound as exc:
        flash(str(exc.message), "warning")
        return redirect(url_for(".import_upload"))
    except messages.NeedsMapping:
        return _to_columns(stored, False, batch.district_id)
    except (messages.Refused, Conflict) as exc:
        flash(str(exc.message), "danger")
        return redirect(url_for(".import_batch", batch_id=batch.id))
    return _after_import(new)


@bp.route("/imports/<int:batch_id>/restart", methods=["POST"])
@roles_required(*IMPORTERS)
def import_restart(batch_id):
    """Restart a background import whose worker stopped (queue.restart: refused while it is alive)."""
    try:
        batch, restarted = queue.restart(current_user, batch_id)
    except Conflict as exc:
        flash(str(exc.message), "danger")
        return redirect(url_for(".import_batch", batch_id=batch_id))
    if restarted:
        flash(_("The import waits to be started again. Nothing from the stopped attempt was saved, so nothing is "
                "added twice."), "success")
    elif batch.status in WAITING_IMPORT_STATUSES:
        flash(_("This import was already restarted: it is waiting for its turn, or under way."), "info")
    return redirect(url_for(".import_batch", batch_id=batch.id))


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(exc):
    """An upload over MAX_CONTENT_LENGTH, stopped before its body is read (this runs before the view, from the
    CSRF check that would read the form): an importer's is listed under All imports as refused."""
    policy = access.policy_for(request.endpoint) if request.endpoint == "intake.import_upload" else None
    if policy is not None and current_user.is_authenticated and policy.allows(current_user):
        refusing.record_unread(current_user, request.content_length)
    return errors.render_error(413, errors.too_large_message())


@bp.route("/imports/<int:batch_id>/errors.csv")
@roles_required(*IMPORTERS)
def import_errors(batch_id):
    batch = scope.get_scoped(ImportBatch, batch_id, current_user)
    batches.log_error_report(current_user, batch)
    # Built inside the request (the rows are read with its session); at most the rejected rows of one file.
    body = "".join(batches.error_report(batch)).encode("utf-8")
    filename = secure_filename(batches.error_report_name(batch)) or f"errors-{batch.id}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={filename}"})
