"""The dashboard's snapshots (jobs/dashboard_snapshots.py): the default view read from the minute's snapshot of
the user's own scope when it is fresh, with the same figures as the live count; anything else counted live."""
import re
from datetime import timedelta, timezone

import pytest
from flask import render_template
from flask_login import login_user
from sqlalchemy import create_engine, text

from callcenter.clock import local_tz, start_of_local_day
from callcenter.dashboard import views
from callcenter.extensions import db
from callcenter.models import DashboardSnapshot, JobRun
from callcenter.services.dashboard import snapshots as dashboard_snapshots
from callcenter.services.dashboard.overview import Filters
from jobs import runner

from .. import factories
from ..conftest import sign_in
from . import scenario


@pytest.fixture
def s(monkeypatch):
    """The scenario's day, with the dashboard's clock at its noon (the time the snapshots are counted at)."""
    built = scenario.build()
    monkeypatch.setattr(views, "utcnow", lambda: built.now)
    return built


def _rows():
    return {r.scope: r for r in db.session.scalars(db.select(DashboardSnapshot))}


def _mark(scope, active_total):
    """Put a number in a snapshot that no live count gives, to see which snapshot a view read."""
    row = db.session.get(DashboardSnapshot, scope)
    payload = dict(row.payload)
    parts = dashboard_snapshots.decode(payload["parts"])
    parts["figures"]["active_total"] = active_total
    payload["parts"] = dashboard_snapshots.encode(parts)
    row.payload = payload
    db.session.commit()


def _signed_in(app, user):
    """A test client of its own, signed in as `user` through the sign-in form."""
    c = app.test_client()
    sign_in(c, user)  # the password, and the code for a user with two-factor sign-in
    return c


def _glance(html):
    """The page without the time of its figures and the snapshot's note (the only parts allowed to differ),
    and the charts' element ids made alike."""
    html = re.sub(r'\s*<span id="snapshot-note"[^>]*>[^<]*</span>', "", html)
    html = re.sub(r'<span id="figures-at">[^<]*</span>', "", html)
    return re.sub(r'\bchart\d+-', 'chart-', html)  # the charts' ids count up within a request's app context


def _watch_all(now):
    """As if each scope's dashboard had been opened at `now`."""
    dashboard_snapshots.refresh(now=now)
    db.session.execute(db.update(DashboardSnapshot).values(viewed_at=now))
    db.session.commit()


def test_the_job_counts_each_scope_and_is_idempotent(s):
    state = factories.make_user("nodal_officer")
    _watch_all(s.now)
    assert runner.tick("dashboard_snapshots", now=s.now)[0] == 3
    assert runner.tick("dashboard_snapshots", now=s.now)[0] == 3  # again: the same rows, overwritten
    rows = _rows()
    assert set(rows) == {"state", f"district:{s.a.id}", f"district:{s.b.id}"}
    assert {r.computed_at for r in rows.values()} == {s.now}
    first = {k: r.payload for k, r in rows.items()}
    run = runner.run("dashboard_snapshots", trigger="manual", now=s.now)  # a manual run is recorded
    assert run.status == "succeeded" and run.rows == 3
    assert db.session.scalar(db.select(JobRun.job)) == "dashboard_snapshots"
    db.session.expire_all()
    assert {k: r.payload for k, r in _rows().items()} == first
    # An older pass finishing late never overwrites a newer count; a removed district loses its row.
    dashboard_snapshots.refresh(now=s.now - timedelta(seconds=30))
    assert {r.computed_at for r in _rows().values()} == {s.now}
    # The district's figures are the district officer's and the state's the state officer's.
    f = Filters.today(s.now)
    a = dashboard_snapshots.decode(first[f"district:{s.a.id}"]["parts"])
    assert a["figures"] == dashboard_snapshots.compute(s.officer, f, s.now)["figures"]
    assert a["figures"]["active_total"] == 4
    whole = dashboard_snapshots.decode(first["state"]["parts"])
    assert whole["figures"] == dashboard_snapshots.compute(state, f, s.now)["figures"]
    assert whole["figures"]["active_total"] == 5


def test_the_payload_round_trips_every_part(s):
    f = Filters.today(s.now)
    live = dashboard_snapshots.compute(s.officer, f, s.now)
    back = dashboard_snapshots.decode(dashboard_snapshots.encode(live))
    for part in ("figures", "trend", "people", "desks", "facilities", "breaches"):
        assert back[part] == live[part], part
    assert back["trend"][-1]["day"] == f.date_to and back["figures"]["at"] == s.now
    village = back["geo"]["villages"][0]
    assert village["contacts"][0]["name"] == "Ramesh Sarpanch"
    assert {k: v for k, v in village.items() if k != "contacts"} == {
        k: v for k, v in live["geo"]["villages"][0].items() if k != "contacts"}


