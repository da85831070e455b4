"""Finding a patient by name, phone (any written form), lab ID or ABHA number — within the district only."""
from datetime import timedelta

import pytest
from sqlalchemy import event, or_, text

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, Patient
from callcenter.services.core.errors import Forbidden, Invalid
from callcenter.services.records import records

from ..conftest import csrf_token
from ..factories import make_district, make_patient, make_user


@pytest.fixture
def geeta(district):
    return make_patient(district, name="Geeta Nishad", phone_number="+919826012345", lab_id="RPR-2021-0042",
                        abha_number="91123456789012", attendant_phone="+919907011111")


def found(user, query):
    return [p.id for p in records.find_patients(user, query)[0]]


@pytest.mark.parametrize("query", [
    "geeta", "NISHAD", "Geeta  Nishad", "eta nis",                       # name, any case and spacing
    "9826012345", "98260 12345", "09826012345", "+91-98260-12345", "919826012345", "+91 98260 12345",
    "99070 11111",                                                        # the attendant's phone
    "RPR-2021-0042", "rpr-2021-0042",                                     # lab ID
    "91-1234-5678-9012", "91123456789012",                               # ABHA number
])
def test_each_key_finds_the_patient(district, geeta, query):
    make_patient(district, name="Someone Else")
    assert found(make_user("doctor", district), query) == [geeta.id]


def test_another_districts_patient_is_not_found(district, geeta):
    other = make_district()
    make_patient(other, name="Geeta Nishad", phone_number="+919826012399")
    officer = make_user("nodal_officer", other)
    assert found(officer, "geeta") != [geeta.id]
    assert geeta.id not in found(officer, "9826012345")
    assert found(officer, "9826012345") == []
    assert len(found(make_user("admin", None), "geeta")) == 2  # state level sees both


def test_active_patients_come_first(district):
    ended = make_patient(district, name="Anil Sahu", status="recovered")
    active = make_patient(district, name="Anil Sahu")
    assert found(make_user("nodal_officer", district), "anil") == [active.id, ended.id]


def test_search_is_audited_with_what_was_shown(district, geeta):
    user = make_user("counsellor", district)
    records.find_patients(user, "98260 12345")
    row = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.search")).one()
    assert row.user_id == user.id and row.details["patient_ids"] == [geeta.id]
    assert "98260" not in str(row.details)  # the words searched for are not kept


def test_too_short_and_volunteers(district, geeta):
    with pytest.raises(Invalid):
        records.find_patients(make_user("doctor", district), " g ")
    with pytest.raises(Forbidden):
        records.find_patients(make_user("volunteer", district), "geeta")


def test_search_page(client, login, district, geeta):
    login(make_user("control_room", district))
    html = client.get("/patients/?q=098260-12345").get_data(as_text=True)
    assert "Geeta Nishad" in html and f'/patients/{geeta.id}"' in html
    html = client.get("/patients/?q=nobody").get_data(as_text=True)
    assert "No patient in your district matches" in html
    html = client.get("/patients/?q=x").get_data(as_text=True)
    assert "Type at least 2 characters" in html
    assert client.get("/patients/").status_code == 200


