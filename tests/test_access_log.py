"""The web server's request lines carry no check-in token, phone number or search term."""
import logging

from callcenter.access_log import RequestLinePrivacy


def _line(logger_name, msg, *args):
    record = logging.LogRecord(logger_name, logging.INFO, __file__, 1, msg, args, None)
    RequestLinePrivacy().filter(record)
    return record.getMessage()


def test_a_link_token_and_a_query_are_masked(app):
    line = _line("werkzeug", '%s - - [%s] "%s" %s %s', "127.0.0.1", "04/Dec/2026 22:00:00",
                 "GET /c/QK7iHoBoSvuT8MNW HTTP/1.1", "200", "-")
    assert "QK7iHoBoSvuT8MNW" not in line and "GET /c/… HTTP/1.1" in line
    line = _line("gunicorn.access", '%s "%s"', "10.0.0.1", "GET /patients/?q=98260+12345 HTTP/1.1")
    assert "98260" not in line and "GET /patients/?… HTTP/1.1" in line
    assert _line("werkzeug", '"%s" %s', "GET /dashboard/ HTTP/1.1", "200") == '"GET /dashboard/ HTTP/1.1" 200'


def test_a_provider_callbacks_secret_and_its_callers_number_are_masked(app):
    line = _line("gunicorn.access", '%s "%s"', "10.0.0.1",
                 "GET /exotel/s3cr3t-Callback-Key/missed?CallFrom=09826012345&CallSid=abc HTTP/1.1")
    assert "s3cr3t" not in line and "98260" not in line and '"GET /exotel/…/missed?… HTTP/1.1"' in line


def test_the_app_puts_the_filter_on_both_servers_loggers(app):
    for name in ("werkzeug", "gunicorn.access"):
        assert any(isinstance(f, RequestLinePrivacy) for f in logging.getLogger(name).filters)