def test_the_page_from_a_snapshot_equals_the_live_page(app, s):
    def page():
        with app.test_request_context("/dashboard/"):
            login_user(s.officer)
            context = views.index_context()
            return context, render_template("dashboard/index.html", **context)

    live_context, live_html = page()
    assert live_context["snapshot_at"] is None and 'id="snapshot-note"' not in live_html
    dashboard_snapshots.refresh(now=s.now)
    snap_context, snap_html = page()
    assert snap_context["snapshot_at"] == s.now and 'id="snapshot-note"' in snap_html
    for part in ("figures", "trend", "people", "desks", "facilities", "breaches"):
        assert snap_context[part] == live_context[part], part
    import difflib
    assert _glance(snap_html) == _glance(live_html), "\n".join(difflib.unified_diff(
        _glance(live_html).splitlines(), _glance(snap_html).splitlines(), lineterm="", n=0))
    assert 'data-fig="tasks.due">4</a>' in snap_html and "Ramesh Sarpanch" in snap_html and "<svg" in snap_html


def test_default_view_reads_the_fresh_snapshot_and_says_as_of_when(client, login, s):
    dashboard_snapshots.refresh(now=s.now - timedelta(seconds=50))
    _mark(f"district:{s.a.id}", 901)
    login(s.officer)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert 'data-fig="active_total">901</a>' in html
    at = (s.now - timedelta(seconds=50)).replace(tzinfo=timezone.utc).astimezone(local_tz()).strftime("%H:%M:%S")
    assert f'Figures as of <span id="figures-at">{at}</span>' in html
    assert "(from a snapshot; the lists behind the figures are live)" in html
    assert "These figures are counted every 60 seconds" in html
    # The list behind a figure is live.
    assert "Asha Home" in client.get("/dashboard/list/patients?which=active").get_data(as_text=True)


def test_scoping_a_district_officer_reads_only_their_districts_snapshot(app, client, login, s):
    dashboard_snapshots.refresh(now=s.now)
    _mark("state", 900)
    _mark(f"district:{s.a.id}", 901)
    _mark(f"district:{s.b.id}", 902)
    login(s.officer)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert 'data-fig="active_total">901</a>' in html and ">900<" not in html and ">902<" not in html
    assert client.get("/dashboard/figures.json").get_json()["figures"]["active_total"] == 901
    other = _signed_in(app, factories.make_user("nodal_officer", s.b))
    assert other.get("/dashboard/figures.json").get_json()["figures"]["active_total"] == 902
    state = _signed_in(app, factories.make_user("admin"))
    assert 'data-fig="active_total">900</a>' in state.get("/dashboard/").get_data(as_text=True)
    assert state.get("/dashboard/figures.json").get_json()["figures"]["active_total"] == 900


def test_a_district_without_a_snapshot_is_counted_live(client, login, s):
    dashboard_snapshots.refresh(now=s.now)
    _mark("state", 900)
    db.session.execute(db.delete(DashboardSnapshot).where(DashboardSnapshot.scope != "state"))
    db.session.commit()
    login(s.officer)
    data = client.get("/dashboard/figures.json").get_json()
    assert data["figures"]["active_total"] == 4 and data["snapshot"] is False


def test_a_stale_snapshot_is_ignored(client, login, s):
    dashboard_snapshots.refresh(now=s.now - timedelta(seconds=121))  # older than two intervals of 60 s
    _mark(f"district:{s.a.id}", 901)
    login(s.officer)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert 'data-fig="active_total">4</a>' in html and 'id="snapshot-note"' not in html
    # The live count replaced the stale snapshot (and the scope is watched now): the refresh reads it.
    row = db.session.get(DashboardSnapshot, f"district:{s.a.id}")
    assert (row.computed_at, row.viewed_at) == (s.now, s.now)
    data = client.get("/dashboard/figures.json").get_json()
    assert data["snapshot"] is True and data["figures"]["active_total"] == 4


def test_only_watched_scopes_are_counted_by_the_job(client, login, s):
    dashboard_snapshots.refresh(now=s.now - timedelta(minutes=20))  # counted once, never opened
    assert runner.tick("dashboard_snapshots", now=s.now)[0] == 0  # nobody watches: nothing counted …
    assert _rows() == {}  # … and the unwatched rows are gone
    login(s.officer)
    client.get("/dashboard/")  # the district officer opens the default view: counted live and stored
    assert set(_rows()) == {f"district:{s.a.id}"}
    later = s.now + timedelta(minutes=1)
    assert runner.tick("dashboard_snapshots", now=later)[0] == 1  # the job keeps only it fresh
    assert db.session.get(DashboardSnapshot, f"district:{s.a.id}").computed_at == later
    # Fifteen minutes without a view: the job lets it go.
    assert runner.tick("dashboard_snapshots", now=s.now + timedelta(minutes=16))[0] == 0
    assert _rows() == {}


