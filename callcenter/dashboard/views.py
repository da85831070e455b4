"""The nodal officer's overview of today's work, and the scheduled jobs."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from jobs import runner

from ..auth.access import roles_required
from ..models import Role
from ..services import job_runs, overview
from .forms import RunJobForm

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
OFFICERS = (Role.NODAL_OFFICER, Role.ADMIN)


@bp.route("/")
@roles_required(*OFFICERS)
def index():
    return render_template("dashboard/index.html", figures=overview.today(current_user))


@bp.route("/jobs")
@roles_required(*OFFICERS)
def jobs():
    return render_template("dashboard/jobs.html", runs=job_runs.recent(), job_names=list(runner.JOBS),
                           form=RunJobForm())


@bp.route("/jobs/run", methods=["POST"])
@roles_required(*OFFICERS)
def run_job():
    """Run a job now (e.g. after fixing a failure); recorded with who asked."""
    form = RunJobForm()
    if not form.validate_on_submit() or form.job.data not in runner.JOBS:
        abort(400)
    run = runner.run(form.job.data, trigger="manual", user=current_user)
    if run.status == "succeeded":
        flash(_("Done: %(rows)s rows.", rows=run.rows), "success")
    else:
        flash(_("The job failed: %(error)s", error=run.error), "danger")
    return redirect(url_for(".jobs"))
