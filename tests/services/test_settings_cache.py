"""The saved settings are read once per SETTINGS_CACHE_SECONDS per process (issue 20: the call loop asked for them
on every request): a change made here holds at once, one made by another process within the interval."""
import time

from flask import current_app, g
from sqlalchemy import event, text

from callcenter.extensions import db
from callcenter.services.core import settings

from ..factories import make_user


def _reads():
    seen = []
    listener = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    return seen, lambda: event.remove(db.engine, "before_cursor_execute", listener)


def _new_request():
    g.pop("sampark_settings", None)


def test_settings_are_read_once_per_interval_not_per_request():
    settings.get("fever_f")
    seen, stop = _reads()
    try:
        for _ in range(3):
            _new_request()
            settings.get("fever_f")
    finally:
        stop()
    assert not [s for s in seen if "app_setting" in s]


def test_a_change_made_in_this_process_holds_at_once():
    admin = make_user("admin", None)
    assert settings.get("high_risk_age") != 65
    settings.update({"high_risk_age": 65}, admin)
    _new_request()
    assert settings.get("high_risk_age") == 65


def test_a_change_made_by_another_process_holds_once_the_interval_has_passed():
    before = settings.get("high_risk_age")
    with db.engine.begin() as conn:  # another worker saving it
        conn.execute(text("INSERT INTO app_setting (key, value, updated_at) VALUES ('high_risk_age', '70', :now)"),
                     {"now": "2026-12-05 10:00:00"})
    _new_request()
    assert settings.get("high_risk_age") == before  # within the interval: the value this process read
    read_at, saved = current_app.extensions[settings.CACHE]
    current_app.extensions[settings.CACHE] = (read_at - current_app.config["SETTINGS_CACHE_SECONDS"], saved)
    _new_request()
    assert settings.get("high_risk_age") == 70


def test_an_update_compares_with_what_is_saved_now():
    """Another worker changed a setting a moment ago; setting it back here must save, not see "unchanged"."""
    admin = make_user("admin", None)
    original = settings.get("high_risk_age")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO app_setting (key, value, updated_at) VALUES ('high_risk_age', '70', :now)"),
                     {"now": "2026-12-05 10:00:00"})
    settings.update({"high_risk_age": original}, admin)
    db.session.commit()
    _new_request()
    assert settings.get("high_risk_age") == original
    assert db.session.scalar(text("SELECT value FROM app_setting WHERE key = 'high_risk_age'")) == str(original)


def test_zero_reads_on_every_request(app):
    app.config["SETTINGS_CACHE_SECONDS"] = 0
    try:
        settings.get("fever_f")
        time.sleep(0.001)
        seen, stop = _reads()
        try:
            _new_request()
            settings.get("fever_f")
        finally:
            stop()
        assert [s for s in seen if "app_setting" in s]
    finally:
        app.config["SETTINGS_CACHE_SECONDS"] = 5
