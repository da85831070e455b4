"""Sessions that end: on sign-out, a new password, deactivation or a two-factor reset (the user's
session_epoch is part of the session's id, so every session of theirs stops at once), after a time without
requests (SESSION_IDLE_MINUTES, per role, at most SESSION_IDLE_MAX_MINUTES) and after
PERMANENT_SESSION_LIFETIME whatever happens."""
import time

from flask import current_app, flash, request, session
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

SIGNED_IN_AT, SEEN_AT = "signed_in_at", "seen_at"
_SEEN_EVERY = 30  # seconds: the cookie is rewritten at most this often just to note activity
# A page's background poll (a GET asking for JSON) notes activity more rarely: every rewrite from a poll may
# cross a form's save in flight and put back the cookie from before it (losing its flashed message).
_SEEN_EVERY_POLL = 300
_NOT_ACTIVITY = frozenset({"static", "bootstrap.static"})  # files a page loads: no user is looked up for them


def init(bp):
    bp.record_once(_register)


def _register(state):
    state.app.before_request(end_expired_session)


def idle_seconds(role):
    config = current_app.config
    minutes = config.get("SESSION_IDLE_MINUTES_BY_ROLE", {}).get(role, config["SESSION_IDLE_MINUTES"])
    return 60 * min(minutes, config["SESSION_IDLE_MAX_MINUTES"])


def lifetime_seconds():
    return current_app.permanent_session_lifetime.total_seconds()


def start(user):
    """Sign `user` in to this browser: a fresh session (nothing from before sign-in is carried over but the
    language) that expires with PERMANENT_SESSION_LIFETIME."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    session.permanent = True
    login_user(user)
    now = int(time.time())
    session[SIGNED_IN_AT] = session[SEEN_AT] = now


def end_expired_session():
    """before_request: sign out a session that has been idle too long or lived too long."""
    if request.endpoint in _NOT_ACTIVITY or not current_user.is_authenticated:
        return
    now = int(time.time())
    signed_in_at, seen_at = session.get(SIGNED_IN_AT, 0), session.get(SEEN_AT, 0)
    if now - signed_in_at > lifetime_seconds() or now - seen_at > idle_seconds(current_user.role):
        logout_user()
        session.pop(SIGNED_IN_AT, None)
        session.pop(SEEN_AT, None)
        flash(_("Your session has ended. Please sign in again."), "info")
        return
    every = min(_SEEN_EVERY_POLL, idle_seconds(current_user.role) // 4) if _is_poll() else _SEEN_EVERY
    if now - seen_at >= every:
        session[SEEN_AT] = now


def _is_poll():
    return request.method == "GET" and request.accept_mimetypes.best == "application/json"
