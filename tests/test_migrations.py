"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text

from callcenter import create_app
from callcenter.extensions import db
from config import database_url


@pytest.fixture
def empty_database_url(tmp_path):
    pg = os.environ.get("SAMPARK_TEST_DATABASE_URL")
    if not pg:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"sampark_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url(pg), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield database_url(pg).rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_matches_models_and_downgrade_is_clean(empty_database_url):
    app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        try:
            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"
            if db.engine.dialect.name == "postgresql":  # what create_all adds beside the tables, the migrations too
                with db.engine.connect() as conn:
                    functions = set(conn.scalars(text("SELECT proname FROM pg_proc WHERE proname LIKE 'audit_%'")))
                assert functions >= {"audit_chain_append", "audit_log_guard", "audit_subject_guard"}
            downgrade(revision="base")
            with db.engine.connect() as conn:
                tables = set(db.inspect(conn).get_table_names()) - {"alembic_version"}
            assert tables == set()
        finally:
            db.engine.dispose()  # also when an assertion fails: no connection left to the dropped database
