"""Every page or API answer that shows a patient's name or phone number leaves an audit row naming that patient,
written during that request (DPDP: access logs). Generated from the app's url_map, in the access matrix's
two-district world: every GET route is asked by every role allowed to use it (district and state level), and
when the answer contains a world patient's name or full number (any written form; a masked number does not
count) an audit row of that request must name the patient (entity_id, or details.patient_ids).
"""
import re

import pytest
from sqlalchemy import func

from callcenter.auth.access import SESSION, TOKEN, policy_for
from callcenter.extensions import db
from callcenter.models import AuditLog, Patient

from ..conftest import _empty_tables
from . import world as worlds
from .test_access_matrix import ROUTES, Asker, _path

GET_ROUTES = [(e, r) for e, m, r in ROUTES if m == "GET"]


def phone_forms(e164):
    """How a +91 number may be written on a page: +919826012345, +91 98260 12345, 98260 12345, 9826012345."""
    digits = e164[3:]
    return {e164, f"+91 {digits[:5]} {digits[5:]}", f"{digits[:5]} {digits[5:]}", digits}


def shown_patients(body, people):
    """What the answer shows of the world's patients: one set of ids per name or number it contains (a
    number that several patients share, a household's, is theirs together: naming one of them will do)."""
    shown = []
    for pid, name, _phones in people:
        if name in body:
            shown.append({pid})
    for number in {p for _pid, _name, phones in people for p in phones}:
        if any(re.search(rf"(?<!\d){re.escape(form)}(?!\d)", body) for form in phone_forms(number)):
            shown.append({pid for pid, _name, phones in people if number in phones})
    return shown


def named_in_audit(since_id):
    """Patient ids named by the audit rows written after `since_id`."""
    named = set()
    for row in db.session.scalars(db.select(AuditLog).where(AuditLog.id > since_id)):
        if row.entity == "patient" and row.entity_id is not None:
            named.add(row.entity_id)
        named.update((row.details or {}).get("patient_ids") or [])
    return named


@pytest.fixture
def _fresh_database(app):
    """(conftest's, overridden) The world lasts the module."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture(scope="module")
def world(app):
    with app.app_context():
        built = worlds.build()
        people = []
        for p in db.session.scalars(db.select(Patient)):
            people.append((p.id, p.name, [x for x in (p.phone, p.attendant_phone) if x]))
    yield built, people, {}
    with app.app_context():
        db.session.remove()
        _empty_tables()


@pytest.mark.parametrize("endpoint,rule_text", GET_ROUTES, ids=[e for e, _r in GET_ROUTES])
def test_a_page_that_shows_patients_records_whom(app, world, endpoint, rule_text):
    w, people, pool = world
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and r.rule == rule_text)
    policy = policy_for(endpoint, app)
    if policy is None or policy.by not in (SESSION, TOKEN):
        pytest.skip("not asked by a signed-in user")
    if policy.by not in pool:
        pool[policy.by] = {key: Asker(app, identity, policy.by) for key, identity in w.users.items()}
    failures, asked = [], 0
    for (role, level), asker in pool[policy.by].items():
        if not policy.allows(asker.user):
            continue
        districts = [w.own] + ([w.other] if level == "state" and rule.arguments else [])
        for d in districts:
            path = _path(app, endpoint, rule, d)
            since = db.session.scalar(db.select(func.coalesce(func.max(AuditLog.id), 0)))
            response = asker.ask("GET", path, endpoint, d)
            body = response.get_data().decode("utf-8", "replace")
            asked += 1
            named = named_in_audit(since)
            missing = sorted({min(ids) for ids in shown_patients(body, people) if not ids & named})
            db.session.remove()
            if missing:
                failures.append(f"{role}/{level} {path} ({response.status_code}): shows patients {missing} "
                                "without an audit row naming them")
    if endpoint in ("auth.logout", "api_auth.revoke"):
        pool.clear()
    assert not failures, "\n".join(failures)
