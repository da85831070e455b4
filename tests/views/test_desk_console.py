"""The desks' live console over HTTP: the page, its JSON endpoint (filters, search, district scoping,
deadlines), and the escalation page's lifecycle forms (send help, hand over, resolve with an outcome)."""
import re
from datetime import timedelta
from urllib.parse import quote

from callcenter.clock import local_to_utc, to_local, utcnow
from callcenter.extensions import db
from callcenter.models import Block, Dispatch, Escalation, OutboundMessage, Patient, Transfer, Village
from callcenter.rules.routing import Desk, Severity
from callcenter.services.desks import escalations as esc_service

from ..conftest import csrf_token
from ..factories import facility, make_district, make_patient, make_task, make_user, village


def raise_one(patient, kind="ambulance", desk=Desk.CONTROL_ROOM, severity=Severity.EMERGENCY, now=None, **kw):
    esc = esc_service.raise_escalation(patient, kind, desk, severity, source="call", now=now, **kw)
    db.session.commit()
    return esc


def console(client, **params):
    response = client.get("/desk/console.json", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def ids(data):
    return [item["id"] for item in data["items"]]


def test_console_lists_open_ones_emergencies_first_then_oldest(client, login, district):
    now = utcnow()
    routine = raise_one(make_patient(district), "medicine", severity=Severity.ROUTINE, now=now - timedelta(hours=2))
    late = raise_one(make_patient(district), "oxygen", now=now - timedelta(minutes=30))
    fresh = raise_one(make_patient(district), "ambulance", now=now - timedelta(minutes=1))
    closed = raise_one(make_patient(district), "ambulance", now=now - timedelta(hours=3))
    raise_one(make_patient(district), "doctor", desk=Desk.DOCTOR, severity=Severity.ROUTINE)  # another desk
    raise_one(make_patient(make_district()), "ambulance")  # another district
    operator = make_user("control_room", district)
    esc_service.cancel(closed.id, operator, "duplicate")
    late.respond_by = now - timedelta(minutes=15)
    fresh.respond_by = now + timedelta(minutes=9)
    routine.respond_by = None
    db.session.commit()

    login(operator)
    data = console(client)
    assert ids(data) == [late.id, fresh.id, routine.id]
    by_id = {item["id"]: item for item in data["items"]}
    assert by_id[late.id]["breached"] is True and by_id[fresh.id]["breached"] is False
    assert by_id[fresh.id]["respond_by"] == (now + timedelta(minutes=9)).isoformat() + "+00:00"
    assert by_id[routine.id]["respond_by"] is None and by_id[routine.id]["breached"] is False
    assert {e["id"] for e in data["emergencies"]} == {late.id, fresh.id}
    assert "Oxygen · " + late.patient.name in [e["text"] for e in data["emergencies"]]
    assert data["desk"] == "control_room" and data["more"] is False
    # The rows come rendered: the late one red, with its deadline for the countdown.
    html = data["html"]
    assert html.count("<tr") == 3 and f'data-escalation="{late.id}"' in html
    rows = {int(re.search(r'data-escalation="(\d+)"', r).group(1)): r for r in re.findall(r"<tr.*?</tr>", html, re.S)}
    assert "table-danger" in rows[late.id] and "data-deadline=" in rows[late.id]
    assert "table-danger" not in rows[fresh.id] and "esc-emergency" in rows[fresh.id]
    assert "table-danger" not in rows[routine.id]
    assert late.patient.name in html and "Acknowledge" in html


def test_breached_at_stays_red_after_acknowledgement(client, login, district):
    esc = raise_one(make_patient(district))
    operator = make_user("control_room", district)
    esc_service.acknowledge(esc.id, operator)
    esc = db.session.get(Escalation, esc.id)
    esc.breached_at = utcnow()
    db.session.commit()
    login(operator)
    data = console(client)
    assert data["items"][0]["breached"] is True and "Deadline missed" in data["html"]
    assert data["emergencies"] == []  # acknowledged: nothing for the alarm


def test_filters_by_kind_block_and_setting(client, login, district):
    home_here = make_patient(district, village_id=village(district).id)
    other_block = Block(district_id=district.id, name="Dharsiwa")
    db.session.add(other_block)
    db.session.flush()
    other_village = Village(block_id=other_block.id, name="Mandir Hasaud")
    db.session.add(other_village)
    db.session.commit()
    home_there = make_patient(district, village_id=other_village.id)
    in_hospital = make_patient(district, setting="hospital")
    a = raise_one(home_here, "ambulance")
    b = raise_one(home_there, "medicine", severity=Severity.ROUTINE)
    c = raise_one(in_hospital, "oxygen")
    login(make_user("control_room", district))
    assert ids(console(client, kind="medicine")) == [b.id]
    assert ids(console(client, block=other_block.id)) == [b.id]
    assert ids(console(client, block=village(district).block_id)) == [a.id]
    assert ids(console(client, setting="hospital")) == [c.id]
    assert ids(console(client, setting="home", kind="ambulance")) == [a.id]
    assert ids(console(client, kind="nonsense", setting="moon", block="x")) == [a.id, c.id, b.id]  # ignored
    # The alarm still watches every open emergency, whatever the filters show.
    assert {e["id"] for e in console(client, kind="medicine")["emergencies"]} == {a.id, c.id}


def test_search_by_name_phone_and_number(client, login, district):
    sunita = make_patient(district, name="Sunita Sahu", phone_number="+919826011111")
    ramesh = make_patient(district, name="Ramesh Verma", phone_number="+919826022222")
    s = raise_one(sunita)
    r = raise_one(ramesh, "medicine", severity=Severity.ROUTINE)
    login(make_user("control_room", district))
    assert ids(console(client, q="sunita")) == [s.id]
    assert ids(console(client, q="  VERMA ")) == [r.id]
    assert ids(console(client, q="98260 22222")) == [r.id]
    assert ids(console(client, q="+91-98260-11111")) == [s.id]
    assert ids(console(client, q=f"#{r.id}")) == [r.id]
    assert ids(console(client, q=str(s.id))) == [s.id]
    assert ids(console(client, q="nobody")) == []


def test_the_console_sends_its_search_in_a_header_not_the_address(client, login, district):
    """The page's poll sends the search words percent-encoded in X-Console-Search, so no phone number or name
    typed there is in an address (proxies' access logs, the browser's history)."""
    sunita = make_patient(district, name="सुनीता साहू", phone_number="+919826011111")
    ramesh = make_patient(district, name="Ramesh Verma", phone_number="+919826022222")
    s = raise_one(sunita)
    r = raise_one(ramesh, "medicine", severity=Severity.ROUTINE)
    login(make_user("control_room", district))

    def searched(words, encode=True, **params):
        response = client.get("/desk/console.json", query_string=params,
                              headers={"X-Console-Search": quote(words) if encode else words})
        assert response.status_code == 200
        return ids(response.get_json())

    assert searched("98260 22222") == [r.id]
    assert searched("सुनीता") == [s.id]
    assert searched("") == [s.id, r.id]  # an empty search (cleared box): everything, whatever the address says
    assert searched("", q="sunita") == [s.id, r.id]
    assert searched("nobody", kind="medicine") == []
    assert searched("%E0%A4", encode=False) == []  # broken encoding: no match, no error


def test_scoped_to_the_district_and_desk(client, login, district):
    mine = raise_one(make_patient(district))
    elsewhere = raise_one(make_patient(make_district(), name="Far Away"))
    login(make_user("control_room", district))
    assert ids(console(client)) == [mine.id]
    assert ids(console(client, q=f"#{elsewhere.id}")) == []
    assert ids(console(client, q="Far Away")) == []
    assert client.get("/desk/console.json?desk=doctor").status_code == 403


def test_state_officer_sees_every_district_and_doctor_their_desk(client, login, district):
    here = raise_one(make_patient(district))
    there = raise_one(make_patient(make_district()))
    advice = raise_one(make_patient(district), "doctor", desk=Desk.DOCTOR, severity=Severity.ROUTINE)
    login(make_user("nodal_officer", None))
    assert set(ids(console(client))) == {here.id, there.id}
    client.post("/logout", data={"csrf_token": csrf_token(client, "/desk/")})
    login(make_user("doctor", district))
    assert ids(console(client)) == [advice.id]
    assert ids(console(client, desk="doctor")) == [advice.id]


def test_console_json_needs_a_desk_role(client, login, district):
    assert client.get("/desk/console.json").status_code == 302  # to sign in
    login(make_user("volunteer", district))
    assert client.get("/desk/console.json").status_code == 403


def test_console_page_has_filters_rows_and_the_script(client, login, district):
    esc = raise_one(make_patient(district, name="Kamla Dhruw"), now=utcnow())
    login(make_user("control_room", district))
    html = client.get("/desk/?kind=ambulance").get_data(as_text=True)
    assert "Kamla Dhruw" in html and f'data-escalation="{esc.id}"' in html
    assert 'id="filter-kind"' in html and '<option value="ambulance" selected>' in html
    assert 'id="filter-block"' in html and 'id="filter-setting"' in html and 'id="filter-q"' in html
    assert "/static/desk-console.js" in html and 'data-url="/desk/console.json"' in html
    assert f'data-emergencies="[{esc.id}]"' in html
    assert "http://" not in html.replace('href="http://localhost', "") and "https://" not in html  # no CDN
    # filtered out on the server too (the page works without JavaScript)
    assert "Kamla Dhruw" not in client.get("/desk/?kind=medicine").get_data(as_text=True)


def test_console_page_in_hindi(client, login, district):
    raise_one(make_patient(district))
    login(make_user("control_room", district, language="hi"))
    html = client.get("/desk/").get_data(as_text=True)
    assert '<html lang="hi">' in html
    data = console(client)
    assert data["items"] and "<tr" in data["html"]


# ── The escalation page: the lifecycle forms ─────────────────────────────────────────────────────────

def acknowledged_for(client, login, district, **patient):
    esc = raise_one(make_patient(district, **patient))
    operator = make_user("control_room", district)
    esc_service.acknowledge(esc.id, operator)
    login(operator)
    return db.session.get(Escalation, esc.id), operator


def test_dispatch_form_offers_district_facilities_with_free_beds(client, login, district):
    esc, _operator = acknowledged_for(client, login, district)
    hospital = facility(district, "hospital")
    hospital.free_general, hospital.free_oxygen, hospital.free_icu = 4, 2, 1
    db.session.commit()
    facility(make_district(), "hospital")
    html = client.get(f"/desk/escalation/{esc.id}").get_data(as_text=True)
    assert f"{hospital.name} (COVID hospital) · free beds: 4 general, 2 oxygen, 1 ICU" in html
    assert html.count("free beds:") == 2  # this district's hospital and care centre only
    assert 'id="dispatch-form"' in html and 'id="reassign"' in html and 'id="resolve"' in html


def test_dispatching_an_ambulance_through_the_form(client, login, district):
    esc, operator = acknowledged_for(client, login, district)
    hospital = facility(district, "hospital")
    eta_local = (to_local(utcnow()) + timedelta(minutes=30)).replace(second=0, microsecond=0, tzinfo=None)
    token = csrf_token(client, f"/desk/escalation/{esc.id}")
    response = client.post(f"/desk/escalation/{esc.id}/dispatch", data={
        "csrf_token": token, "version": esc.version, "kind": "ambulance", "vehicle_number": "CG 04 AB 1234",
        "driver_phone": "98260 12345", "destination_facility_id": hospital.id,
        "eta": eta_local.strftime("%Y-%m-%dT%H:%M"), "note": "Gate 2"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Saved: Ambulance sent." in html
    assert "vehicle CG04AB1234, driver +91 98260 12345, to " + hospital.name in html
    sent = db.session.scalars(db.select(Dispatch)).one()
    assert (sent.eta, sent.created_by_id) == (local_to_utc(eta_local), operator.id)
    assert db.session.get(Escalation, esc.id).status == "in_progress"
    assert db.session.scalars(db.select(OutboundMessage)).one().template == "help_ambulance"


def test_bad_dispatch_shows_the_errors_on_the_form(client, login, district):
    esc, _operator = acknowledged_for(client, login, district)
    token = csrf_token(client, f"/desk/escalation/{esc.id}")
    past = (to_local(utcnow()) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/desk/escalation/{esc.id}/dispatch", data={
        "csrf_token": token, "kind": "ambulance", "vehicle_number": "CG04AB1234", "driver_phone": "12345",
        "destination_facility_id": facility(make_district(), "hospital").id, "eta": past})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Not a valid Indian mobile number." in html
    assert "The arrival time is in the past." in html
    assert "Choose the hospital or care centre of this district" in html
    assert 'value="CG04AB1234"' in html  # what was typed is kept
    assert db.session.scalars(db.select(Dispatch)).all() == []


def test_resolving_on_the_page_needs_an_outcome_and_admitted_moves_the_patient(client, login, district):
    esc, operator = acknowledged_for(client, login, district)
    ccc = facility(district, "ccc")
    token = csrf_token(client, f"/desk/escalation/{esc.id}")
    url = f"/desk/escalation/{esc.id}/act?from=detail"
    no_outcome = client.post(url, data={"csrf_token": token, "action": "resolve", "text": "Admitted",
                                        "version": esc.version}, follow_redirects=True)
    assert "Choose what came of it." in no_outcome.get_data(as_text=True)
    no_place = client.post(url, data={"csrf_token": token, "action": "resolve", "text": "Admitted",
                                      "outcome": "admitted", "version": esc.version}, follow_redirects=True)
    assert "Record the ambulance and its destination first" in no_place.get_data(as_text=True)
    assert db.session.get(Escalation, esc.id).status == "acknowledged"
    done = client.post(url, data={"csrf_token": token, "action": "resolve", "text": "Taken to the CCC",
                                  "outcome": "admitted", "facility_id": ccc.id, "version": esc.version},
                       follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "Saved." in html and "Admitted to a hospital or care centre" in html
    patient = db.session.get(Patient, esc.patient_id)
    assert (patient.setting, patient.facility_id) == ("ccc", ccc.id)
    assert db.session.scalars(db.select(Transfer)).one().by_user_id == operator.id


def test_handing_over_through_the_page(client, login, district):
    esc, operator = acknowledged_for(client, login, district)
    colleague = make_user("control_room", district)
    make_user("doctor", district)  # not offered: another desk
    page = client.get(f"/desk/escalation/{esc.id}").get_data(as_text=True)
    offered = re.findall(r'<option value="(\d+)">', re.search(r'<select[^>]*name="owner_id".*?</select>', page,
                                                               re.S).group(0))
    assert offered == [str(colleague.id)]  # not the owner, not the doctor
    token = csrf_token(client, f"/desk/escalation/{esc.id}")
    refused = client.post(f"/desk/escalation/{esc.id}/reassign",
                          data={"csrf_token": token, "owner_id": colleague.id, "text": ""})
    assert refused.status_code == 422 and "Say why you hand it over." in refused.get_data(as_text=True)
    done = client.post(f"/desk/escalation/{esc.id}/reassign", data={
        "csrf_token": token, "owner_id": colleague.id, "text": "Going off shift", "version": esc.version},
        follow_redirects=True)
    assert f"Handed over to {colleague.display_name}." in done.get_data(as_text=True)
    assert db.session.get(Escalation, esc.id).owner_id == colleague.id


def test_stale_page_is_refused_clearly(client, login, district):
    esc, _operator = acknowledged_for(client, login, district)
    seen = esc.version
    esc_service.cancel(esc.id, make_user("control_room", district), "duplicate")
    token = csrf_token(client, "/desk/")
    response = client.post(f"/desk/escalation/{esc.id}/act?from=detail", data={
        "csrf_token": token, "action": "resolve", "outcome": "other", "text": "done", "version": seen},
        follow_redirects=True)
    assert "Someone else changed this escalation a moment ago" in response.get_data(as_text=True)
    assert db.session.get(Escalation, esc.id).status == "cancelled"


def test_resolved_need_shows_on_the_volunteers_next_call(client, login, district):
    patient = make_patient(district, name="Meena Sahu")
    esc = raise_one(patient, "medicine", severity=Severity.ROUTINE)
    esc_service.resolve(esc.id, make_user("control_room", district), "Strip of paracetamol left with her son",
                        outcome="delivered")
    make_task(patient)
    login(make_user("volunteer", district))
    token = csrf_token(client, "/queue/")
    response = client.post("/queue/take", data={"csrf_token": token})
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Meena Sahu" in html and "Recently closed" in html
    assert "Delivered</strong>: Strip of paracetamol left with her son" in html


def test_acknowledging_from_the_console_keeps_its_filters(client, login, district):
    esc = raise_one(make_patient(district), "ambulance")
    login(make_user("control_room", district))
    filtered = "/desk/?desk=control_room&kind=ambulance&q=Kiran"
    token = csrf_token(client, filtered)
    response = client.post(f"/desk/escalation/{esc.id}/act", headers={"Referer": f"http://localhost{filtered}"},
                           data={"action": "acknowledge", "version": esc.version, "desk": "control_room",
                                 "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == filtered
    # Another site's address is never followed back.
    esc2 = raise_one(make_patient(district), "oxygen")
    response = client.post(f"/desk/escalation/{esc2.id}/act", headers={"Referer": "https://evil.example/desk/"},
                           data={"action": "acknowledge", "version": esc2.version, "desk": "control_room",
                                 "csrf_token": token})
    assert response.headers["Location"] == "/desk/?desk=control_room"


def test_a_search_with_no_match_says_so_with_a_way_to_clear_it(client, login, district):
    """Issue 17: "Nothing open on this desk" while emergencies are open misled the operator; a filtered empty
    list says nothing matches the filters, counts the open emergencies and offers to clear the filters."""
    raise_one(make_patient(district, name="Ramesh Oxygen"), "oxygen")
    operator = make_user("control_room", district)
    login(operator)
    page = client.get("/desk/?desk=control_room&q=Nobody+Like+This").get_data(as_text=True)
    empty = re.search(r'<p[^>]*id="console-empty"[^>]*>(.*?)</p>', page, re.S)
    assert "hidden" not in empty.group(0).split(">")[0]
    assert "Nothing open on this desk matches the search or filters." in empty.group(1)
    assert "1 emergency is open on this desk." in empty.group(1)
    assert 'id="console-clear-filters"' in empty.group(1) and "Nothing open on this desk." not in empty.group(1)
    data = console(client, desk="control_room", q="Nobody Like This")
    assert data["items"] == [] and "matches the search or filters" in data["empty"]
    assert "1 emergency is open" in data["empty"] and "console-clear-filters" in data["empty"]
    # Unfiltered with nothing open: the desk is empty, said plainly.
    other = make_user("counsellor", district)
    login(other)
    data = console(client, desk="counsellor")
    assert data["empty"].strip() == "Nothing open on this desk."
    # In Hindi.
    operator.language = "hi"
    db.session.commit()
    login(operator)
    data = console(client, desk="control_room", kind="food")
    assert "खोज या फ़िल्टर से मेल खाता कोई खुला मामला नहीं" in data["empty"] and "फ़िल्टर हटाएं" in data["empty"]


def test_the_console_says_its_time_in_24_hours_in_the_apps_zone(client, login, district, monkeypatch):
    """Issue 17: "Updated 4:54:36 PM" came from the browser's clock and zone; the server writes the time."""
    from callcenter.desks import views as desk_views
    afternoon = local_to_utc(to_local(utcnow()).replace(hour=16, minute=54, second=36, tzinfo=None))
    monkeypatch.setattr(desk_views, "utcnow", lambda: afternoon)
    login(make_user("control_room", district))
    assert console(client)["at_text"] == "16:54:36"
    assert "Updated 16:54:36" in client.get("/desk/").get_data(as_text=True)


def test_dispatch_examples_are_help_under_the_boxes_not_placeholders(client, login, district):
    """Issue 17: a grey "CG 04 AB 1234" inside the box read as a typed value."""
    esc, operator = acknowledged_for(client, login, district)
    for language, example in (("en", "For example: CG 04 AB 1234"), ("hi", "उदाहरण: CG 04 AB 1234")):
        operator.language = language
        db.session.commit()
        html = client.get(f"/desk/escalation/{esc.id}").get_data(as_text=True)
        form = html.split('id="dispatch-form"', 1)[1].split("</form>", 1)[0]
        assert "placeholder=" not in form.split('name="note"', 1)[0]
        box = re.search(r'<input[^>]*name="vehicle_number"[^>]*>', form).group(0)
        assert 'value=""' in box or "value=" not in box
        assert re.search(r'<input[^>]*name="vehicle_number".*?<(small|div)[^>]*form-text[^>]*>\s*%s' % example,
                         form, re.S), language
        assert re.search(r'<input[^>]*name="driver_phone"[^>]*type="tel"', form)


def test_an_empty_driver_phone_is_asked_for(client, login, district):
    esc, _operator = acknowledged_for(client, login, district)
    token = csrf_token(client, f"/desk/escalation/{esc.id}")
    response = client.post(f"/desk/escalation/{esc.id}/dispatch", data={
        "csrf_token": token, "kind": "ambulance", "vehicle_number": "CG04AB1234", "driver_phone": "",
        "destination_facility_id": facility(district, "hospital").id})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the driver&#39;s mobile number." in html and "Not a valid Indian mobile number." not in html


def _section(html, key):
    start = html.index(f'data-section="{key}" aria-labelledby')
    return html[start:html.index("</section>", start)]


def test_console_shows_emergencies_and_urgent_apart_from_routine_needs(client, login, district):
    """Issue 17: two sections, each with its heading and count; a badge in words and colour per band; the poll
    says which section a row goes in, and urgent needs come before routine ones whatever their age."""
    now = utcnow()
    food = raise_one(make_patient(district, name="Food Old"), "food", severity=Severity.ROUTINE,
                     now=now - timedelta(hours=5))
    medicine = raise_one(make_patient(district, name="Medicine Mid"), "medicine", severity=Severity.ROUTINE,
                         now=now - timedelta(hours=3))
    oxygen = raise_one(make_patient(district, name="Oxygen Routine"), "oxygen", severity=Severity.ROUTINE,
                       now=now - timedelta(hours=1))
    ambulance = raise_one(make_patient(district, name="Ambulance New"), now=now - timedelta(minutes=2))
    login(make_user("control_room", district))
    html = client.get("/desk/").get_data(as_text=True)
    urgent, routine = _section(html, "urgent"), _section(html, "routine")
    assert "Emergencies and urgent" in urgent and "Routine needs" in routine
    assert urgent.index("Ambulance New") < urgent.index("Oxygen Routine") and "Food Old" not in urgent
    assert routine.index("Food Old") < routine.index("Medicine Mid") and "Ambulance New" not in routine
    assert '<span class="badge band-emergency">Emergency</span>' in urgent
    assert '<span class="badge band-urgent">Urgent</span>' in urgent
    assert routine.count('<span class="badge band-routine">Routine</span>') == 2
    assert 'data-section-count>2</span>' in urgent and 'data-section-count>2</span>' in routine

    data = console(client)
    assert ids(data) == [ambulance.id, oxygen.id, food.id, medicine.id]
    assert [i["group"] for i in data["items"]] == ["urgent", "urgent", "routine", "routine"]
    assert [i["band"] for i in data["items"]] == ["emergency", "urgent", "routine", "routine"]
    assert f'data-escalation="{food.id}" data-severity="routine" data-status="open" data-group="routine"' \
        in data["html"]


def test_console_sections_in_hindi(client, login, district):
    raise_one(make_patient(district), "food", severity=Severity.ROUTINE)
    user = make_user("control_room", district, language="hi")
    login(user)
    html = client.get("/desk/").get_data(as_text=True)
    assert "आपातकालीन और तुरंत ज़रूरी" in _section(html, "urgent")
    assert "कोई खुला मामला नहीं।" in _section(html, "urgent")  # the empty section says so
    assert "सामान्य ज़रूरतें" in _section(html, "routine") and "band-routine\">सामान्य<" in _section(html, "routine")
