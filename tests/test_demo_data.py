"""Issue 17: the demo's people have the sex their names say ("Savita Kurre · Male" made every screen look wrong),
and a demo household is one family."""
from collections import defaultdict

from callcenter import demo
from callcenter.extensions import db
from callcenter.models import Patient
from callcenter.rules.identity import name_key


def test_first_name_lists_do_not_overlap():
    assert not set(demo.FIRST_NAMES["female"]) & set(demo.FIRST_NAMES["male"])


def test_every_demo_patients_sex_agrees_with_the_name():
    assert demo.seed(200)
    patients = db.session.scalars(db.select(Patient)).all()
    wrong = [(p.name, p.sex) for p in patients if p.name.split()[0] not in demo.FIRST_NAMES[p.sex]]
    assert wrong == []
    assert {p.sex for p in patients} == {"female", "male"}


def test_demo_households_are_families():
    assert demo.seed(60)
    members = defaultdict(list)
    for p in db.session.scalars(db.select(Patient).where(Patient.household_id.is_not(None))):
        members[p.household_id].append(p)
    assert members
    for family in members.values():
        assert len({p.name.split()[-1] for p in family}) == 1, [p.name for p in family]
        assert all(p.name_key == name_key(p.name) for p in family)
