"""Village contacts (sarpanch, ward members …) and the village pages an officer calls from."""
import pytest

from callcenter.clock import local_date
from callcenter.extensions import db
from callcenter.models import AuditLog, Block, Village, VillageContact
from callcenter.services.core.errors import Forbidden, Invalid, NotFound
from callcenter.services.desks import escalations
from callcenter.services.records import villages

from ..conftest import csrf_token
from ..factories import make_district, make_patient, make_task, make_user, village


def contacts():
    return db.session.scalars(db.select(VillageContact).order_by(VillageContact.id)).all()


@pytest.mark.parametrize(("phone", "message"), [
    ("12345", "Not a valid Indian mobile number."),
    ("011 23456789", "This is a landline; enter a mobile number."),
    ("+1 415 555 0100", "Enter an Indian (+91) mobile number."),
    ("", "Not a valid Indian mobile number."),
])
def test_bad_phone_is_refused_with_a_message(district, phone, message):
    with pytest.raises(Invalid) as exc:
        villages.add_contact(village(district).id, make_user("nodal_officer", district),
                             {"name": "Shivkumar Sahu", "role": "sarpanch", "phone": phone})
    assert str(exc.value.errors["phone"]) == message
    assert contacts() == []


def test_contact_register_add_edit_deactivate(district):
    officer, v = make_user("admin", None), village(district)
    contact = villages.add_contact(v.id, officer, {"name": " Shivkumar  Sahu ", "role": "sarpanch",
                                                   "phone": "098260 11111"})
    assert (contact.name, contact.phone, contact.active) == ("Shivkumar Sahu", "+919826011111", True)
    with pytest.raises(Invalid) as exc:  # the same number twice on one village's list
        villages.add_contact(v.id, officer, {"name": "Someone", "role": "ward_member", "phone": "9826011111"})
    assert "already on this village's list" in str(exc.value.errors["phone"])
    with pytest.raises(Invalid) as exc:
        villages.add_contact(v.id, officer, {"name": "", "role": "mayor", "phone": "9826011112"})
    assert set(exc.value.errors) == {"name", "role"}

    villages.edit_contact(contact.id, officer, {"name": "Shivkumar Sahu", "role": "ward_member",
                                                "phone": "+91 98260 22222"})
    villages.set_contact_active(contact.id, officer, False)
    assert [(c.role, c.phone, c.active) for c in contacts()] == [("ward_member", "+919826022222", False)]
    new = villages.add_contact(v.id, officer, {"name": "Kamla Bai", "role": "sarpanch", "phone": "9826022222"})
    with pytest.raises(Invalid):  # two active contacts with one number
        villages.set_contact_active(contact.id, officer, True)
    assert new.active
    actions = [a for (a,) in db.session.execute(db.select(AuditLog.action).order_by(AuditLog.id))]
    assert actions == ["village_contact.add", "village_contact.edit", "village_contact.deactivate",
                       "village_contact.add"]


def test_only_officers_keep_the_register(district):
    v = village(district)
    for role in ("control_room", "doctor", "counsellor", "volunteer"):
        with pytest.raises(Forbidden):
            villages.add_contact(v.id, make_user(role, district), {"name": "A", "role": "sarpanch",
                                                                   "phone": "9826011111"})
    with pytest.raises(NotFound):
        villages.add_contact(v.id, make_user("nodal_officer", make_district()),
                             {"name": "A", "role": "sarpanch", "phone": "9826011111"})


