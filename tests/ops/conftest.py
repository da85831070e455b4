"""Databases of the operations tests' own: a new, empty one per test (a file on SQLite, a database on the
PostgreSQL server of SAMPARK_TEST_DATABASE_URL), dropped afterwards whatever happened."""
import os
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from callcenter import create_app
from callcenter.extensions import db
from config import database_url

PG = os.environ.get("SAMPARK_TEST_DATABASE_URL")


@contextmanager
def new_postgres_database(prefix="sampark_ops"):
    """A new, empty PostgreSQL database beside the test database; its URL (psycopg form). Dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url(PG), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield database_url(PG).rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def fresh_database_url(tmp_path):
    if not PG:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with new_postgres_database() as url:
        yield url


@pytest.fixture
def fresh_app(fresh_database_url):
    """An app on an empty database (nothing migrated), its engine closed at the end."""
    app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=fresh_database_url)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app():
    """make_app(**settings): another app (config.TestConfig plus settings); their engines closed at the end."""
    made = []

    def _make(**settings):
        made.append(create_app("config.TestConfig", **settings))
        return made[-1]
    yield _make
    for app in made:
        with app.app_context():
            db.engine.dispose()
