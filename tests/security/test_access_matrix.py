"""The access matrix, generated from the app's url_map and the policy each route declares
(callcenter/auth/access.py): every route × method is asked by an anonymous visitor and by every role, as a
district-level user and as a state-level one, with ids of the user's own district and of another, with a
valid CSRF token and, for the routes that change things, a valid body.

What must hold in every cell:
- anonymous: a signed-in route sends to the sign-in page (pages) or answers 401 (API); a provider's webhook
  refuses an unsigned request (403);
- a role the route does not declare, or a district user on a state-level route: 403;
- a district user with another district's ids: 404 (or 403), never that district's names or numbers;
- nothing changes in the database in any of those cells (compared row by row, the audit log aside);
- no cell answers 5xx, and no answer to a district user names another district's patient or contact.
A route added without a declared policy, or with an id this world cannot fill, fails here by name.
"""
import hashlib
import uuid
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from flask import url_for

from callcenter import create_app
from callcenter.auth.access import SESSION, SIGNED, STATE, TOKEN, policy_for, undeclared
from callcenter.clock import to_local, utcnow
from callcenter.extensions import db
from callcenter.models import Escalation, User

from ..api.conftest import bearer
from ..conftest import IsolatedClient, _empty_tables, csrf_token, sign_in
from . import world as worlds

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CELLS = {"count": 0}
IGNORED_TABLES = {"audit_log", "audit_subject"}  # views and refusals are recorded there on purpose


def _routes():
    app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI="sqlite://")
    return sorted({(rule.endpoint, method, rule.rule) for rule in app.url_map.iter_rules()
                   for method in rule.methods & set(METHODS)})


ROUTES = _routes()


def test_every_route_declares_who_may_use_it(app):
    assert undeclared(app) == []


def test_an_undeclared_route_is_refused(app):
    """Fail closed: a view registered without a policy answers 403, whoever asks."""
    probe = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    probe.add_url_rule("/matrix-probe", "matrix_probe", lambda: "open")
    assert probe.test_client().get("/matrix-probe").status_code == 403


# --- what each path parameter is, in a district's world ------------------------------------------------

def _esc_for(endpoint, d):
    return d.field_visit_id if endpoint.startswith("desks.field_visit") else d.esc_id


PARAMS = {
    "user_id": lambda e, d: d.volunteer_id,
    "esc_id": _esc_for,
    "patient_id": lambda e, d: d.patient_id,
    "task_id": lambda e, d: d.task_id,
    "message_id": lambda e, d: d.outbound_id if e.startswith("checkins.outbox") else d.inbound_id,
    "facility_id": lambda e, d: d.facility_id,
    "review_id": lambda e, d: d.review_id,
    "batch_id": lambda e, d: d.batch_id,
    "village_id": lambda e, d: d.village_id,
    "contact_id": lambda e, d: d.contact_id,
    "broadcast_id": lambda e, d: d.broadcast_id,
    "sha": lambda e, d: d.batch_hash,
    "token": lambda e, d: d.link_token,
    "step": lambda e, d: "feeling",
    "desk": lambda e, d: "doctor",
    "kind": lambda e, d: "patients",
    "fmt": lambda e, d: "csv",
    "filename": lambda e, d: "css/bootstrap.min.css" if e == "bootstrap.static" else "sampark.css",
    "key": lambda e, d: "not-the-callback-secret",  # Exotel's callbacks: the secret in the URL is the credential
    "bridge_id": lambda e, d: d.patient_id,  # no bridge in the world: an id that is none of them
}
# Parameters that name a record of a district (the others are words: a desk, a list's kind, a file name).
RECORD_PARAMS = {"bridge_id", "user_id", "esc_id", "patient_id", "task_id", "message_id", "facility_id", "review_id",
                 "batch_id", "village_id", "contact_id", "sha", "broadcast_id"}


