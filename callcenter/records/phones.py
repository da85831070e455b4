"""The "show number" control (templates/_phone.html): a POST that answers a masked number in full, recorded."""
from urllib.parse import urlsplit

from flask import abort, jsonify, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, Optional, Regexp

from ..auth.access import roles_required
from ..auth.views import safe_next
from ..rules.identity import format_phone
from ..services.records import phones, records
from .views import RECORD_ROLES, bp


class RevealForm(FlaskForm):
    field = HiddenField(validators=[AnyOf(phones.FIELDS)])
    page = HiddenField(validators=[Optional(), Regexp(phones.PAGE.pattern)])


@bp.app_context_processor
def _may_reveal():
    return {"may_reveal_phone": lambda: records.may_open_record(current_user)}


@bp.route("/patients/<int:patient_id>/phone", methods=["POST"])
@roles_required(*RECORD_ROLES)
def reveal_phone(patient_id):
    """The number in full: JSON for the page's script (static/page-actions.js), else a page of its own."""
    form = RevealForm()
    if not form.validate_on_submit():
        abort(400)
    patient, number = phones.reveal(current_user, patient_id, form.field.data, form.page.data or "")
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"phone": format_phone(number), "tel": number})
    came_from = urlsplit(request.referrer or "")
    back = safe_next(came_from.path + (f"?{came_from.query}" if came_from.query else "")) \
        if came_from.netloc == request.host else None
    return render_template("records/phone.html", patient=patient, number=number, back=back)
