"""Browser-test fixtures: the real app served over HTTP, driven by Debian's Chromium through Playwright.

The server runs the session's `app` (config.TestConfig, CSRF on) against the same database the other
tests use, so the page sees what tests/factories.py builds and the autouse `_fresh_database` fixture
empties it afterwards. Screenshots of every step go to test-artifacts/<test name>/.
"""
import os
import re
import threading
from pathlib import Path

import pytest
from flask import got_request_exception
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 10_000


def _unavailable(reason):
    """Without a browser, fail on CI (the test must run there) and skip on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; browser tests are required when CI is set.", pytrace=False)
    pytest.skip(reason)


def _whole_bodies(app):
    """The app's answers read whole (and their files closed) before werkzeug writes them. A browser that drops
    a connection mid-file (a page it leaves while a script loads) makes werkzeug's server give up on the
    answer without closing it: the open static file then fails a later test with a ResourceWarning."""
    def serve(environ, start_response):
        answer = app(environ, start_response)
        try:
            return [b"".join(answer)]
        finally:
            if hasattr(answer, "close"):
                answer.close()
    return serve


class LiveServer:
    """The app served by werkzeug on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app):
        self.app = app
        self.errors = []  # exceptions raised while handling the browser's requests
        self._server = make_server("127.0.0.1", 0, _whole_bodies(app), threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)

    def url(self, path="/"):
        return self.base_url + path

    def _record_error(self, sender, exception, **extra):
        self.errors.append(exception)

    def start(self):
        got_request_exception.connect(self._record_error, self.app)
        self._thread.start()

    def stop(self):
        self._server.shutdown()      # ends serve_forever()
        self._thread.join(timeout=10)
        self._server.server_close()  # closes the listening socket
        got_request_exception.disconnect(self._record_error, self.app)
        assert not self._thread.is_alive(), "the live server did not stop"


@pytest.fixture(scope="session")
def live_server(app):
    assert app.config.get("WTF_CSRF_ENABLED", True), "browser tests must run with CSRF protection on"
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the test item, so `page` can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(request, browser, live_server):
    """A fresh browser profile (no cookies) per test; a screenshot is kept if the test fails."""
    from playwright.sync_api import expect
    expect.set_options(timeout=TIMEOUT_MS)
    live_server.errors.clear()
    context = browser.new_context(base_url=live_server.base_url, locale="en-IN",
                                  viewport={"width": 1366, "height": 768})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    try:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed and not page.is_closed():
            page.screenshot(path=_artifact_dir(request.node) / "failure.png", full_page=True)
    finally:
        context.close()
    assert not live_server.errors, f"the app raised while serving the browser: {live_server.errors!r}"


def _artifact_dir(node):
    path = ARTIFACTS / re.sub(r"[^\w.-]+", "_", node.name)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def screenshot(request, page):
    """screenshot("name") saves the whole page as test-artifacts/<test>/NN-name.png."""
    folder = _artifact_dir(request.node)
    for old in folder.glob("*.png"):
        old.unlink()
    count = iter(range(1, 100))

    def _shot(name):
        path = folder / f"{next(count):02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        return path
    return _shot


def sign_in(page, user, password=None, start="/"):
    """Sign `user` in through the sign-in form, starting from a page that sends strangers to it; a user with
    two-factor sign-in then types the code their app shows (computed here from the secret, as the app does)."""
    from playwright.sync_api import expect

    from .. import factories
    from ..conftest import two_factor_code
    page.goto(start)
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password or factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if user.two_factor_enabled:
        expect(page).to_have_url(re.compile(r"/login/code$"))
        page.get_by_label("Code").fill(two_factor_code(user))
        page.get_by_role("button", name="Continue").click()
        expect(page).not_to_have_url(re.compile(r"/login"))
