"""Backups with pg_dump and the restore drill with pg_restore (PostgreSQL only; docs/DEPLOY.md).

`dump` writes a custom-format dump (pg_dump -Fc) and beside it a manifest (services/core/integrity.py): rows
per table and the audit trail, read in the very snapshot pg_dump saves (pg_export_snapshot), so a busy
database's manifest matches its dump exactly. `drill` restores a dump into a new, scratch database, runs the
integrity checks against the manifest, and drops the scratch database whatever happened.
Passwords go to pg_dump and pg_restore in PGPASSWORD, never on their command line.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ..services.core import integrity

TOOLS = ("pg_dump", "pg_restore")


class DrillError(Exception):
    """A step of a backup or a drill could not be done (a tool missing, pg_restore failed)."""


def manifest_path(dump_path):
    return Path(f"{dump_path}.manifest.json")


def _libpq(url):
    """(a libpq URL without the password, an environment carrying it) for pg_dump and pg_restore."""
    url = make_url(url).set(drivername="postgresql")
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    return url.set(password=None).render_as_string(hide_password=False), env


def _run(args, env):
    missing = [tool for tool in TOOLS if args[0] == tool and shutil.which(tool) is None]
    if missing:
        raise DrillError(f"{missing[0]} is not installed (Debian: postgresql-client)")
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode:
        raise DrillError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _engine(url, **options):
    return create_engine(make_url(url).set(drivername="postgresql+psycopg"), **options)


def dump(url, path):
    """pg_dump -Fc of the database at `url` into `path`, and its manifest beside it. Returns the manifest."""
    engine = _engine(url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            target, env = _libpq(url)
            _run(["pg_dump", "-Fc", "--no-owner", f"--snapshot={snapshot}", "-f", str(path), "-d", target], env)
            found = integrity.manifest(conn)  # the same snapshot: what the dump holds
    finally:
        engine.dispose()
    manifest_path(path).write_text(json.dumps(found, indent=1, sort_keys=True), encoding="utf-8")
    return found


def restore(path, url):
    """pg_restore into an empty database, all or nothing."""
    target, env = _libpq(url)
    _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          "-d", target, str(path)], env)


@contextmanager
def scratch_database(server_url, prefix="sampark_drill"):
    """A new, empty database on the server of `server_url` (whose user may CREATE DATABASE); its URL. Dropped on
    leaving, even after a failure."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = _engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def check(url, expected=None):
    """integrity.problems on the database at `url`."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return integrity.problems(conn, expected)
    finally:
        engine.dispose()


def drill(source_url, dump_path=None, server_url=None, report=print):
    """The restore drill. Without `dump_path`, a fresh dump of `source_url` is made (and removed); with one, its
    manifest is read from beside it (without a manifest the counts cannot be compared: said so). The scratch
    database goes on `server_url`'s server (default: the source's). Returns the problems found (empty: passed).
    """
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sampark-drill-") as tmp:
        if dump_path is None:
            dump_path = Path(tmp) / "drill.dump"
            report("dumping the database (pg_dump -Fc) …")
            expected = dump(source_url, dump_path)
        elif manifest_path(dump_path).exists():
            expected = json.loads(manifest_path(dump_path).read_text(encoding="utf-8"))
        else:
            expected = None
            report(f"no manifest beside {dump_path}: row counts and the audit trail are not compared")
        with scratch_database(server_url or source_url) as scratch:
            report(f"restoring into the scratch database {make_url(scratch).database} (pg_restore) …")
            restore(dump_path, scratch)
            report("checking the restored copy …")
            found = check(scratch, expected)
    if expected is not None:
        report(f"{sum(expected['counts'].values())} rows in {len(expected['counts'])} tables, "
               f"{expected['audit']['rows']} audit rows compared")
    report(f"took {time.monotonic() - started:.1f} s; the scratch database is dropped")
    return found
