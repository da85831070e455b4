"""Who may use each route: one declaration per view, read by the enforcement hook, the access-matrix test
and the README's role table.

Every endpoint in the app declares an `Access` through one of the decorators here (or `twilio_signed`, or the
API's `token_required`). A request to an endpoint that declares none is refused (403) by `enforce`, so a
route added without a policy fails closed, and the generated access-matrix test names it.

Scopes say how far a permitted user reaches:
- DISTRICT: records of the user's own district; a state-level user (no district) reaches every district.
  The view and its services look records up through `scope.py`, so another district's id is "not found".
- STATE: state-level users only (no district): state-wide settings and jobs.
- OWN: the signed-in user's own account or own work (their call, their sign-out).
- NONE: no records (a public page, a provider's signed webhook: the signature or token is the key).
"""
import functools
from dataclasses import dataclass

from flask import abort, current_app, request
from flask_login import current_user, login_required

from ..models import Role

DISTRICT, STATE, OWN, NONE = "district", "state", "own", "none"
# How a caller proves who they are (MONITOR: a monitoring system, by its address or a token of its own).
SESSION, TOKEN, SIGNED, ANYONE, MONITOR = "session", "token", "signed", "anyone", "monitor"

ALL_ROLES = frozenset(Role)
# Endpoints that Flask and the installed extensions add, with no view of ours to decorate.
LIBRARY_ENDPOINTS = {
    "static": "the app's own CSS and JavaScript",
    "bootstrap.static": "Bootstrap's CSS and JavaScript, served from the installed package",
    "api-docs.openapi_json": "the API's OpenAPI document (no data)",
}


@dataclass(frozen=True)
class Access:
    roles: frozenset          # who may use it; empty for ANYONE and SIGNED
    scope: str                # DISTRICT, STATE, OWN or NONE
    by: str = SESSION         # SESSION, TOKEN, SIGNED or ANYONE
    why: str = ""             # for public and signed routes: why no sign-in is needed

    def allows(self, user):
        """May this signed-in user use the route at all (before any record is looked up)?"""
        if self.by in (ANYONE, SIGNED, MONITOR):
            return True
        if user is None or user.role not in self.roles:
            return False
        return self.scope != STATE or user.district_id is None


def _declare(view, access):
    view.access = access
    return view


def roles_required(*roles, scope=DISTRICT):
    """A signed-in user with one of `roles`; with scope=STATE only state-level ones."""
    access = Access(frozenset(roles), scope)

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not access.allows(current_user):
                abort(403)
            return view(*args, **kwargs)
        return _declare(wrapper, access)
    return decorator


def signed_in(view):
    """Any signed-in user, acting on their own account (sign out, their own settings)."""
    return roles_required(*ALL_ROLES, scope=OWN)(view)


def public(why):
    """No sign-in: the sign-in page itself, a patient's personal check-in link. `why` goes in the README."""
    def decorator(view):
        return _declare(view, Access(frozenset(), NONE, ANYONE, why))
    return decorator


def signed_by_provider(why):
    """A provider's webhook: its signature (checked by the decorator that uses this) is the credential."""
    def decorator(view):
        return _declare(view, Access(frozenset(), NONE, SIGNED, why))
    return decorator


def monitoring(why):
    """A monitoring system's endpoint (Prometheus): no user; the view checks the caller's address or token."""
    def decorator(view):
        return _declare(view, Access(frozenset(), NONE, MONITOR, why))
    return decorator


def token(roles, scope=DISTRICT):
    """The API's bearer-token routes (see api/v1/security.py)."""
    return Access(frozenset(roles) if roles is not None else ALL_ROLES, scope, TOKEN)


def policy_for(endpoint, app=None):
    """The declared Access of an endpoint, or None where none is declared."""
    app = app or current_app
    if endpoint in LIBRARY_ENDPOINTS:
        return Access(frozenset(), NONE, ANYONE, LIBRARY_ENDPOINTS[endpoint])
    view = app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def undeclared(app):
    """Endpoints with no declared policy (the access-matrix test expects none)."""
    return sorted(e for e in app.view_functions if policy_for(e, app) is None)


def enforce():
    """before_request: refuse an endpoint that declares no policy (fail closed, never open)."""
    if request.endpoint is None:  # 404 and 405 are answered by routing
        return None
    if policy_for(request.endpoint) is None:
        current_app.logger.error("refused: route %s declares no access policy", request.endpoint)
        abort(403)
    return None


ROLE_HEADINGS = {Role.VOLUNTEER: "volunteer", Role.CONTROL_ROOM: "control room", Role.DOCTOR: "doctor",
                 Role.COUNSELLOR: "counsellor", Role.NODAL_OFFICER: "nodal officer", Role.ADMIN: "admin"}
REACH = {DISTRICT: "own district (state-level users: every district)", STATE: "state-level users only",
         OWN: "own account", NONE: ""}
TABLE_START, TABLE_END = "<!-- access table: flask --app app access-table -->", "<!-- end of access table -->"


def role_table(app):
    """The README's table of who may use what, written from the declared policies (Markdown)."""
    lines = [TABLE_START, "", "| route | " + " | ".join(ROLE_HEADINGS.values()) + " | reach |",
             "| --- |" + " :-: |" * len(ROLE_HEADINGS) + " --- |"]
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, sorted(r.methods))):
        if rule.endpoint in LIBRARY_ENDPOINTS:
            continue
        access = policy_for(rule.endpoint, app)
        methods = "/".join(sorted(rule.methods - {"HEAD", "OPTIONS"}))
        if access.by in (ANYONE, SIGNED, MONITOR):
            cells = [{ANYONE: "anyone", SIGNED: "provider", MONITOR: "monitor"}[access.by]] * len(ROLE_HEADINGS)
            reach = access.why
        else:
            cells = ["✓" if role in access.roles else "" for role in ROLE_HEADINGS]
            reach = REACH[access.scope] + (" · bearer token" if access.by == TOKEN else "")
        lines.append(f"| `{methods} {rule.rule}` | " + " | ".join(cells) + f" | {reach} |")
    return "\n".join([*lines, "", TABLE_END])
