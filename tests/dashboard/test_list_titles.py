"""The lists behind the dashboard's figures are titled in words (both languages), an age bucket's list holds
the rows its cell counted and names the bucket; counts and deadlines get distinct Hindi words (issue 17)."""
import html as html_lib
import re
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.dashboard import views as dashboard_views
from callcenter.extensions import db
from callcenter.models import Escalation
from callcenter.services.dashboard import overview

from .. import factories
from . import scenario


def _heading(html):
    return html_lib.unescape(re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1)).strip()


@pytest.mark.parametrize("language, url, title", [
    ("en", "/dashboard/list/tasks?which=overdue", "Overdue calls"),
    ("en", "/dashboard/list/tasks?which=done", "Calls done"),
    ("en", "/dashboard/list/tasks?which=due", "All calls due"),
    ("en", "/dashboard/list/patients?which=unreachable", "Unreachable patients"),
    ("en", "/dashboard/list/escalations?which=breach", "Deadline breaches"),
    ("en", "/dashboard/list/patients?which=need&sub=oxygen", "Patients who asked for: Oxygen"),
    ("en", "/dashboard/list/calls?which=connected", "Connected calls"),
    ("hi", "/dashboard/list/tasks?which=overdue", "समय बीत चुकी कॉल"),
    ("hi", "/dashboard/list/tasks?which=done", "पूरी हुई कॉल"),
    ("hi", "/dashboard/list/patients?which=unreachable", "संपर्क से बाहर मरीज"),
    ("hi", "/dashboard/list/escalations?which=breach", "समय-सीमा का उल्लंघन"),
])
def test_list_titles_are_words_not_codes(client, login, language, url, title):
    s = scenario.build()
    s.officer.language = language
    db.session.commit()
    login(s.officer)
    page = client.get(url).get_data(as_text=True)
    heading = _heading(page)
    assert heading == title
    assert f"<title>{title}" in html_lib.unescape(page)
    assert "·" not in heading  # no code after it ("· overdue")


def _cell_links(page, kind):
    """{age bucket: (href, figure)} of one escalation type's row on the dashboard."""
    row = re.search(rf'<tr data-kind="{kind}">(.*?)</tr>', page, re.S).group(1)
    return {m.group(2): (html_lib.unescape(m.group(1)), int(m.group(3))) for m in re.finditer(
        r'href="([^"]*age=([a-z0-9]+)[^"]*)"[^>]*>(\d+)</a>', row)}


@pytest.mark.parametrize("language, bucket_words", [("en", "open 1–4 h"), ("hi", "1–4 घंटे से खुले")])
def test_an_age_bucket_list_has_the_rows_its_cell_counted_and_names_the_bucket(client, login, monkeypatch,
                                                                                language, bucket_words):
    district = factories.make_district()
    officer = factories.make_user("nodal_officer", district, language=language)
    patient = factories.make_patient(district, name="Kamla Counselling")
    now = utcnow()
    # Counted "1–4 h" on the dashboard; four hours old by the time the list opens two minutes later.
    db.session.add(Escalation(patient_id=patient.id, district_id=district.id, kind="counselling",
                              desk="counsellor", severity="routine", status="open", source="call",
                              created_at=now - timedelta(hours=4) + timedelta(seconds=30)))
    db.session.commit()
    login(officer)
    cells = _cell_links(client.get("/dashboard/").get_data(as_text=True), "counselling")
    href, figure = cells["1to4h"]
    assert figure == 1 and "at=" in href

    later = now + timedelta(minutes=2)
    monkeypatch.setattr(dashboard_views, "utcnow", lambda: later)
    monkeypatch.setattr(overview, "utcnow", lambda: later)
    page = client.get(href).get_data(as_text=True)
    assert "Kamla Counselling" in page
    assert re.search(r'id="list-total">1 ', page) or 'id="list-total">1<' in page
    heading = _heading(page)
    assert bucket_words in heading and ("Counselling" in heading or "काउंसलिंग" in heading)
    # Its CSV carries the same time and the same row.
    csv_href = html_lib.unescape(re.search(r'href="(/dashboard/export/escalations\.csv[^"]*)"', page).group(1))
    assert "at=" in csv_href and "Kamla Counselling" in client.get(csv_href).get_data(as_text=True)
    # Without the figure's time the list is counted now: the escalation is no longer 1–4 h old.
    bare = re.sub(r"&at=[^&]*", "", href)
    assert "Kamla Counselling" not in client.get(bare).get_data(as_text=True)


def test_a_forged_or_old_time_is_ignored(client, login):
    district = factories.make_district()
    officer = factories.make_user("nodal_officer", district)
    login(officer)
    for at in ("nonsense", "2000-01-01T00:00:00", (utcnow() + timedelta(hours=3)).isoformat()):
        page = client.get(f"/dashboard/list/escalations?which=open&age=1to4h&at={at}")
        assert page.status_code == 200
        assert "at=" not in re.search(r'href="(/dashboard/export/escalations\.csv[^"]*)"',
                                      page.get_data(as_text=True)).group(1)


def test_counts_and_deadlines_have_distinct_hindi_words(client, login):
    """"Due" as a count is not "कब तक" (by when); the report's scheduled calls are not "बाकी" (remaining)
    beside "अभी बाकी" (still remaining)."""
    s = scenario.build()
    s.officer.language = "hi"
    db.session.commit()
    login(s.officer)
    page = client.get("/dashboard/").get_data(as_text=True)
    calls_card = re.search(r'id="task-figures">(.*?)</table>', page, re.S).group(1)
    assert "कुल तय" in calls_card and "कब तक" not in calls_card and "समय से पीछे" in calls_card
    desks = re.search(r'id="desk-table">(.*?)</thead>', page, re.S).group(1)
    assert "खुले" in desks and "निपटाए गए" in desks
    report = client.get("/dashboard/report").get_data(as_text=True)
    figures = re.search(r'id="report-figures">(.*?)</table>', report, re.S).group(1)
    assert "दिन की तय कॉल" in figures and "अभी बाकी" in figures and "बाकी कॉल" not in figures
    assert "माध्यिका समय" not in report
    # The same English words keep their English (and the deadline column its "by when").
    s.officer.language = "en"
    db.session.commit()
    assert ">Due</th>" in client.get("/dashboard/").get_data(as_text=True)
    assert "Calls due" in client.get("/dashboard/report").get_data(as_text=True)
    s.officer.language = "hi"
    db.session.commit()
    tasks = client.get("/dashboard/list/tasks?which=due").get_data(as_text=True)
    assert "कब तक" in tasks  # the due_at column: by when the call is due


def test_the_refreshed_figures_time_is_written_by_the_server(client, login):
    """The dashboard's refresh shows the server's 24-hour time in the app's zone, not the browser's clock."""
    s = scenario.build()
    login(s.officer)
    data = client.get("/dashboard/figures.json").get_json()
    assert re.fullmatch(r"\d\d:\d\d:\d\d", data["at_text"])
