"""The nodal officer's overview of today's work."""
from flask import Blueprint, render_template
from flask_login import current_user

from ..auth.access import roles_required
from ..models import Role
from ..services import overview

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.route("/")
@roles_required(Role.NODAL_OFFICER, Role.ADMIN)
def index():
    return render_template("dashboard/index.html", figures=overview.today(current_user))
