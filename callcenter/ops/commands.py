"""Operators' commands: `flask backup`, `flask restore-drill` (bin/restore-drill), `flask check-integrity`.
See docs/DEPLOY.md, "Backups and the restore drill"."""
import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..services.core import integrity


def _postgres_url():
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        raise click.ClickException("Backups and the restore drill are for PostgreSQL (DATABASE_URL); "
                                   "a SQLite file is backed up by copying it while nothing writes to it.")
    return url


def _fail_on(found, what):
    for line in found:
        click.echo(f"  ✗ {line}", err=True)
    if found:
        raise click.ClickException(f"{what}: {len(found)} problem(s), listed above.")


@click.command("check-integrity")
@click.option("--manifest", "manifest_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A backup's manifest (DUMP.manifest.json): row counts and the audit trail must match it.")
@with_appcontext
def check_integrity_command(manifest_file):
    """Check this database: migrations current, every foreign key resolves, the audit trail intact (and, with
    --manifest, the same rows as the backup). Exits 1 on any problem."""
    expected = json.loads(manifest_file.read_text(encoding="utf-8")) if manifest_file else None
    with db.engine.connect() as conn:
        found = integrity.problems(conn, expected)
    _fail_on(found, "The database is not whole")
    click.echo("The database is whole: migrations current, every reference resolves, the audit trail intact"
               + (", rows as in the backup." if expected else "."))


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path):
    """pg_dump -Fc of DATABASE_URL into PATH, with PATH.manifest.json (for the restore drill)."""
    from . import backup
    try:
        found = backup.dump(_postgres_url(), path)
    except backup.DrillError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{path}: {sum(found['counts'].values())} rows in {len(found['counts'])} tables, "
               f"{found['audit']['rows']} audit rows; manifest {backup.manifest_path(path)}")


@click.command("restore-drill")
@click.option("--dump", "dump_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A backup made by `flask backup` (default: dump DATABASE_URL now).")
@click.option("--server", "server_url", default=None,
              help="A PostgreSQL URL whose user may create databases, for the scratch copy (default: DATABASE_URL).")
@with_appcontext
def restore_drill_command(dump_path, server_url):
    """Restore a backup into a new database, check it (check-integrity against its manifest), drop it."""
    from . import backup
    try:
        found = backup.drill(_postgres_url(), dump_path, server_url, report=click.echo)
    except backup.DrillError as exc:
        raise click.ClickException(str(exc)) from None
    _fail_on(found, "The restore drill failed")
    click.echo("The restore drill passed: the backup restores into a whole database.")


def register(app):
    for command in (check_integrity_command, backup_command, restore_drill_command):
        app.cli.add_command(command)