def _soon(hours=2):
    return to_local(utcnow() + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


# --- a valid body for each route that changes something (ids from the district the cell asks about) ------

def _version(model, ident):
    return db.session.get(model, ident).version


FORMS = {
    "queue.call": lambda d: {"outcome": "connected", "submission_key": uuid.uuid4().hex,
                             "members-0-patient_id": d.patient_id, "members-0-spo2": "97"},
    "desks.act": lambda d: {"action": "note", "text": "matrix note", "version": _version(Escalation, d.esc_id)},
    "desks.send_help": lambda d: {"kind": "other", "delivered_by": "Ramesh", "delivery_at": _soon(),
                                  "version": _version(Escalation, d.esc_id)},
    "desks.reassign": lambda d: {"owner_id": d.control_room_id, "text": "hand over",
                                 "version": _version(Escalation, d.esc_id)},
    "desks.field_visit": lambda d: {"result": "met_well", "note": "seen",
                                    "version": _version(Escalation, d.field_visit_id)},
    "desks.update_beds": lambda d: {"free_general": "3", "free_oxygen": "1", "free_icu": "0"},
    "desks.decide_review": lambda d: {"decision": "continue", "note": "not yet"},
    "desks.consult": lambda d: {"submission_key": uuid.uuid4().hex, "outcome": "connected", "notes": "advice given"},
    "desks.desk_emergency": lambda d: {"kind": "ambulance", "note": "breathless"},
    "desks.desk_transfer": lambda d: {"to_setting": "ccc", "to_facility_id": d.ccc_id, "reason": "moved"},
    "records.end": lambda d: {"status": "recovered", "reason": "well"},
    "records.reveal_phone": lambda d: {"field": "phone", "page": "record"},
    "records.group": lambda d: {"other_id": d.patient2_id},
    "records.transfer": lambda d: {"to_setting": "ccc", "to_facility_id": d.ccc_id, "reason": "moved"},
    "records.add_contact": lambda d: {"name": "Naya Sarpanch", "role": "sarpanch", "phone": "9826055555"},
    "records.edit_contact": lambda d: {"name": "Badla Naam", "role": "sarpanch", "phone": "9826055556"},
    "checkins.outbox_resolve": lambda d: {"action": "cancel"},
    "queue.bridge": lambda d: {"patient_id": d.patient_id},
    "queue.end_simulated_bridge": lambda d: {"answered": "1"},
    "checkins.simulate": lambda d: {"from_phone": d.patient_phone, "body": "STOP"},
    "admin.edit_user": lambda d: {"full_name": "Renamed", "role": "volunteer", "district": d.district_name,
                                  "active": "y", "phone": ""},
    "admin.users": lambda d: {"username": f"new{uuid.uuid4().hex[:8]}", "full_name": "New", "role": "admin",
                              "district": d.district_name, "password": "a long matrix passphrase 42"},
    "admin.districts": lambda d: {"district_id": d.district_id, "duty_phone": "9826011111"},
    "admin.settings": lambda d: {"spo2_emergency_below": "80"},
    "broadcasts.new": lambda d: {"title": "Matrix", "template": "broadcast_helpline", "who": "patients",
                                 "v_district": "X", "v_what": "oxygen", "v_number": "0771-4000000", "v_hours": "24h",
                                 "village_id": d.village_id, "district_id": d.district_id, "action": "save",
                                 "recovered_days": "14"},
    "dashboard.reassign": lambda d: {"from_user": d.volunteer_id, "to_user": ""},
    "dashboard.pause_queue": lambda d: {"setting": "home", "district": d.district_id, "reason": "matrix"},
    "dashboard.resume_queue": lambda d: {"pause_id": d.pause_id},
    "dashboard.run_job": lambda d: {"job": "daily_figures"},
    "intake.register": lambda d: {"name": "Matrix Naya", "age": "40", "sex": "female", "phone": "9826066666",
                                  "language": "hi", "setting": "home",
                                  "positive_date": (utcnow().date() - timedelta(days=1)).isoformat()},
}
# Bodies that probe a view's error path with the other district's ids: a form shown again with its errors
# must not show whom the forged ids name.
HOSTILE = {
    "queue.call": lambda d: {"outcome": "", "submission_key": uuid.uuid4().hex, "members-0-patient_id": d.patient_id,
                             "members-1-patient_id": d.patient2_id},
}
JSON = {
    "api_tasks.log_attempt": lambda d: {"outcome": "connected", "submission_key": uuid.uuid4().hex},
    "api_escalations.act": lambda d: {"action": "note", "text": "matrix note"},
    "api_escalations.send_help": lambda d: {
        "kind": "other", "delivered_by": "Ramesh",
        "delivery_at": (utcnow() + timedelta(hours=2)).replace(microsecond=0).isoformat() + "Z"},
    "api_escalations.reassign": lambda d: {"owner_id": d.control_room_id, "text": "hand over"},
    "api_patients.create": lambda d: {
        "name": "Matrix Api", "age": 40, "sex": "female", "phone": "9826077777", "language": "hi",
        "setting": "home", "positive_date": (utcnow().date() - timedelta(days=1)).isoformat(),
        "district_id": d.district_id},
}


# --- the database, row by row ------------------------------------------------------------------------------

def snapshot():
    digest = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in IGNORED_TABLES:
                continue
            rows = conn.execute(table.select().order_by(*table.primary_key.columns)).all()
            digest[table.name] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
    return digest


def changed(before, after):
    return sorted(name for name in before if before[name] != after[name])


# --- asking ------------------------------------------------------------------------------------------------

class Asker:
    """One identity's way of asking: a signed-in browser session, a bearer token, or nobody."""

    def __init__(self, app, identity, by):
        app.test_client_class = IsolatedClient
        self.client, self.user, self.headers, self.token = app.test_client(), identity, {}, None
        if identity is not None and by == SESSION:
            sign_in(self.client, SimpleNamespace(id=identity.user_id, username=identity.username))
        elif identity is not None and by == TOKEN:
            self.headers = bearer(db.session.get(User, identity.user_id))

    def csrf(self):
        if self.token is None:
            self.token = csrf_token(self.client, "/login") if self.user is None else _any_form_token(self.client)
        return self.token

    def ask(self, method, path, endpoint, d, forms=None):
        CELLS["count"] += 1
        forms = forms or FORMS
        if endpoint.startswith("api"):
            body = JSON[endpoint](d) if endpoint in JSON else ({} if method != "GET" else None)
            response = self.client.open(path, method=method, headers=self.headers, json=body)
        elif method == "GET":
            response = self.client.open(path, method=method)
        else:
            form = forms[endpoint](d) if endpoint in forms else {}
            response = self.client.open(path, method=method,
                                        data={"csrf_token": self.csrf(), **{k: str(v) for k, v in form.items()}})
        response.get_data()
        response.close()  # (static files are streamed)
        return response

    def follow(self, response):
        """The page a redirect leads to (same site only), to see what it shows."""
        target = urlsplit(response.headers.get("Location", ""))
        if target.netloc not in ("", "localhost"):
            return None
        page = self.client.get(target.path + (f"?{target.query}" if target.query else ""))
        page.get_data()
        page.close()
        return page


def _any_form_token(client):
    """A CSRF token from the first page of the user's that has a form (every signed-in page has sign-out)."""
    home = client.get("/")
    location = home.headers.get("Location", "/login")
    return csrf_token(client, urlsplit(location).path)


def _path(app, rule_endpoint, rule, d):
    values = {}
    for name in rule.arguments:
        if name not in PARAMS:
            pytest.fail(f"{rule_endpoint}: no id source for the path parameter <{name}>; add it to PARAMS")
        values[name] = PARAMS[name](rule_endpoint, d)
    with app.test_request_context():
        return url_for(rule_endpoint, **values)


def _leaks(response, secrets):
    body = response.get_data().decode("utf-8", "replace")  # (a PDF is bytes)
    return [s for s in secrets if s in body]


@pytest.fixture
def _fresh_database(app):
    """(conftest's, overridden) The matrix's world lasts the module: built once, emptied at its end."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture(scope="module")
def matrix(app):
    with app.app_context():
        world = worlds.build()
    askers = {}
    yield world, askers
    with app.app_context():
        db.session.remove()
        _empty_tables()


def _askers(app, world, askers, by):
    """The signed-in askers for this kind of route, kept across the module (signing in is the slow part)."""
    if by not in askers:
        askers[by] = {key: Asker(app, identity, by) for key, identity in world.users.items()}
    return askers[by]


@pytest.mark.parametrize("endpoint,method,rule_text", ROUTES, ids=[f"{e}:{m}" for e, m, _r in ROUTES])
def test_access_matrix(app, matrix, endpoint, method, rule_text):
    w, pool = matrix
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and r.rule == rule_text)
    policy = policy_for(endpoint, app)
    assert policy is not None, f"{endpoint} declares no access policy"
    names_records = bool(set(rule.arguments) & RECORD_PARAMS)
    own_path = _path(app, endpoint, rule, w.own)
    other_path = _path(app, endpoint, rule, w.other)
    failures = []

    def check(cell, ok, response):
        if response.status_code >= 500:
            failures.append(f"{cell}: {response.status_code} (server error)")
        elif not ok:
            failures.append(f"{cell}: {response.status_code} {response.headers.get('Location', '')}")

    # Everyone signs in (and fetches a form's CSRF token) first: signing in writes to the user's row.
    anonymous = Asker(app, None, policy.by)
    askers = _askers(app, w, pool, policy.by) if policy.by in (SESSION, TOKEN) else {}
    for asker in [anonymous, *askers.values()]:
        if method != "GET" and not endpoint.startswith("api"):
            asker.csrf()

    before = snapshot()
    response = anonymous.ask(method, own_path, endpoint, w.own)
    if policy.by == SESSION:
        check("anonymous", response.status_code == 302 and "/login" in response.headers["Location"], response)
    elif policy.by == TOKEN:
        check("anonymous", response.status_code == 401, response)
    elif policy.by == SIGNED:
        check("anonymous", response.status_code == 403, response)
    else:
        check("anonymous", True, response)

    for (role, level), asker in askers.items():
        cell = f"{role}/{level}"
        if not policy.allows(asker.user):
            response = asker.ask(method, own_path, endpoint, w.own)
            check(f"{cell} (not allowed)", response.status_code == 403, response)
        elif level == "district" and names_records:
            response = asker.ask(method, other_path, endpoint, w.other)
            # Not found (or forbidden); a page may instead send the user back to their own work, saying so.
            check(f"{cell} with the other district's ids", response.status_code in (302, 403, 404), response)
            shown = [response] + ([asker.follow(response)] if response.status_code == 302 else [])
            leaked = [m for page in shown if page is not None for m in _leaks(page, w.other.secret_markers)]
            if leaked:
                failures.append(f"{cell} with the other district's ids: shows {leaked}")
    after = snapshot()
    if changed(before, after):
        failures.append(f"refused cells changed tables: {changed(before, after)}")

    # Allowed users on their own records (and state-level users on the other district's): never a server
    # error, and a district user never sees the other district's people.
    for (role, level), asker in askers.items():
        if not policy.allows(asker.user):
            continue
        if level == "district" and method != "GET" and (endpoint in FORMS or endpoint in JSON):
            # Their own record in the path, the other district's ids in the body, valid and hostile (first:
            # while the record is still as the world made it, e.g. the call still held).
            for forms in ([HOSTILE] if endpoint in HOSTILE else []) + [FORMS]:
                response = asker.ask(method, own_path, endpoint, w.other, forms)
                check(f"{role}/{level} with the other district's ids in the body", response.status_code < 500,
                      response)
                leaked = _leaks(response, w.other.secret_markers)
                if leaked:
                    failures.append(f"{role}/{level} with the other district's ids in the body: shows {leaked}")
        targets = [(own_path, w.own)] + ([(other_path, w.other)] if level == "state" and names_records else [])
        for path, d in targets:
            response = asker.ask(method, path, endpoint, d)
            check(f"{role}/{level} on {'own' if d is w.own else 'other'} records", response.status_code < 500,
                  response)
            if level == "district":
                leaked = _leaks(response, w.other.secret_markers)
                if leaked:
                    failures.append(f"{role}/{level}: shows the other district's {leaked}")
            if policy.scope == STATE and level == "district":
                failures.append(f"{role}/{level}: allowed on a state-level route")
    if endpoint in ("auth.logout", "api_auth.revoke"):
        pool.clear()  # everyone signed out: sign in afresh for the next route
    assert not failures, f"{method} {rule_text} ({endpoint}, {policy.by}, {policy.scope}):\n" + "\n".join(failures)