def test_the_search_box_posts_its_words(client, login, district, geeta):
    """Typed in the box, the words (a mobile number) go by POST: in no address, so in no access log."""
    login(make_user("control_room", district))
    page = client.get("/patients/").get_data(as_text=True)
    assert '<form method="post" action="/patients/"' in page
    response = client.post("/patients/", data={"q": "098260-12345", "csrf_token": csrf_token(client, "/patients/")})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Geeta Nishad" in html and f'/patients/{geeta.id}"' in html
    assert 'value="098260-12345"' in html  # the box keeps what was typed
    # A stale page's form (the token expired): said so, nothing searched.
    response = client.post("/patients/", data={"q": "098260-12345", "csrf_token": "stale"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "This form has expired" in html and "Geeta Nishad" not in html


def test_a_lab_id_in_any_case_and_spacing(district):
    """The lab ID is matched as the import matches it (upper case, no spaces), whatever was typed or stored."""
    typed = make_patient(district, name="Kiran Dhruw", lab_id="srf 0098 61")
    imported = make_patient(district, name="Hemant Kurre", lab_id="CG-00986184")
    doctor = make_user("doctor", district)
    for query in ("SRF009861", "srf 0098 61", "Srf0098 61"):
        assert found(doctor, query) == [typed.id]
    assert found(doctor, "cg-00986184") == found(doctor, "CG-0098 6184") == [imported.id]


def test_active_first_then_the_others_newest_first_up_to_the_limit(district):
    now = utcnow()
    old, older = (make_patient(district, name="Anil Sahu", status="recovered", created_at=now - timedelta(days=d))
                  for d in (20, 30))
    active = [make_patient(district, name="Anil Sahu", created_at=now - timedelta(days=d)) for d in (3, 1)]
    doctor = make_user("doctor", district)
    assert [p.id for p in records.find_patients(doctor, "anil", limit=3)[0]] == [active[1].id, active[0].id, old.id]
    assert [p.id for p in records.find_patients(doctor, "anil", limit=2)[0]] == [active[1].id, active[0].id]
    assert found(doctor, "sahu") == [active[1].id, active[0].id, old.id, older.id]


def test_matches_are_counted_up_to_a_limit(district, monkeypatch):
    monkeypatch.setattr(records, "COUNT_LIMIT", 4)
    for i in range(6):
        make_patient(district, name=f"Lata Netam {i}")
    doctor = make_user("doctor", district)
    assert records.find_patients(doctor, "netam", limit=2)[1] == 5  # more than 4
    assert records.find_patients(doctor, "netam 1", limit=2)[1] == 1
    assert records.find_patients(doctor, "netam", limit=10)[1] == 6  # all on the page: counted there
    for i in range(4):
        make_patient(district, name=f"Lata Netam {i}", status="recovered")
    # 6 active, 4 ended: the ended ones are counted by the statement that reads them
    assert records.find_patients(doctor, "netam", limit=7)[1] == 5  # more than 4
    monkeypatch.setattr(records, "COUNT_LIMIT", 20)
    assert records.find_patients(doctor, "netam", limit=7)[1] == 10


def test_the_page_says_more_than_the_limit(client, login, district, monkeypatch):
    monkeypatch.setattr(records, "COUNT_LIMIT", records.SEARCH_LIMIT)
    for i in range(records.SEARCH_LIMIT + 1):
        make_patient(district, name=f"Usha Markam {i}")
    login(make_user("control_room", district))
    html = client.get("/patients/?q=markam").get_data(as_text=True)
    assert f"Showing the first {records.SEARCH_LIMIT} of more than {records.SEARCH_LIMIT}" in html
    login(make_user("control_room", district, language="hi"))
    html = client.get("/patients/?q=markam").get_data(as_text=True)
    assert f"{records.SEARCH_LIMIT} से ज़्यादा में से पहले {records.SEARCH_LIMIT} दिखाए" in html


def _statements(fn):
    seen = []
    listener = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return seen


@pytest.mark.parametrize("query", ["geeta", "98260 12345", "RPR-2021-0042", "91-1234-5678-9012"])
def test_a_search_asks_a_fixed_number_of_questions(district, geeta, query):
    """However many patients match (in villages and facilities of their own, active or not), a search reads
    patients twice: the active ones, then either the others with their count (a page not full) or the count (a
    full page); no query per patient found. (The rest: the user, the audit row and its chain.)"""
    doctor = make_user("doctor", district)
    few = _statements(lambda: records.find_patients(doctor, query))
    for i in range(12):
        make_patient(district, name=f"Geeta {i}", setting=("home", "hospital", "ccc")[i % 3],
                     status="active" if i % 2 else "recovered")
    many = _statements(lambda: records.find_patients(doctor, query, limit=5))
    assert len(few) == len(many) <= 10, (few, many)
    assert len([s for s in many if "FROM patient" in s]) == 2, many


@pytest.mark.postgres
@pytest.mark.parametrize("query", ["geeta nishad", "eta ni", "98260 12345", "+91-99070-11111", "rpr-2021-0042",
                                   "91-1234-5678-9012"])
def test_every_kind_of_search_has_an_index_on_postgresql(is_postgres, district, geeta, query):
    """Each condition of the search's OR is answered by an index (no scan of every patient), whatever the
    table's size: with sequential scans made dear, the plan has none on patient."""
    if not is_postgres:
        pytest.skip("PostgreSQL's plans")
    conditions, _kinds = records.search_conditions(query)
    stmt = db.select(Patient.id).where(or_(*conditions))
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(row[0] for row in conn.execute(text(f"EXPLAIN {compiled}")))
    assert "Seq Scan on patient" not in plan, plan
    assert "Index" in plan, plan