def test_yesterdays_snapshot_is_ignored(s):
    midnight = start_of_local_day(Filters.today(s.now).date_from)
    dashboard_snapshots.refresh(now=midnight - timedelta(seconds=30))  # 23:59:30 yesterday
    yesterday = Filters.today(midnight - timedelta(seconds=30))
    assert dashboard_snapshots.for_view(s.officer, yesterday, midnight - timedelta(seconds=1)) is not None
    # 40 seconds later it is young enough, but of another day: today is counted live.
    assert dashboard_snapshots.for_view(s.officer, Filters.today(s.now), midnight + timedelta(seconds=10)) is None


def test_a_filtered_view_is_counted_live(client, login, s):
    dashboard_snapshots.refresh(now=s.now)
    _mark(f"district:{s.a.id}", 901)
    login(s.officer)
    yesterday = (Filters.today(s.now).date_from - timedelta(days=1)).isoformat()
    for query in ("?setting=home", f"?block={s.village.block_id}", f"?date_from={yesterday}",
                  "?date_from=2026-01-01&date_to=2026-01-02"):
        html = client.get("/dashboard/" + query).get_data(as_text=True)
        assert 'id="snapshot-note"' not in html and ">901<" not in html, query
        assert client.get("/dashboard/figures.json" + query).get_json()["snapshot"] is False, query
    html = client.get("/dashboard/?setting=home").get_data(as_text=True)
    assert 'data-fig="active_total">2</a>' in html


def test_live_refresh_json_uses_the_snapshot(client, login, s):
    dashboard_snapshots.refresh(now=s.now - timedelta(seconds=5))
    _mark(f"district:{s.a.id}", 901)
    login(s.officer)
    html = client.get("/dashboard/").get_data(as_text=True)
    url = re.search(r'id="glance" data-url="([^"]+)"', html).group(1).replace("&amp;", "&")
    data = client.get(url).get_json()  # what static/dashboard-live.js asks for: today's dates in the URL
    assert data["snapshot"] is True and data["figures"]["active_total"] == 901
    assert data["at"] == (s.now - timedelta(seconds=5)).isoformat() + "Z"
    assert data["figures"]["tasks.due"] == 4 and data["figures"]["needs.oxygen"] == 1


@pytest.mark.parametrize("role", ["volunteer", "control_room", "doctor", "counsellor"])
def test_roles_unchanged_with_a_snapshot(client, login, s, role):
    dashboard_snapshots.refresh(now=s.now)
    login(factories.make_user(role, s.a))
    for path in ("/dashboard/", "/dashboard/figures.json"):
        assert client.get(path).status_code == 403, path


def test_one_pass_at_a_time_on_postgresql(app, s):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's; SQLite serialises writers")
    other = create_engine(db.engine.url.render_as_string(hide_password=False))
    with other.connect() as conn:  # another pass holds the lock
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": dashboard_snapshots.PASS_LOCK})
        assert dashboard_snapshots.refresh(now=s.now) == {"scopes": 0, "skipped": "another pass is running"}
        assert _rows() == {}
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": dashboard_snapshots.PASS_LOCK})
    other.dispose()
    assert dashboard_snapshots.refresh(now=s.now)["scopes"] == 3


# --- filtered views of today (issue 20) ------------------------------------------------------------

def _filtered_queries(s):
    """Filtered views (today, a week, yesterday) as a state officer and as the district officer opens them."""
    day = Filters.today(s.now).date_from
    week = f"date_from={day - timedelta(days=6)}&date_to={day}"
    yesterday = f"date_from={day - timedelta(days=1)}&date_to={day - timedelta(days=1)}"
    facility = s.p[3].facility_id
    state = [f"?district={s.a.id}", f"?block={s.village.block_id}", f"?{week}&block={s.village.block_id}",
             f"?district={s.a.id}&setting=home", f"?{week}", f"?{yesterday}&block={s.village.block_id}"]
    officer = [f"?block={s.village.block_id}", "?setting=hospital", f"?{week}", f"?{yesterday}"]
    if facility:
        state.append(f"?facility={facility}")
        officer.append(f"?facility={facility}")
    return state, officer


