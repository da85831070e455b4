"""Security headers on every response (callcenter/security_headers.py), and templates that need no inline script."""
import re
from pathlib import Path

from callcenter import create_app
from callcenter.extensions import db

from . import factories
from .conftest import IsolatedClient

TEMPLATES = Path(__file__).resolve().parents[1] / "callcenter" / "templates"


def directives(response):
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in policy.split(";")) if d}


def assert_protected(response):
    csp = directives(response)
    assert csp["script-src"] == ["'self'"]            # no inline script, no eval, no other site
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"] and csp["default-src"] == ["'self'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_sign_in_page_carries_every_header_and_is_not_stored(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert_protected(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP in tests


def test_pages_with_patients_json_exports_and_errors_are_not_stored(client, login, district):
    factories.make_patient(district, name="Sunita Sahu")
    login(factories.make_user("admin"))
    for path in ("/patients/?q=Sunita", "/dashboard/", "/dashboard/figures.json", "/queue/counts.json",
                 "/dashboard/export/patients.csv", "/patients/2147483647", "/no-such-page"):
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert_protected(response)
        assert response.headers["Cache-Control"] == "no-store", path


def test_the_api_and_the_patients_check_in_link_carry_the_headers(client):
    for response in (client.get("/api/v1/patients"), client.get("/c/not-a-token"),
                     client.post("/api/v1/auth/token", json={"username": "x", "password": "y"})):
        assert_protected(response)
        assert response.headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached_but_are_not_sniffed(client):
    for path in ("/static/sampark.css", "/static/page-actions.js"):
        response = client.get(path)
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        response.close()


def test_hsts_when_cookies_are_secure(app):
    secure = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                        SESSION_COOKIE_SECURE=True)
    try:
        response = IsolatedClient(secure, secure.response_class).get("/login")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert_protected(response)
    finally:
        with secure.app_context():
            db.session.remove()


# ── Templates: nothing the policy would block ─────────────────────────────────────────────────────────

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
HANDLER = re.compile(r"""<[a-z][^>]*?\son[a-z]+\s*=""", re.I | re.S)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.I)


def test_no_template_has_inline_script_or_event_handler_attributes():
    problems = []
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 40
    for path in templates:
        html = path.read_text(encoding="utf-8")
        name = path.relative_to(TEMPLATES)
        for match in SCRIPT_TAG.finditer(html):
            attrs = match.group(1)
            if "src=" not in attrs and 'type="application/json"' not in attrs:
                problems.append(f"{name}: inline <script{attrs}>")
        problems += [f"{name}: on…= handler {m.group(0)[-40:]!r}" for m in HANDLER.finditer(html)]
        problems += [f"{name}: javascript: URL" for _ in JS_URL.finditer(html)]
    assert not problems, "\n".join(problems)


def test_the_print_button_and_the_district_choice_work_from_static_javascript(client, login, district):
    login(factories.make_user("admin"))
    report = client.get("/dashboard/report").get_data(as_text=True)
    assert "data-print" in report and "/static/page-actions.js" in report and "onclick" not in report
    factories.make_district()  # two districts: the villages page offers the choice
    villages = client.get("/villages/").get_data(as_text=True)
    assert "data-autosubmit" in villages and "/static/page-actions.js" in villages and "onchange" not in villages
