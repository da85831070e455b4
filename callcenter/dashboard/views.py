"""The nodal officer's dashboard: today's figures and the lists behind them, charts, people, geography,
exports, the daily report, the scheduled jobs, and the officer's actions (reassign calls, pause queues)."""
from datetime import datetime, timedelta, timezone

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from jobs import runner

from .. import labels
from ..auth.access import STATE, roles_required
from ..clock import local_date, utcnow
from ..input_checks import optional_db_int, page_number
from ..models import Role
from ..services.core import job_notes, job_runs
from ..services.core.errors import ServiceError
from ..services.dashboard import act_now as dashboard_act_now
from ..services.dashboard import actions as dashboard_actions
from ..services.dashboard import export as dashboard_export
from ..services.dashboard import geography as dashboard_geography
from ..services.dashboard import overview as dashboard
from ..services.dashboard import people as dashboard_people
from ..services.dashboard import snapshots as dashboard_snapshots
from ..services.dashboard import summary as dashboard_summary
from ..services.records import records
from ..templating import local_datetime
from . import charts, titles
from .forms import FilterForm, PauseForm, ReassignForm, ResumeForm, RunJobForm

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
OFFICERS = (Role.NODAL_OFFICER, Role.ADMIN)
PATIENT_ENDPOINT = "records.record"
VILLAGE_ENDPOINT = "records.village"


def _filters(choices=None):
    """The filters from the query string; invalid ones fall back to today / everything, with the errors shown.
    `choices`: dashboard.filter_choices(current_user), when the caller has them already."""
    form = FilterForm(request.args)
    form.set_choices(*(choices or dashboard.filter_choices(current_user)), state_level=current_user.district_id is None)
    today = local_date()
    if request.args and not form.validate():
        return form, dashboard.Filters.today()
    end = form.date_to.data or today
    return form, dashboard.Filters(
        date_from=form.date_from.data or end, date_to=end, district_id=form.district.data,
        block_id=form.block.data, setting=form.setting.data or None, facility_id=form.facility.data)


