"""Can the day's check-ins be sent inside the window at the configured rate? The sender warns in its log
and the outbox page says so when they cannot; the default rate covers 300,000 check-ins in 09:00–12:00."""
import logging
from datetime import datetime, timedelta

import pytest

from callcenter.clock import local_date, to_local, utcnow
from callcenter.services.outbox.enqueue import enqueue_daily_checkins
from callcenter.services.outbox.reads import DrainForecast, drain_forecast
from callcenter.services.outbox.sender import send_pending
from config import Config

from ..factories import make_patient, make_user
from .outbox_helpers import DAY, NOW, FakeClock, FakeGateway, at, config  # noqa: F401  (config: a fixture)


def test_the_default_rate_sends_300000_check_ins_in_the_window():
    window = (datetime.strptime(Config.CHECKIN_WINDOW_END, "%H:%M")
              - datetime.strptime(Config.CHECKIN_WINDOW_START, "%H:%M")).total_seconds()
    assert window == 3 * 3600
    forecast = DrainForecast(queued=300_000, rate=Config.OUTBOX_RATE_PER_SECOND, seconds_left=window,
                                    configured_rate=Config.OUTBOX_RATE_PER_SECOND)
    assert not forecast.behind and forecast.rate_needed == 28
    old_default = DrainForecast(queued=300_000, rate=10, seconds_left=window, configured_rate=10)
    assert old_default.behind and old_default.minutes_needed == 500


def test_the_forecast_follows_the_window_and_the_rate(district, config):  # noqa: F811
    for _ in range(3):
        make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    config["OUTBOX_RATE_PER_SECOND"] = 30
    forecast = drain_forecast(NOW)
    assert (forecast.queued, forecast.rate, forecast.seconds_left, forecast.behind) == (3, 30, 3 * 3600, False)
    config["OUTBOX_RATE_PER_SECOND"] = 0.0002  # one message every 83 minutes: three need over four hours
    forecast = drain_forecast(NOW + timedelta(hours=1))
    assert forecast.behind and forecast.minutes_left == 120 and forecast.rate_needed == 1
    # What a pass achieved bounds the configured rate (the provider's answer time).
    config["OUTBOX_RATE_PER_SECOND"] = 30
    assert drain_forecast(NOW, achieved=0.0001).rate == 0.0001
    assert drain_forecast(NOW + timedelta(hours=3)) is None  # the window has closed


def test_the_sender_warns_when_the_queue_cannot_drain(district, config, caplog):  # noqa: F811
    config["OUTBOX_RATE_PER_SECOND"] = 1
    for _ in range(5):
        make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    clock = FakeClock()
    with caplog.at_level(logging.WARNING, logger="callcenter.services.outbox.reads"):
        # A second before the window closes, a pass of two seconds sends three: two are left, needing 2 s.
        counts = send_pending(FakeGateway(clock), clock=clock, now_fn=at(minutes=179, seconds=59),
                                     max_seconds=2, exclusive=False)
    assert counts["sent"] == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("2 messages waiting" in w and "Raise OUTBOX_RATE_PER_SECOND to at least" in w for w in warnings)


def test_no_warning_when_the_queue_drains(district, config, caplog):  # noqa: F811
    config["OUTBOX_RATE_PER_SECOND"] = 1
    for _ in range(2):
        make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    clock = FakeClock()
    with caplog.at_level(logging.WARNING, logger="callcenter.services.outbox.reads"):
        counts = send_pending(FakeGateway(clock), clock=clock, now_fn=at(), exclusive=False)
    assert counts["sent"] == 2
    assert not [r for r in caplog.records if "OUTBOX_RATE_PER_SECOND" in r.getMessage()]


@pytest.fixture
def window_now(config):  # noqa: F811
    """Today's check-in window around the present moment (the outbox page reads the real clock)."""
    local = to_local(utcnow())
    config["CHECKIN_WINDOW_START"] = (local - timedelta(minutes=30)).strftime("%H:%M")
    config["CHECKIN_WINDOW_END"] = (local + timedelta(minutes=90)).strftime("%H:%M")
    return config


def test_the_outbox_page_says_when_the_queue_cannot_drain(client, login, district, window_now):
    for _ in range(3):
        make_patient(district)
    enqueue_daily_checkins(local_date(), now=utcnow())
    login(make_user("nodal_officer", district))
    window_now["OUTBOX_RATE_PER_SECOND"] = 0.0001
    html = client.get("/outbox").get_data(as_text=True)
    assert "The check-ins cannot all be sent in today" in html and 'id="outbox-behind"' in html
    assert "3 messages are waiting" in html and "raise OUTBOX_RATE_PER_SECOND to at least 1" in html
    window_now["OUTBOX_RATE_PER_SECOND"] = 30
    html = client.get("/outbox").get_data(as_text=True)
    assert 'id="outbox-behind"' not in html
    assert "3 messages waiting: about 1 minutes at 30 a second" in html
