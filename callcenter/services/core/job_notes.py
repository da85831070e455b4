"""Why a job that ran without error did nothing, in words for the Jobs page ("Done: 0 rows" alone tells the
administrator nothing: outside the check-in window? nothing due? another pass running?).

Read from what the job returned (its JobRun's details) and the settings it runs by; None when the job did
something, or when it has no reason to give.
"""
from flask import current_app
from flask_babel import gettext as _

from ...models import RunStatus


def _window():
    cfg = current_app.config
    return f'{cfg["CHECKIN_WINDOW_START"]}–{cfg["CHECKIN_WINDOW_END"]}'


def _checkins_enqueue(details):
    if details.get("window_closed"):
        return _("Today's check-in window (%(window)s) is over: check-in messages are queued only until it ends. "
                 "They go out again tomorrow from %(start)s.", window=_window(),
                 start=current_app.config["CHECKIN_WINDOW_START"])
    return _("Every patient due a check-in today already has one queued (or none is due one).")


def _checkins_window_end(details):
    return _("No patient asked to check in today has a waiting call left to move up (all checked in, "
             "or their calls are made).")


def _daily_call_list(details):
    return _("No call was added: today's call list was already built (or no active patient is due a call).")


def _release_reviews(details):
    return _("No patient newly meets the release rule today (those who did are already flagged).")


def _daily_figures(details):
    return _("No closed day was left to count.")


def _retention(details):
    return _("Nothing is older than the retention limit (%(days)s days).", days=details.get("days", "?"))


def _outbox_sender(details):
    if details.get("skipped"):
        return _("Another sender was already sending; this run stood down.")
    return _("No message was waiting to be sent.")


def _escalation_deadlines(details):
    if details.get("no_duty_phone"):
        return _("No open escalation newly passed its deadline; some districts have no duty phone to alert.")
    return _("No open escalation newly passed its deadline and no alert was due again.")


def _import_queue(details):
    return _("No line list was waiting to be imported.")


def _dashboard_snapshots(details):
    if details.get("skipped"):
        return _("Another pass was already counting the figures; this run stood down.")
    return _("Nobody has opened the dashboard in the last few minutes, so no figures were counted ahead.")


NOTES = {"checkins_enqueue": _checkins_enqueue, "checkins_window_end": _checkins_window_end,
         "daily_call_list": _daily_call_list, "release_reviews": _release_reviews, "daily_figures": _daily_figures,
         "retention": _retention, "outbox_sender": _outbox_sender, "escalation_deadlines": _escalation_deadlines,
         "import_queue": _import_queue, "dashboard_snapshots": _dashboard_snapshots}


def nothing_done(run):
    """Why a succeeded run did nothing (rows 0), or None."""
    if run.status != RunStatus.SUCCEEDED or run.rows or run.job not in NOTES:
        return None
    return NOTES[run.job](run.details or {})