def _link_to(endpoint, **values):
    """A URL for another blueprint's page if that page exists in this build, else None (plain text)."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


@bp.app_context_processor
def _helpers():
    return {"patient_url": lambda pid: _link_to(PATIENT_ENDPOINT, patient_id=pid),
            "village_url": lambda vid: _link_to(VILLAGE_ENDPOINT, village_id=vid)}


def _charts(f, trend, geo, facilities):
    days = [format_date(r["day"], "d MMM") for r in trend]
    return {
        "calls": charts.line_chart(_("Calls and connected calls, last 14 days"), days, [
            (_("Calls"), [r["calls"] for r in trend]), (_("Connected"), [r["connected"] for r in trend])]),
        "reach": charts.line_chart(_("Reach rate, last 14 days"), days, [
            (_("Reach rate"), [r["reach_rate"] for r in trend])], unit="%"),
        "escalations": charts.line_chart(_("Escalations raised, last 14 days"), days, [
            (_("Escalations"), [r["escalations"] for r in trend])]),
        "active": charts.line_chart(_("Active patients by setting, last 14 days"), days, [
            (str(label), [r["active"][s] for r in trend]) for s, label in labels.SETTINGS.items()]),
        "blocks": charts.bar_chart(_("Active patients by block"),
                                   [(b["block"], b["active"]) for b in geo["blocks"][:15]]),
        "facilities": charts.bar_chart(_("Active patients by facility"),
                                       [(x["facility"], x["active"]) for x in facilities[:15]]),
    }


@bp.route("/")
@roles_required(*OFFICERS)
def index():
    return render_template("dashboard/index.html", **index_context())


def index_context():
    """Everything the dashboard page shows (the benchmark times this and the render apart)."""
    choices = dashboard.filter_choices(current_user)  # the filter form's, the pause form's, the fold's districts
    form, f = _filters(choices)
    districts = [(d.id, d.name) for d in choices[0]]  # read now: the snapshot's commit below expires the rows
    now = utcnow()
    # The view from the minute's snapshot when there is a fresh one (the default view, or a filtered view a pass
    # has counted since someone opened it); else counted live. The same figures either way
    # (services/dashboard/snapshots.py); a snapshot's figure may lag the live list behind its link by a minute.
    snapshot = dashboard_snapshots.for_view(current_user, f, now)
    parts = snapshot
    if parts is None:
        parts = dashboard_snapshots.compute(current_user, f, now)
        dashboard_snapshots.remember(current_user, f, parts, now)  # watched: the job keeps it fresh
    figures, trend, geo, facilities = parts["figures"], parts["trend"], parts["geo"], parts["facilities"]
    vols = dashboard.volunteers(current_user)
    reassign = ReassignForm()
    reassign.to_user.choices = labels.choices([("", _("Back to the queue"))] + [(v.id, v.display_name) for v in vols])
    pause = PauseForm()
    if current_user.district_id is None:
        pause.district.choices = labels.choices([("", _("All districts"))] + districts)
    act = dashboard_act_now.strip(current_user, f, now)
    tables = _place_tables(f, geo, parts["people"], dict(districts))
    # The page names patients (the strip, the late escalations): who saw them is recorded (DPDP access log).
    records.log_list_view(current_user, dashboard_act_now.patient_ids(act), "dashboard:act_now")
    records.log_list_view(current_user, [b["patient_id"] for b in parts["breaches"]["open"]], "dashboard:breaches")
    return dict(
        form=form, f=f, today=local_date(now), figures=figures,
        trend=trend, geo=geo, facilities=facilities,
        people=parts["people"], desks=parts["desks"], charts=_charts(f, trend, geo, facilities),
        snapshot_at=snapshot["computed_at"] if snapshot else None,
        holders=dashboard.holders(current_user), reassign=reassign, pause=pause,
        pauses=dashboard_actions.open_pauses(current_user), resume=ResumeForm(),
        breaches=parts["breaches"],
        # What to act on now: counted live, not from the snapshot (the strip at the top of the page).
        act=act, **tables)


VILLAGE_PAGE_SIZE = 25


def _place_tables(f, geo, people, names):
    """The people and place tables as the page shows them. The whole state's view folds volunteers and blocks
    into a row per district (a link opens the district's own); the villages come a page at a time (`vpage`).
    At state scale the full tables made the page 568 KB (560 volunteers, 140 blocks, 300 villages)."""
    fold = current_user.district_id is None and not f.district_id and not f.block_id
    pages = max(1, -(-len(geo["villages"]) // VILLAGE_PAGE_SIZE))
    vpage = min(page_number(name="vpage"), pages)
    return {"fold": fold,
            "district_blocks": dashboard_geography.by_district(geo["blocks"], names) if fold else None,
            "district_people": dashboard_people.by_district(people, names) if fold else None,
            "villages": geo["villages"][(vpage - 1) * VILLAGE_PAGE_SIZE:vpage * VILLAGE_PAGE_SIZE],
            "vpage": vpage, "vpages": pages}


@bp.route("/figures.json")
@roles_required(*OFFICERS)
def figures_json():
    """The headline figures for the page's own refresh (static/dashboard-live.js)."""
    _, f = _filters()
    now = utcnow()
    snapshot = dashboard_snapshots.for_view(current_user, f, now)  # as on the page
    fig = snapshot["figures"] if snapshot else dashboard.overview(current_user, f, now)
    flat = {f"tasks.{k}": v for k, v in fig["tasks"].items()}
    flat.update({f"calls.{k}": v for k, v in fig["calls"].items()})
    flat.update({f"active.{k}": v for k, v in fig["active"].items()})
    flat.update({f"needs.{k}": v for k, v in fig["needs"].items()})
    flat.update({f"open.{k}.{b}": n for k, counts in fig["open_escalations"].items() for b, n in counts.items()})
    for key in ("checkins", "open_escalations_total", "escalations_raised", "breaches", "active_total",
                "new_patients", "discharges"):
        flat[key] = fig[key]
    return jsonify({"figures": flat, "at": fig["at"].isoformat() + "Z",
                    "at_text": local_datetime(fig["at"], "HH:mm:ss"), "snapshot": snapshot is not None})


@bp.route("/act-now.json")
@roles_required(*OFFICERS)
def act_now_json():
    """The "act now" strip's lists for the page's refresh (static/dashboard-live.js), rendered so every word is
    translated here; JSON, so the session treats it as a background poll."""
    _, f = _filters()
    act = dashboard_act_now.strip(current_user, f, utcnow())
    records.log_list_view(current_user, dashboard_act_now.patient_ids(act), "dashboard:act_now")
    records.polled()  # a repeat of the same patients writes no new row (shown.py)
    return jsonify({"html": render_template("dashboard/_act_now_live.html", act=act)})


def _list_args():
    return {"which": request.args.get("which") or None, "sub": request.args.get("sub") or None,
            "age": request.args.get("age") or None}


AS_OF_LIMIT = timedelta(hours=24)


def _as_of():
    """The time an age bucket's figure was counted at (`at` in its link), so its list holds the same rows
    (an escalation counted "1–4 h" may be over 4 h old by the time the list opens). Only for an age bucket,
    only a time in the last day; anything else: None (counted now)."""
    raw = request.args.get("at")
    if not raw or request.args.get("age") not in dashboard.AGE_BUCKETS:
        return None
    try:
        at = datetime.fromisoformat(raw.removesuffix("Z"))
    except ValueError:
        return None
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc).replace(tzinfo=None)
    now = utcnow()
    # A minute ahead is let through: the snapshot may come from a scheduler on a host whose clock runs ahead.
    return at if now - AS_OF_LIMIT <= at <= now + timedelta(minutes=1) else None


