"""The retention job keeps the dashboard's history true: after the patients of a day are anonymised, that day's
figures (the live view, the trends, the places, the volunteers, the closed days' pre-aggregates counted again,
the snapshot payload) are exactly what they were."""
from datetime import timedelta

from callcenter.extensions import db
from callcenter.models import DailyFigures, DailyVolunteerFigures, Patient
from callcenter.services.dashboard import daily_figures, snapshots
from callcenter.services.dashboard.overview import Filters
from callcenter.services.records import retention

from .. import factories
from . import scenario


def _figures(s):
    """The snapshot payload (every figure the dashboard shows), without who the breached escalations' patients
    are: a name is identity, not a figure, and it is what retention replaces."""
    f = Filters.today(s.now)
    week = f.with_(date_from=s.now.date() - timedelta(days=6), date_to=s.now.date())
    out = {}
    for key, filters in (("today", f), ("week", week)):
        payload = snapshots.compute(s.officer, filters, s.now)
        names = [row.pop("name") for row in payload["breaches"]["open"]]
        out[key] = snapshots.encode(payload)
        out[key + " names"] = names
    return out


def _counted(days, now):
    for day in days:
        daily_figures.count_day(day, now=now)
    rows = {}
    for model in (DailyFigures, DailyVolunteerFigures):
        table = model.__table__
        columns = [c for c in table.c if c.name != "id"]
        rows[table.name] = sorted((tuple(r) for r in db.session.execute(db.select(*columns)).all()), key=repr)
    return rows


def test_the_dashboards_past_figures_are_the_same_after_retention():
    s = scenario.build()
    p1, p2, _p3, p4, p5 = s.p
    day = timedelta(days=1)
    factories.make_attempt(p4, s.vol, s.now - day, notes="asked for Sunita's brother")
    factories.make_attempt(p5, s.vol2, s.now - 3 * day, outcome="no_answer")
    scenario._escalation(p4, "doctor", "doctor", "routine", s.now - day, summary="fever since Monday")
    # Every patient but one ends their follow-up an hour after the day looked at (p5 ended before it).
    for p in (p1, p2, p4, s.q):
        p.status, p.ended_at = "recovered", s.now + timedelta(hours=1)
    db.session.commit()
    closed_days = [(s.now - n * day).date() for n in (1, 2, 3)]
    before, counted_before = _figures(s), _counted(closed_days, s.now)

    later = s.now + timedelta(hours=1) + timedelta(days=retention.retention_days() + 1)
    counts = retention.run(later)
    assert counts["patients"] == 5  # p1, p2, p4, p5 and the other district's patient; p3 is still active
    assert db.session.scalar(db.select(db.func.count(Patient.id)).where(Patient.anonymised_at.is_not(None))) == 5

    db.session.expire_all()
    assert _counted(closed_days, s.now) == counted_before
    after = _figures(s)
    assert after["today names"] == [retention.NAME_REPLACED] and before["today names"] == ["Bina Home"]
    for key in ("today names", "week names"):
        del before[key], after[key]
    assert after == before, list(_diff(before, after))[:5]
    assert before["today"]["breaches"]["open"] and before["week"]["trend"]


def _diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in set(a) | set(b):
            yield from _diff(a.get(k), b.get(k), f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _diff(x, y, f"{path}[{i}]")
    elif a != b:
        yield path, a, b
