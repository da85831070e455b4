"""Hostile input never makes a 500: NUL and other control characters in query arguments and form fields
(refused with a 400 naming the field), ids too big for the id columns in URLs (404: the `int` converter
stops at 2**31-1, PostgreSQL's `integer`) and oversized numbers in query arguments such as ?page= (clamped
or ignored).

PostgreSQL refuses NUL in text and integers past bigint, so run this on it too
(SAMPARK_TEST_DATABASE_URL=postgresql://…).
"""
import io
import re
from urllib.parse import quote

import pytest
from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from callcenter.auth.access import ANYONE, SIGNED, TOKEN, policy_for
from callcenter.extensions import db
from callcenter.models import Role
from callcenter.services.desks import escalations

from . import factories
from .conftest import IsolatedClient, csrf_token, sign_in, two_factor_code

HUGE = "99999999999999999999999"            # past 64 bits
PAST_BIGINT = str(2**63)                    # the first integer PostgreSQL's bigint cannot hold
PAST_INTEGER = str(2**31)                   # … and its integer, the type of every id column
PATH_NUMBERS = (HUGE, PAST_BIGINT, PAST_INTEGER, "9" * 5000)
NUMBERS = (*PATH_NUMBERS, str(2**63 - 1), str(2**31 - 1), "-1", "²")
NUL = "a\x00b"
# Not walked with every hostile number: it prints a PDF with Chromium per request (seconds each); it reads
# the same filters as dashboard.report, which is walked. NUL is still checked on it.
SLOW = {"dashboard.report_pdf"}


# ── Which query arguments does a view read? Record them on a real request. ─────────────────────────────

_read = set()


class RecordingArgs(ImmutableMultiDict):
    def __getitem__(self, key):
        _read.add(key)
        return super().__getitem__(key)

    def getlist(self, key, type=None):
        _read.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        _read.add(key)
        return super().__contains__(key)


class RecordingRequest(Request):
    parameter_storage_class = RecordingArgs


@pytest.fixture
def recording(app):
    """While active, the names of the query arguments views read are collected."""
    saved = app.request_class
    app.request_class = RecordingRequest
    yield _read
    app.request_class = saved


def sign_in_token(client, user):
    body = {"username": user.username, "password": factories.PASSWORD}
    if user.two_factor_enabled:
        body["otp"] = two_factor_code(user)
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


# ── The data the routes open, and a signed-in client for each role ───────────────────────────────────

def _world(client_for):
    district = factories.make_district()
    patient = factories.make_patient(district, name="Sunita Sahu")
    task = factories.make_task(patient)
    esc = escalations.raise_escalation(patient, "medicine", "control_room", "routine", "call")
    db.session.commit()
    village = factories.village(district)
    admin_client = client_for(Role.ADMIN)[0]
    data = {"csrf_token": csrf_token(admin_client, "/intake/import"), "dry_run": "y",
            "file": (io.BytesIO(b"Name,Age,Sex,Mobile,Date of Sample,Village,District\n"
                                b"Sunita Sahu,42,F,9826012345,01/05/2021," + village.name.encode() + b","
                                + district.name.encode() + b"\n"), "list.csv")}
    response = admin_client.post("/intake/import", data=data, content_type="multipart/form-data")
    batch = int(re.search(r"/intake/imports/(\d+)", response.headers["Location"]).group(1))
    return {"patient_id": patient.id, "task_id": task.id, "esc_id": esc.id, "village_id": village.id,
            "batch_id": batch, "user_id": factories.make_user("volunteer", district).id,
            "contact_id": 1, "facility_id": factories.facility(district, "hospital").id,
            "desk": "control_room", "token": "not-a-real-token", "sha": "0" * 64}


@pytest.fixture
def clients(app):
    made = {}

    def client_for(role):
        if role not in made:
            user = factories.make_user(role)  # state-level: reaches every district
            client = IsolatedClient(app, app.response_class, use_cookies=True)
            sign_in(client, user)
            made[role] = (client, {"Authorization": f"Bearer {sign_in_token(client, user)}"})
        return made[role]
    return client_for