@bp.route("/list/<any(tasks, patients, escalations, checkins, calls):kind>")
@roles_required(*OFFICERS)
def list_view(kind):
    form, f = _filters()
    page = page_number()
    extra, as_of = _list_args(), _as_of()
    columns, rows, total = dashboard.list_page(kind, current_user, f, page=page, now=as_of, **extra)
    at = dashboard_export.patient_column(columns)
    records.log_list_view(current_user, [row[at] for row in rows], f"dashboard:{kind}")
    if as_of is not None:  # the pages and the exports keep the bucket's time
        extra = dict(extra, at=as_of.isoformat())
    return render_template("dashboard/list.html", kind=kind, form=form, f=f, columns=columns, rows=rows,
                           total=total, page=page, page_size=dashboard.LIST_PAGE_SIZE, extra=extra,
                           title=titles.list_title(kind, as_of=as_of, **_list_args()))


@bp.route("/export/<any(tasks, patients, escalations, checkins, calls):kind>.<any(csv, xlsx):fmt>")
@roles_required(*OFFICERS)
def export(kind, fmt):
    _, f = _filters()
    extra, as_of = _list_args(), _as_of()
    details = dict(extra, at=as_of.isoformat() if as_of else None)
    dashboard_export.record_export(current_user, kind, fmt, f, **{k: v for k, v in details.items() if v})
    extra["now"] = as_of
    name = f"sampark-{kind}-{f.date_from.isoformat()}-{f.date_to.isoformat()}.{fmt}"
    if fmt == "csv":  # both formats stream as the rows are read (memory stays flat)
        chunks, mimetype = dashboard_export.csv_chunks(kind, current_user, f, **extra), "text/csv; charset=utf-8"
    else:
        chunks, mimetype = dashboard_export.xlsx_chunks(kind, current_user, f, **extra), dashboard_export.XLSX_MIME
    return Response(chunks, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _report_context(f):
    now = utcnow()
    return {"f": f, "figures": dashboard.overview(current_user, f.with_(date_from=f.date_to), now),
            "summary": dashboard_summary.daily_summary(current_user, f, now),
            "desks": dashboard_people.desks_table(current_user, f.with_(date_from=f.date_to)), "now": now}


@bp.route("/report")
@roles_required(*OFFICERS)
def report():
    """The daily summary for the district collector: a printable page (print CSS) …"""
    _, f = _filters()
    return render_template("dashboard/report.html", **_report_context(f))


@bp.route("/report.pdf")
@roles_required(*OFFICERS)
def report_pdf():
    """… and the same page as a PDF."""
    _form, f = _filters()  # not `_`: that is gettext, used below
    html = render_template("dashboard/report.html", pdf=True, **_report_context(f))
    dashboard_export.record_export(current_user, "daily_report", "pdf", f)
    try:
        pdf = dashboard_export.html_to_pdf(html)
    except dashboard_export.PdfUnavailable:
        flash(_("The PDF could not be made on this server; use Print on the report page."), "warning")
        return redirect(url_for(".report", **f.args()))
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="sampark-report-{f.date_to.isoformat()}.pdf"'})


# --- the officer's actions ---------------------------------------------------------------------------

def _back():
    return redirect(url_for(".index") + "#act")


@bp.route("/actions/reassign", methods=["POST"])
@roles_required(*OFFICERS)
def reassign():
    form = ReassignForm()
    form.to_user.choices = labels.choices([("", "")] + [(v.id, v.display_name)
                                                         for v in dashboard.volunteers(current_user)])
    from_user = optional_db_int(form.from_user.data)  # a hidden field: anything but an id is a bad request
    if not form.validate_on_submit() or from_user is None:
        abort(400)
    try:
        moved = dashboard_actions.reassign_tasks(current_user, from_user, form.to_user.data)
    except ServiceError as exc:
        flash(str(exc.message), "danger")
        return _back()
    flash(_("%(n)s calls moved.", n=moved), "success")
    return _back()


@bp.route("/actions/pause", methods=["POST"])
@roles_required(*OFFICERS)
def pause_queue():
    form = PauseForm()
    form.district.choices = labels.choices([("", "")] + [(d.id, d.name)
                                                         for d in dashboard.filter_choices(current_user)[0]])
    if not form.validate_on_submit():
        abort(400)
    try:
        dashboard_actions.pause_queue(current_user, form.setting.data, form.district.data, form.reason.data)
    except ServiceError as exc:
        flash(str(exc.message), "danger")
        return _back()
    flash(_("Queue paused: %(queue)s.", queue=labels.SETTINGS[form.setting.data]), "success")
    return _back()


@bp.route("/actions/resume", methods=["POST"])
@roles_required(*OFFICERS)
def resume_queue():
    form = ResumeForm()
    if not form.validate_on_submit() or not form.pause_id.data.isdigit():
        abort(400)
    try:
        pause = dashboard_actions.resume_queue(current_user, int(form.pause_id.data))
    except ServiceError as exc:
        flash(str(exc.message), "danger")
        return _back()
    flash(_("Queue running again: %(queue)s.", queue=labels.SETTINGS[pause.setting]), "success")
    return _back()


# --- scheduled jobs ------------------------------------------------------------------------------------

@bp.route("/jobs")
@roles_required(Role.ADMIN, scope=STATE)  # the jobs build and send for every district
def jobs():
    runs, now = job_runs.recent(), utcnow()
    stopped = {run.id for run in runs if run.status == "running" and job_runs.is_dead(run, now)}
    return render_template("dashboard/jobs.html", runs=runs, stopped=stopped, job_names=list(runner.JOBS),
                           nothing_done=job_notes.nothing_done,
                           scheduler_seen=job_runs.scheduler_heartbeat(),
                           scheduler_quiet=job_runs.scheduler_quiet(now), form=RunJobForm())


@bp.route("/jobs/run", methods=["POST"])
@roles_required(Role.ADMIN, scope=STATE)
def run_job():
    """Run a job now (e.g. after fixing a failure); recorded with who asked."""
    form = RunJobForm()
    if not form.validate_on_submit() or form.job.data not in runner.JOBS:
        abort(400)
    run = runner.run(form.job.data, trigger="manual", user=current_user)
    why = job_notes.nothing_done(run)
    if why:
        flash(_("Done, nothing to do: %(why)s", why=why), "info")
    elif run.status == "succeeded":
        flash(_("Done: %(rows)s rows.", rows=run.rows), "success")
    else:
        flash(_("The job failed: %(error)s", error=run.error), "danger")
    return redirect(url_for(".jobs"))
