"""Fixtures: one app per test session on a real database, emptied after every test.

SQLite (a temporary file) by default; PostgreSQL when SAMPARK_TEST_DATABASE_URL is set, as .ci/run does.
"""
import calendar
import contextvars
import os
import re
import tempfile
import time
from datetime import timedelta

import flask_migrate
import pytest
from flask import current_app, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text

from callcenter import create_app
from callcenter.clock import utcnow
from callcenter.extensions import db, limiter
from callcenter.services.calls import queue
from callcenter.services.core import settings as app_settings
from config import database_url

from . import factories

PG_URL_ENV = "SAMPARK_TEST_DATABASE_URL"


def _database_uri(tmp_dir):
    url = os.environ.get(PG_URL_ENV)
    return database_url(url) if url else f"sqlite:///{os.path.join(tmp_dir, 'test.db')}"


@pytest.fixture(scope="session")
def app():
    with tempfile.TemporaryDirectory() as tmp_dir:
        app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=_database_uri(tmp_dir))
        with app.app_context():
            db.drop_all()
            db.create_all()
            # create_all builds the schema of the newest migration (tests/test_migrations.py holds them equal):
            # say so in alembic_version, as `flask db upgrade` would, so that /readyz finds it current.
            flask_migrate.stamp()
        yield app
        with app.app_context():
            db.session.remove()
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_database(app):
    """Each test runs in its own app context and leaves the tables empty."""
    with app.app_context():
        yield
        db.session.remove()
        _empty_tables()


def _empty_tables():
    # What the desk poll last recorded, per user id (shown.py): the next test's users reuse the ids.
    current_app.extensions.pop("sampark.poll_views", None)
    current_app.extensions.pop(app_settings.CACHE, None)  # the saved settings this process read (settings.py)
    current_app.extensions.pop(queue.RELEASED, None)  # when each district's stale claims were last released
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def is_postgres(app):
    return db.engine.dialect.name == "postgresql"


class IsolatedClient(FlaskClient):
    """Runs every request in its own app context, as in production.

    The test's own app context (pushed by _fresh_database) would otherwise be reused by each
    request, sharing `g`, the cached locale and the database session between requests.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():  # (not inside a redirect followed by the client)
            db.session.expire_all()  # the test's own session sees what the request wrote
        return response


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client, path="/login"):
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def two_factor_code(user):
    """The code the user's authenticator app shows now, for a step not used yet (a code is accepted once:
    signing the same user in again within 30 seconds takes the next step's code, which is accepted too)."""
    from callcenter.models import User
    from callcenter.services.core import two_factor
    user = db.session.get(User, user.id)
    db.session.refresh(user)
    now = utcnow()
    for offset in (0, 1, -1):
        at = now + timedelta(seconds=offset * two_factor.STEP_SECONDS)
        step = calendar.timegm(at.timetuple()) // two_factor.STEP_SECONDS
        if user.totp_last_step is None or step > user.totp_last_step:
            return two_factor.code_at(user.totp_secret, at)
    time.sleep(two_factor.STEP_SECONDS)  # three sign-ins of one user within a minute: wait for a new code
    return two_factor_code(user)


def sign_in(client, user, password=factories.PASSWORD):
    """Sign `client` in as `user` through the real forms: the password, then the code where the user has
    two-factor sign-in. Returns the last response (a redirect to where the user lands)."""
    response = client.post("/login", data={"username": user.username, "password": password,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)
    if response.headers["Location"].endswith("/login/code"):
        response = client.post("/login/code", data={"code": two_factor_code(user),
                                                     "csrf_token": csrf_token(client, "/login/code")})
        assert response.status_code == 302, response.get_data(as_text=True)
    return response


@pytest.fixture
def login(client):
    """login(user) signs the test client in through the real sign-in form (and the code step)."""
    def _login(user, password=factories.PASSWORD):
        sign_in(client, user, password)
        return client
    return _login


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    """The limiter's counts (memory:// in tests) start from nothing in each test, as the database does."""
    yield
    limiter.reset()


@pytest.fixture
def district():
    return factories.make_district()