def _caller(clients, endpoint, app):
    """A client allowed to use the route (admin where admin may), and the headers it needs."""
    access = policy_for(endpoint, app)
    if access.by in (ANYONE, SIGNED):  # a provider's GET callback (Exotel's applets): no role; its secret is checked
        return clients(Role.ADMIN)[0], {}
    role = Role.ADMIN if Role.ADMIN in access.roles else sorted(access.roles)[0]
    client, bearer = clients(role)
    return client, (bearer if access.by == TOKEN else {})


def _get_routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" in rule.methods and not rule.endpoint.endswith("static"):
            yield rule


def _any_choice(rule, name):
    match = re.search(r"<any\(([^)]*)\):" + name + ">", rule.rule)
    return match.group(1).split(",")[0].strip() if match else None


def _fill(rule, ids, **given):
    """The rule's address with real ids (or the first choice of an any(…)), and `given` values as they are."""
    path = rule.rule
    for name in rule.arguments:
        choice = _any_choice(rule, name)
        value = given[name] if name in given else choice if choice is not None else ids.get(name, 1)
        path = re.sub(r"<(?:[^<>]*:)?" + name + ">", str(value), path)
    return path


def test_every_get_route_survives_oversized_ids_and_hostile_query_arguments(app, clients, recording):
    ids = _world(clients)
    failures, walked, args_walked = [], 0, 0
    for rule in _get_routes(app):
        client, headers = _caller(clients, rule.endpoint, app)
        path = _fill(rule, ids)

        # Ids too big for the id columns in the path: no route matches (404), the database is never asked.
        # A NUL or an escape in a text part (a check-in token, an upload's hash, a desk): 404 too.
        for name in rule.arguments:
            converter = rule._converters[name]
            if isinstance(converter, IntegerConverter):
                hostile = PATH_NUMBERS
            elif type(converter).__name__ == "UnicodeConverter":
                hostile = (quote("a\x00b"), quote("a\x1bb"))
            else:
                continue
            for value in hostile:
                bad = _fill(rule, ids, **{name: value})
                response = client.get(bad, headers=headers)
                if response.status_code != 404:
                    failures.append(f"{bad[:80]} → {response.status_code} (wanted 404)")

        # Which query arguments does this view read? (dashboard filters, q, sub, page, district …)
        recording.clear()
        response = client.get(path, headers=headers)
        walked += 1
        if response.status_code >= 500:
            failures.append(f"{path} → {response.status_code}")
        read = set(recording) | {"page", "q", "sub"}
        for arg in sorted(read):
            args_walked += 1
            response = client.get(path, query_string={arg: NUL}, headers=headers)
            if response.status_code != 400:
                failures.append(f"{path}?{arg}=<NUL> → {response.status_code} (wanted 400)")
            if rule.endpoint in SLOW:
                continue
            for number in NUMBERS:
                response = client.get(path, query_string={arg: number}, headers=headers)
                if response.status_code >= 500:
                    failures.append(f"{path}?{arg}={number[:30]} → {response.status_code}")
    assert walked > 40 and args_walked > 100, (walked, args_walked)
    assert not failures, "\n".join(failures)


