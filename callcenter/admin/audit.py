"""The audit log, readable: a page with filters and a CSV export (admins and nodal officers, their district),
and `flask --app app audit verify`, which walks the hash chain."""
import sys

import click
from flask import Blueprint, Response, render_template, request, url_for
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import NumberRange, Optional

from .. import labels
from ..auth.access import roles_required
from ..forms import WholeNumberField, apply_service_errors
from ..input_checks import ID_MAX, page_number
from ..models import Role
from ..services.core import audit_trail, audit_verify
from ..services.core.errors import Invalid

bp = Blueprint("audit", __name__, url_prefix="/audit", cli_group=None)
AUDIT_ROLES = (Role.ADMIN, Role.NODAL_OFFICER)


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # GET filters change nothing

    patient_id = WholeNumberField(_l("Patient no."), validators=[Optional(), NumberRange(1, ID_MAX)])
    username = StringField(_l("User (username)"), validators=[Optional()])
    kind = SelectField(_l("What"), validators=[Optional()])
    action = StringField(_l("Action (or its start, e.g. patient.)"), validators=[Optional()])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])

    def filters(self):
        return audit_trail.Filters(self.patient_id.data, (self.username.data or "").strip(), self.kind.data or "",
                                   (self.action.data or "").strip()[:40], self.since.data, self.until.data)


def filter_form(patient_id=None):
    form = AuditFilterForm(request.args)
    form.kind.choices = labels.choices([("", _l("All")), *audit_trail.KINDS.items()])
    if patient_id is not None:
        form.patient_id.data = patient_id
    return form


def read_page(form):
    """The rows the form asks for, or an empty page with the form's errors."""
    if form.validate():
        try:
            return audit_trail.read(current_user, form.filters(), page_number())
        except Invalid as exc:
            apply_service_errors(form, exc)
    return audit_trail.Page([], 1, False, audit_trail.retention_days())


@bp.route("/")
@roles_required(*AUDIT_ROLES)
def index():
    form = filter_form()
    page = read_page(form)
    return render_template("admin/audit.html", form=form, page=page, kinds=audit_trail.KINDS,
                           export_url=url_for(".export", **page.filters.args()))


@bp.route("/audit.csv")
@roles_required(*AUDIT_ROLES)
def export():
    form = filter_form()
    if not form.validate():
        return index()
    filters = form.filters()
    try:
        chunks = audit_trail.csv_lines(current_user, filters)
    except Invalid:
        return index()
    audit_trail.record_export(current_user, filters)
    return Response(chunks, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="sampark-audit.csv"'})


# --- the chain, from the shell ---------------------------------------------------------------------------

audit_cli = AppGroup("audit", help="The audit log's hash chain.")


@audit_cli.command("verify")
@click.option("--start-hash", default=None,
              help="The head (hash) of the last archived month, when older rows were archived (docs/AUDIT.md).")
@click.option("--batch", default=audit_verify.BATCH, show_default=True, help="Rows read at a time.")
def verify_command(start_hash, batch):
    """Walk the chain; name the first row edited or missing. Exit code 1 when the chain is broken."""
    verdict = audit_verify.verify(start_hash=start_hash, batch=batch)
    if verdict.ok:
        click.echo(f"audit chain intact: {verdict.checked} rows; head seq {verdict.head_seq} hash {verdict.head_hash}")
        return
    click.echo(f"audit chain BROKEN at audit_log id {verdict.row_id}: {verdict.problem} "
               f"({verdict.checked} rows intact before it; last good seq {verdict.head_seq})", err=True)
    sys.exit(1)


bp.cli.add_command(audit_cli)
