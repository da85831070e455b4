"""Every figure of the dashboard against a day built for the test."""
from datetime import timedelta

from callcenter.services.dashboard import geography as dashboard_geography
from callcenter.services.dashboard import overview as dashboard
from callcenter.services.dashboard import people as dashboard_people
from callcenter.services.dashboard import summary as dashboard_summary
from callcenter.services.dashboard import trends as dashboard_trends
from callcenter.services.dashboard.overview import Filters

from .. import factories
from . import scenario


def test_today_at_a_glance():
    s = scenario.build()
    fig = dashboard.overview(s.officer, Filters.today(s.now), s.now)
    assert fig["tasks"] == {"due": 4, "done": 1, "pending": 2, "overdue": 1, "unreachable": 1, "missed": 0,
                            "unreachable_patients": 1}
    assert fig["calls"] == {"attempted": 3, "connected": 1, "reach_rate": 33.3}
    assert fig["checkins"] == 2
    assert fig["needs"] == {"medicine": 1, "oxygen": 1}
    assert fig["open_escalations"] == {
        "ambulance": {"lt1h": 1, "1to4h": 0, "4to24h": 0, "gt24h": 0, "total": 1},
        "medicine": {"lt1h": 0, "1to4h": 0, "4to24h": 1, "gt24h": 0, "total": 1}}
    assert fig["escalations_raised"] == 3 and fig["breaches"] == 1
    assert fig["active"] == {"hospital": 1, "ccc": 1, "home": 2} and fig["active_total"] == 4
    assert fig["new_patients"] == 3 and fig["discharges"] == 1


def test_state_level_sees_both_districts_and_district_filter_narrows():
    s = scenario.build()
    admin = factories.make_user("admin")
    everything = dashboard.overview(admin, Filters.today(s.now), s.now)
    assert everything["calls"]["attempted"] == 4 and everything["breaches"] == 2
    only_b = dashboard.overview(admin, Filters.today(s.now, district_id=s.b.id), s.now)
    assert only_b["calls"] == {"attempted": 1, "connected": 1, "reach_rate": 100.0}
    assert only_b["active_total"] == 1 and only_b["tasks"]["due"] == 1


def test_officer_of_another_district_sees_nothing_of_this_one():
    s = scenario.build()
    other = factories.make_user("nodal_officer", s.b)
    fig = dashboard.overview(other, Filters.today(s.now, district_id=s.a.id), s.now)  # a forged filter
    assert fig["tasks"]["due"] == 0 and fig["active_total"] == 0 and fig["calls"]["attempted"] == 0
    assert fig["open_escalations"] == {} and fig["checkins"] == 0
    _, rows, total = dashboard.list_page("patients", other, Filters.today(s.now, district_id=s.a.id))
    assert total == 0


def test_setting_block_and_facility_filters():
    s = scenario.build()
    f = Filters.today(s.now)
    home = dashboard.overview(s.officer, f.with_(setting="home"), s.now)
    assert home["tasks"]["due"] == 2 and home["active_total"] == 2 and home["calls"]["attempted"] == 1
    block = dashboard.overview(s.officer, f.with_(block_id=s.village.block_id), s.now)
    assert block["active_total"] == 3  # p1, p2, p4 live in the village
    assert block["calls"]["attempted"] == 3 and block["checkins"] == 2
    ccc = factories.facility(s.a, "ccc")
    fac = dashboard.overview(s.officer, f.with_(facility_id=ccc.id), s.now)
    assert fac["active_total"] == 1 and fac["tasks"]["pending"] == 1


def test_date_range_counts_yesterday_too():
    s = scenario.build()
    f = Filters.today(s.now)
    two_days = f.with_(date_from=f.date_to - timedelta(days=1))
    assert dashboard.overview(s.officer, two_days, s.now)["checkins"] == 3


def test_each_list_matches_its_number():
    s = scenario.build()
    f = Filters.today(s.now)
    fig = dashboard.overview(s.officer, f, s.now)
    for which in ("due", "done", "pending", "overdue"):
        _, _, total = dashboard.list_page("tasks", s.officer, f, which=which, now=s.now)
        assert total == fig["tasks"][which], which
    cols, rows, total = dashboard.list_page("patients", s.officer, f, which="unreachable", now=s.now)
    assert [r[cols.index("name")] for r in rows] == ["Dev Hospital"]
    assert dashboard.list_page("patients", s.officer, f, which="need", sub="oxygen")[2] == 1
    assert dashboard.list_page("patients", s.officer, f, which="discharged")[2] == 1
    assert dashboard.list_page("patients", s.officer, f, which="new")[2] == 3
    cols, rows, _ = dashboard.list_page("escalations", s.officer, f, which="breach", now=s.now)
    assert [r[cols.index("id")] for r in rows] == [s.e[0].id]
    assert dashboard.list_page("escalations", s.officer, f, which="open", sub="medicine", age="4to24h",
                               now=s.now)[2] == 1
    assert dashboard.list_page("checkins", s.officer, f)[2] == 2
    assert dashboard.list_page("calls", s.officer, f, which="connected")[2] == 1


def test_people_tables():
    s = scenario.build()
    f = Filters.today(s.now)
    rows = {r["username"]: r for r in dashboard_people.volunteers_table(s.officer, f, s.now)}
    v = rows[s.vol.username]
    assert (v["calls_today"], v["connected_today"], v["raised_today"], v["calls_week"]) == (2, 1, 2, 2)
    assert v["aht_today"] == 180  # (4 min + 2 min) / 2
    assert rows[s.vol2.username]["aht_today"] is None  # no start time recorded
    desks = {d["desk"]: d for d in dashboard_people.desks_table(s.officer, f)}
    assert desks["control_room"] == {"desk": "control_room", "handled": 1, "open": 2, "median_ack": 240,
                                     "median_resolve": 3600}


def test_trends_and_breakdowns():
    s = scenario.build()
    f = Filters.today(s.now)
    trend = dashboard_trends.trends(s.officer, f, s.now)
    assert len(trend) == 14 and trend[-1]["day"] == f.date_to
    assert (trend[-1]["calls"], trend[-1]["connected"], trend[-1]["escalations"]) == (3, 1, 3)
    assert trend[-1]["active"] == {"hospital": 1, "ccc": 1, "home": 2}
    # Yesterday: p1–p3 did not exist yet, p5 (home) was still active.
    assert trend[-2]["active"] == {"hospital": 1, "ccc": 0, "home": 1}
    geo = dashboard_geography.geography(s.officer, f, s.now)
    assert geo["blocks"][0]["active"] == 3 and geo["blocks"][0]["unreachable"] == 1
    village = geo["villages"][0]
    assert (village["active"], village["open_needs"], village["unreachable"]) == (3, 2, 1)
    assert village["contacts"][0].name == "Ramesh Sarpanch"
    fac = {r["kind"]: r["active"] for r in dashboard_geography.facilities(s.officer, f)}
    assert fac == {"ccc": 1, "hospital": 1}


def test_daily_summary_by_sex_block_and_setting():
    s = scenario.build()
    summary = dashboard_summary.daily_summary(s.officer, Filters.today(s.now), s.now)
    assert summary["sex"]["male"]["active"] == 1 and summary["sex"]["female"]["active"] == 3
    assert summary["sex"]["male"]["calls"] == 2 and summary["sex"]["female"]["connected"] == 1
    assert summary["setting"]["home"]["checkins"] == 2 and summary["setting"]["home"]["discharged"] == 1
    block = summary["block"][s.village.block.name]
    assert block["unreachable"] == 1 and block["escalations"] == 3
