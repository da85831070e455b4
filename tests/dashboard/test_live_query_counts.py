"""The dashboard's live views (any filtered view, the default view without a fresh snapshot, figures.json) ask
a fixed number of questions, however many patients, calls, check-ins and villages they count: the same count of
SQL statements with a few rows and with four times as many, under a ceiling (tests/views/test_query_counts.py)."""
from datetime import timedelta

import pytest

from callcenter.clock import local_date, utcnow
from callcenter.extensions import db
from callcenter.models import Block, DashboardSnapshot, Village
from callcenter.services.dashboard import snapshots as dashboard_snapshots

from .. import factories
from ..views.test_query_counts import CEILING, statements


def _more(world, n, start):
    """n more patients in new villages, each with today's task, a call and a check-in."""
    block = world["block"]
    for i in range(n):
        village = Village(block=block, name=f"Gaon {start + i}")
        db.session.add(village)
        db.session.commit()
        patient = factories.make_patient(world["district"], village_id=village.id)
        factories.make_task(patient)
        factories.make_attempt(patient, world["volunteer"], utcnow() - timedelta(minutes=5 + i))
        factories.make_checkin(patient, utcnow() - timedelta(minutes=30 + i))


def _signed_in_world(login, path, state_level):
    """A district with a block and a volunteer's day of 3 patients, a nodal officer (state-level or the district's)
    signed in; the view's path with their ids filled in."""
    district = factories.make_district()
    block = db.session.scalar(db.select(Block).where(Block.district_id == district.id))
    world = {"district": district, "block": block, "volunteer": factories.make_user("volunteer", district)}
    login(factories.make_user("nodal_officer", None if state_level else district))
    _more(world, 3, 0)
    return world, path.format(district=district.id, block=block.id, week_ago=local_date() - timedelta(days=6))


def _live(app, client, path):
    """Statements of one request, counted live: no snapshot to read."""
    db.session.execute(db.delete(DashboardSnapshot))
    db.session.commit()
    return statements(app, client, path)


VIEWS = {  # name: (path, state level?)
    "state, default view, live": ("/dashboard/", True),
    "district officer, default view, live": ("/dashboard/", False),
    "state filtered to a district": ("/dashboard/?district={district}", True),
    "state, 7 days and a block": ("/dashboard/?date_from={week_ago}&block={block}", True),
    "figures.json, live": ("/dashboard/figures.json", True),
    "figures.json, filtered": ("/dashboard/figures.json?setting=home&district={district}", True),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_a_live_dashboard_view_asks_the_same_number_of_questions_for_more_rows(app, client, login, name):
    world, path = _signed_in_world(login, *VIEWS[name])
    _live(app, client, path)  # warm: the first request of a session may set it up
    few = _live(app, client, path)
    _more(world, 9, 100)
    many = _live(app, client, path)
    assert many == few, f"{name}: {few} statements with 3 rows, {many} with 12: one more per row"
    assert few <= CEILING, f"{name}: {few} statements"


def _from_snapshot(app, client, path):
    """Statements of one request of a filtered view read from its own snapshot: the page opened once (watched),
    then counted by the job's pass."""
    db.session.execute(db.delete(DashboardSnapshot))
    db.session.commit()
    client.get(path.replace("/figures.json", "/"))
    assert dashboard_snapshots.refresh(watched_only=True)["scopes"] == 1
    return statements(app, client, path)


FILTERED = {  # name: (path, state level?)
    "state filtered to a district": ("/dashboard/?district={district}", True),
    "state, a block": ("/dashboard/?block={block}", True),
    "state, 7 days and a block": ("/dashboard/?date_from={week_ago}&block={block}", True),
    "district officer, a setting": ("/dashboard/?setting=home", False),
    "figures.json, filtered": ("/dashboard/figures.json?setting=home&district={district}", True),
}
SNAPSHOT_CEILING = 20  # the page's own lists (the act-now strip, the holders, the pauses) stay live


@pytest.mark.parametrize("name", list(FILTERED))
def test_a_filtered_view_from_its_snapshot_asks_a_fixed_number_of_questions(app, client, login, name):
    world, path = _signed_in_world(login, *FILTERED[name])
    _from_snapshot(app, client, path)  # warm
    few = _from_snapshot(app, client, path)
    _more(world, 9, 100)
    many = _from_snapshot(app, client, path)
    live = _live(app, client, path)
    assert many == few, f"{name}: {few} statements with 3 rows, {many} with 12: one more per row"
    assert few <= SNAPSHOT_CEILING and few < live, f"{name}: {few} statements from the snapshot, {live} live"