def test_village_figures(district):
    v = village(district)
    other_village = Village(block_id=v.block_id, name="Kendri")
    db.session.add(other_village)
    db.session.commit()
    at_home = make_patient(district, name="Anita Sahu", village_id=v.id)
    in_hospital = make_patient(district, name="Deepak Sahu", village_id=v.id, setting="hospital")
    unreached = make_patient(district, name="Usha Dhruw", village_id=v.id)
    make_patient(district, name="Lata Kurre", village_id=v.id, status="recovered")
    make_patient(district, name="Elsewhere", village_id=other_village.id)
    make_task(unreached, status="unreachable", day=local_date())
    escalations.raise_escalation(at_home, "ambulance", "control_room", "emergency", "call")
    escalations.raise_escalation(at_home, "medicine", "control_room", "routine", "call")
    closed = escalations.raise_escalation(in_hospital, "doctor", "doctor", "routine", "call")
    closed.status = "resolved"
    db.session.commit()
    officer = make_user("nodal_officer", district)

    page = villages.village_page(v.id, officer)
    assert page["figures"] == {"active": 3, "by_setting": {"home": 2, "hospital": 1}, "open": 2, "emergencies": 1,
                               "unreachable_today": 1, "ended": 1}
    assert [p.name for p in page["patients"]] == ["Anita Sahu", "Deepak Sahu", "Usha Dhruw"]
    assert [(e.kind, e.severity) for e in page["escalations"]] == [("ambulance", "emergency"),
                                                                   ("medicine", "routine")]
    viewed = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "village.view")).one()
    assert sorted(viewed.details["patient_ids"]) == sorted([at_home.id, in_hospital.id, unreached.id])

    villages.add_contact(v.id, officer, {"name": "Shivkumar Sahu", "role": "sarpanch", "phone": "9826011111"})
    [(block, rows)] = villages.blocks_with_counts(officer, district.id)
    assert block.id == v.block_id
    assert [(r["village"].name, r["active"], r["open"], r["emergencies"], r["contacts"]) for r in rows] == [
        ("Kendri", 1, 0, 0, 0), (v.name, 3, 2, 1, 1)]


def test_village_pages_over_http(client, login, district):
    v = village(district)
    patient = make_patient(district, name="Anita Sahu", village_id=v.id)
    escalations.raise_escalation(patient, "food", "control_room", "routine", "call")
    db.session.commit()
    login(make_user("nodal_officer", district))
    html = client.get("/villages/").get_data(as_text=True)
    assert v.name in html and f"/villages/{v.id}" in html
    html = client.get(f"/villages/{v.id}").get_data(as_text=True)
    assert "Anita Sahu" in html and f"/patients/{patient.id}" in html and "Food / ration" in html
    assert "No contacts recorded for this village yet." in html

    token = csrf_token(client, f"/villages/{v.id}/contacts/new")
    response = client.post(f"/villages/{v.id}/contacts/new", data={
        "csrf_token": token, "name": "Shivkumar Sahu", "role": "sarpanch", "phone": "98260"})
    assert response.status_code == 200
    assert "Not a valid Indian mobile number." in response.get_data(as_text=True)
    response = client.post(f"/villages/{v.id}/contacts/new", data={
        "csrf_token": token, "name": "Shivkumar Sahu", "role": "sarpanch", "phone": "98260 11111"},
        follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Shivkumar Sahu added" in html and "+91 98260 11111" in html and "Sarpanch" in html
    contact = contacts()[0]
    edit = client.get(f"/villages/contacts/{contact.id}/edit").get_data(as_text=True)
    assert 'value="Shivkumar Sahu"' in edit
    client.post(f"/villages/contacts/{contact.id}/edit", data={
        "csrf_token": token, "name": "Shivkumar Sahu", "role": "ward_member", "phone": "9826011111"})
    client.post(f"/villages/contacts/{contact.id}/active", data={"csrf_token": token, "active": "0"})
    db.session.refresh(contact)
    assert (contact.role, contact.active) == ("ward_member", False)
    assert "No longer in this role" in client.get(f"/villages/{v.id}").get_data(as_text=True)


def test_village_of_another_district_is_not_found(client, login, district):
    v = village(make_district())
    login(make_user("control_room", district))
    assert client.get(f"/villages/{v.id}").status_code == 404
    assert client.get("/villages/").status_code == 200


def test_state_level_officer_chooses_the_district(client, login, district):
    other = make_district()
    login(make_user("admin", None))
    html = client.get(f"/villages/?district={other.id}").get_data(as_text=True)
    block = db.session.scalar(db.select(Block).where(Block.district_id == other.id))
    assert block.name in html and village(other).name in html