@pytest.mark.parametrize("who", ["state", "district officer"])
def test_a_filtered_view_from_a_snapshot_equals_the_live_view(app, s, who):
    """Each filtered view: first counted live (and noted as watched), then, after the job's pass,
    read from its own row, with the same page and the same figures.json."""
    user = factories.make_user("admin") if who == "state" else s.officer
    queries = _filtered_queries(s)[0 if who == "state" else 1]

    def page(query):
        with app.test_request_context("/dashboard/" + query):
            login_user(user)
            context = views.index_context()
            return context, render_template("dashboard/index.html", **context)

    def figures(query):
        with app.test_request_context("/dashboard/figures.json" + query):
            login_user(user)
            return views.figures_json().get_json()

    live = {q: (page(q), figures(q)) for q in queries}
    for q, ((context, _html), data) in live.items():
        assert context["snapshot_at"] is None and data["snapshot"] is False, q
    assert runner.tick("dashboard_snapshots", now=s.now)[0] == len(queries)  # each one watched, now counted
    import difflib
    for q, ((live_context, live_html), live_data) in live.items():
        snap_context, snap_html = page(q)
        assert snap_context["snapshot_at"] == s.now and 'id="snapshot-note"' in snap_html, q
        for part in ("figures", "trend", "people", "desks", "facilities", "breaches"):  # geo: in the HTML
            assert snap_context[part] == live_context[part], (q, part)
        assert _glance(snap_html) == _glance(live_html), "\n".join(difflib.unified_diff(
            _glance(live_html).splitlines(), _glance(snap_html).splitlines(), lineterm="", n=0))
        data = figures(q)
        assert data["snapshot"] is True and data["figures"] == live_data["figures"], q


def test_a_filtered_view_is_watched_counted_and_let_go(client, login, s):
    login(s.officer)
    query = f"?block={s.village.block_id}"
    key = dashboard_snapshots.view_key(s.officer, Filters.today(s.now, block_id=s.village.block_id), s.now)
    assert key == f"district:{s.a.id}|{s.now.date()}|{s.now.date()}||{s.village.block_id}||"
    html = client.get("/dashboard/" + query).get_data(as_text=True)  # first view: live, noted as watched
    assert 'id="snapshot-note"' not in html and set(_rows()) == {key}
    assert _rows()[key].payload == {} and _rows()[key].viewed_at == s.now
    assert runner.tick("dashboard_snapshots", now=s.now)[0] == 1  # the pass counts it (not the default view)
    _mark(key, 903)
    assert ">903<" in client.get("/dashboard/" + query).get_data(as_text=True)
    assert client.get("/dashboard/figures.json" + query).get_json()["figures"]["active_total"] == 903
    assert ">903<" not in client.get("/dashboard/").get_data(as_text=True)  # another view, another row
    # A view of another day: its own row too, counted by the next pass.
    yesterday = (Filters.today(s.now).date_from - timedelta(days=1)).isoformat()
    past = f"?date_from={yesterday}&date_to={yesterday}&block={s.village.block_id}"
    assert 'id="snapshot-note"' not in client.get("/dashboard/" + past).get_data(as_text=True)
    past_key = f"district:{s.a.id}|{yesterday}|{yesterday}||{s.village.block_id}||"
    assert set(_rows()) == {key, past_key, f"district:{s.a.id}"}
    assert runner.tick("dashboard_snapshots", now=s.now)[0] == 3
    assert 'id="snapshot-note"' in client.get("/dashboard/" + past).get_data(as_text=True)
    # Nobody opens it for fifteen minutes: the job lets it go.
    assert runner.tick("dashboard_snapshots", now=s.now + timedelta(minutes=16))[0] == 0
    assert _rows() == {}


def test_a_filtered_row_is_read_only_by_its_own_scope_and_filters(client, login, s):
    login(s.officer)
    client.get(f"/dashboard/?block={s.village.block_id}")
    dashboard_snapshots.refresh(now=s.now, watched_only=True)
    key = f"district:{s.a.id}|{s.now.date()}|{s.now.date()}||{s.village.block_id}||"
    _mark(key, 903)
    state = factories.make_user("admin")
    f = Filters.today(s.now, block_id=s.village.block_id)
    assert dashboard_snapshots.for_view(state, f, s.now) is None  # the state officer's view of it is its own
    assert dashboard_snapshots.for_view(s.officer, f.with_(setting="home"), s.now) is None
    assert dashboard_snapshots.for_view(s.officer, f, s.now)["figures"]["active_total"] == 903


def test_a_pass_counts_at_most_its_share_of_filtered_views(s, monkeypatch):
    monkeypatch.setattr(dashboard_snapshots, "FILTERED_PER_PASS", 2)
    for setting in ("home", "hospital", "ccc"):
        dashboard_snapshots.remember(s.officer, Filters.today(s.now, setting=setting), None, s.now)
    assert dashboard_snapshots.refresh(now=s.now, watched_only=True)["scopes"] == 2
    counted = [k for k, r in _rows().items() if r.payload]
    assert len(counted) == 2 and len(_rows()) == 3  # the third stays watched, counted live when opened