def test_nul_in_a_search_is_refused_with_a_message(client, login):
    login(factories.make_user("admin"))
    response = client.get("/patients/", query_string={"q": "Sunita\x00"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "“q” contains a control character (such as a NUL byte)" in html
    assert "Sunita" not in html.split("<main")[1]  # the search term is not echoed


def test_nul_in_the_sign_in_form_is_refused_with_a_message(client):
    response = client.post("/login", data={"username": "adm\x00in", "password": "x",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 400
    assert "“username” contains a control character" in response.get_data(as_text=True)


def test_other_control_characters_in_a_form_are_refused_but_line_breaks_and_tabs_are_text(client):
    response = client.post("/login", data={"username": "admin\x1b[2J", "password": "x",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 400
    user = factories.make_user("volunteer", password="pass\twith\r\nbreaks")
    response = client.post("/login", data={"username": user.username, "password": "pass\twith\r\nbreaks",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302  # signed in: tab, CR and LF are ordinary form text


def test_a_control_character_in_an_uploaded_file_name_is_refused(client, login):
    login(factories.make_user("admin"))
    response = client.post("/intake/import", data={
        "csrf_token": csrf_token(client, "/intake/import"), "dry_run": "y",
        "file": (io.BytesIO(b"Name\nx\n"), "list\x00.csv")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "“file” contains a control character" in response.get_data(as_text=True)


def test_the_api_refuses_nul_in_a_query_with_json(client):
    token = sign_in_token(client, factories.make_user("admin"))
    response = client.get("/api/v1/patients", query_string={"q": "x\x00"},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("“q” contains a control character")


def test_ids_too_big_for_the_id_columns_are_not_found(client, login):
    login(factories.make_user("admin"))
    for path in (f"/patients/{HUGE}", f"/patients/{PAST_BIGINT}", f"/patients/{PAST_INTEGER}",
                 f"/patients/{2**31 - 1}", f"/villages/{HUGE}", f"/intake/imports/{PAST_INTEGER}"):
        assert client.get(path).status_code == 404, path
    response = client.get(f"/api/v1/patients/{HUGE}")
    assert response.status_code == 404 and response.get_json()["code"] == 404


def test_the_largest_id_is_still_a_route():
    from werkzeug.routing import Map, Rule

    from callcenter.input_checks import ID_MAX, DatabaseIntConverter
    urls = Map([Rule("/p/<int:n>", endpoint="p")], converters={"int": DatabaseIntConverter}).bind("x")
    assert urls.match(f"/p/{ID_MAX}") == ("p", {"n": ID_MAX})
    assert urls.match("/p/0") == ("p", {"n": 0})


def test_no_id_column_is_wider_than_the_converter_allows():
    """ID_MAX is PostgreSQL's integer because every id column is one; a BigInteger id needs a bigger ID_MAX."""
    from sqlalchemy import BigInteger, Integer

    from callcenter.input_checks import ID_MAX
    assert ID_MAX == 2**31 - 1
    ids = [(table.name, column) for table in db.metadata.sorted_tables for column in table.columns
           if (column.primary_key or column.foreign_keys) and isinstance(column.type, Integer)]
    assert len(ids) > 30
    wide = [f"{name}.{column.name}" for name, column in ids if isinstance(column.type, BigInteger)]
    assert not wide, wide


def test_page_numbers_are_clamped():
    from callcenter.input_checks import MAX_PAGE, page_number
    assert page_number({"page": "3"}) == 3
    assert page_number({}) == page_number({"page": ""}) == page_number({"page": "x"}) == 1
    assert page_number({"page": "-4"}) == page_number({"page": "0"}) == page_number({"page": "²"}) == 1
    assert page_number({"page": HUGE}) == page_number({"page": "9" * 5000}) == MAX_PAGE


def test_db_int_accepts_ids_only():
    from callcenter.input_checks import ID_MAX, db_int
    assert db_int("42") == 42 and db_int(str(ID_MAX)) == ID_MAX
    for bad in ("", "x", "-1", "²", "١٢", PAST_INTEGER, PAST_BIGINT, HUGE, "9" * 5000, "4 2"):
        with pytest.raises(ValueError):
            db_int(bad)


def test_a_huge_page_number_shows_an_empty_page(client, login):
    login(factories.make_user("admin"))
    for path in ("/intake/imports/", "/dashboard/list/patients"):
        response = client.get(path, query_string={"page": HUGE})
        assert response.status_code == 200, path


def test_numbers_no_record_can_have_in_forms_are_refused_with_a_message(client, login, district):
    """Two forms that pass a number to the database: a household member's record number (typed by the
    officer) and the reassign form's hidden volunteer id."""
    patient = factories.make_patient(district)
    login(factories.make_user("admin"))
    token = csrf_token(client, f"/patients/{patient.id}")
    for number in (HUGE, PAST_BIGINT, PAST_INTEGER):
        response = client.post(f"/patients/{patient.id}/household", data={"csrf_token": token, "other_id": number})
        assert response.status_code == 200, number
        assert "No patient with this record number in your district." in response.get_data(as_text=True)
    for bad in (HUGE, PAST_INTEGER, "x", "-1"):
        response = client.post("/dashboard/actions/reassign", data={"csrf_token": token, "from_user": bad})
        assert response.status_code == 400, bad
