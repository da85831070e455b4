"""The audit log: `flask --app app audit verify`, which walks the hash chain."""
import sys

import click
from flask import Blueprint
from flask.cli import AppGroup

from ..services.core import audit_verify

bp = Blueprint("audit", __name__, url_prefix="/audit", cli_group=None)


# --- the chain, from the shell ---------------------------------------------------------------------------

audit_cli = AppGroup("audit", help="The audit log's hash chain.")


@audit_cli.command("verify")
@click.option("--start-hash", default=None,
              help="The head (hash) of the last archived month, when older rows were archived (docs/AUDIT.md).")
@click.option("--batch", default=audit_verify.BATCH, show_default=True, help="Rows read at a time.")
def verify_command(start_hash, batch):
    """Walk the chain; name the first row edited or missing. Exit code 1 when the chain is broken."""
    verdict = audit_verify.verify(start_hash=start_hash, batch=batch)
    if verdict.ok:
        click.echo(f"audit chain intact: {verdict.checked} rows; head seq {verdict.head_seq} hash {verdict.head_hash}")
        return
    click.echo(f"audit chain BROKEN at audit_log id {verdict.row_id}: {verdict.problem} "
               f"({verdict.checked} rows intact before it; last good seq {verdict.head_seq})", err=True)
    sys.exit(1)


bp.cli.add_command(audit_cli)
