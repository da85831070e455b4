"""Shell commands: `flask --app app create-user …`, `seed-demo`, `import-patients`."""
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .services.core.errors import ServiceError


@click.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(
    ["volunteer", "control_room", "doctor", "counsellor", "nodal_officer", "admin"]))
@click.option("--district", "district_name", default=None, help="District name; leave out for state level.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--full-name", default="")
@with_appcontext
def create_user_command(username, role, district_name, password, full_name):
    """Create a user who can sign in."""
    from .services.core import accounts
    try:
        user = accounts.create_user(username, role, password, district_name=district_name, full_name=full_name)
    except ServiceError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
        raise click.ClickException(f"{exc.message} {details}".strip()) from None
    click.echo(f"Created {user.username} ({user.role}, {user.district.name if user.district else 'state level'}).")


@click.command("seed-demo")
@click.option("--patients", default=300, show_default=True)
@with_appcontext
def seed_demo_command(patients):
    """Create a demo district with patients, a user per role and today's calls; print the logins."""
    from .demo import DEMO_PASSWORD, seed
    created = seed(patients)
    click.echo("Demo data created." if created else "Demo data already present; nothing changed.")
    click.echo(f"Sign in at {current_app.config['PUBLIC_URL']} with any of "
               f"these usernames, password '{DEMO_PASSWORD}':")
    from .demo import login_lines
    for line in login_lines(current_app.config["TWO_FACTOR_REQUIRED_ROLES"]):
        click.echo(line)


def interrupt_on_sigterm():
    """SIGTERM (a `kill`, a container stopping) interrupts a CLI job like Ctrl+C does, so its run is recorded as
    stopped instead of staying 'running' (jobs/runner.py). SIGKILL cannot be caught: the scheduler sweeps those."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@click.command("make-call-lists")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to build (default: today in the call centre's time zone).")
@with_appcontext
def make_call_lists_command(day):
    """Build a day's call list now (idempotent: a second run creates nothing)."""
    from jobs import runner
    interrupt_on_sigterm()
    run = runner.run("daily_call_list", trigger="cli", day=day.date() if day else None)
    if run.status != "succeeded":
        raise click.ClickException(f"The call list was not built: {run.error}")
    click.echo(f"Call list for {run.details['day']}: {run.rows} tasks created, "
               f"{run.details['missed']} earlier tasks closed as missed.")


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Run the scheduled jobs (daily call lists, discharge reviews) until stopped."""
    import logging

    from jobs import scheduler

    from .ops import metrics
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    metrics.serve_scheduler(current_app)  # its jobs' metrics, when METRICS_ENABLED (docs/DEPLOY.md)
    click.echo("Scheduler running; Ctrl+C stops it.")
    scheduler.run_forever(current_app._get_current_object())


@click.command("send-outbox")
@click.option("--max-seconds", type=float, default=None, help="Stop after this long (default: when nothing is due).")
@with_appcontext
def send_outbox_command(max_seconds):
    """One pass of the outbox sender: hand every due SMS and IVR call to the provider (rate-limited)."""
    from jobs import runner
    interrupt_on_sigterm()
    run = runner.run("outbox_sender", trigger="cli", max_seconds=max_seconds)
    if run.status != "succeeded":
        raise click.ClickException(f"The outbox pass failed: {run.error}")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(run.details.items()) if k != "handed") or "nothing due"
    click.echo(f"Outbox: {run.rows} handed to the provider ({counts}).")


@click.command("retention")
@click.option("--dry-run", is_flag=True, help="Say what would be anonymised or deleted (counts); change nothing.")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="The limit in days (default: the retention_days setting).")
@with_appcontext
def retention_command(dry_run, days):
    """Anonymise patients whose follow-up ended more than the retention limit ago and delete messages and
    import rows older than it (what the nightly job does), or with --dry-run only count them."""
    from jobs import runner

    from .services.records import retention
    days = days or retention.retention_days()
    if dry_run:
        counts = retention.plan(days=days)
        click.echo(f"Dry run, nothing changed. Past {days} days, a run would change or delete:")
    else:
        interrupt_on_sigterm()
        run = runner.run("retention", trigger="cli", days=days)
        if run.status != "succeeded":
            raise click.ClickException(f"The retention job did not finish: {run.error}")
        counts = {kind: run.details[kind] for kind in retention.KINDS}
        click.echo(f"Retention ({days} days): changed or deleted")
    for kind in retention.KINDS:
        click.echo(f"  {kind:<20} {counts[kind]:>10,}")


@click.command("import-patients")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would happen; save nothing.")
@click.option("--district", "district_name", default=None,
              help="The district the list is for (default: each row's District column says).")
@click.option("--map", "maps", multiple=True, metavar="HEADER=FIELD",
              help="What a column holds, when its header is not known (repeatable; remembered for the next file).")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the error report (default: FILE-errors.csv beside FILE).")
@with_appcontext
def import_patients_command(file, dry_run, district_name, maps, report):
    """Import a line list of positive patients (CSV or Excel .xlsx): new patients are added and queued for
    a call today, people already on record are updated, bad rows go to an error report."""
    from . import scope
    from .rules.linelist.headers import FIELDS, IGNORE
    from .services.intake import batches, imports, messages, reading, refusing, storage
    district_id = None
    if district_name:
        district = scope.district_named(district_name)
        if district is None:
            raise click.ClickException(f"No district named {district_name}.")
        district_id = district.id
    chosen = {}
    for item in maps:
        header, _sep, field = item.rpartition("=")
        if not header or field not in (*FIELDS, IGNORE):
            raise click.ClickException(f"--map {item!r}: write HEADER=FIELD, FIELD one of "
                                       f"{', '.join((*FIELDS, IGNORE))}.")
        chosen[header.strip()] = field
    user = refusing.shell_user(district_id)
    try:
        if chosen:
            reading.remember_mapping(chosen, user)
        batch = imports.import_line_list(storage.local_file(file), user, dry_run=dry_run, district_id=district_id,
                                         mapping=chosen or None, source="cli")
    except messages.NeedsMapping as exc:
        raise click.ClickException(_mapping_help(exc.inspection)) from None
    except ServiceError as exc:
        raise click.ClickException(str(exc.message)) from None
    click.echo(f"Import #{batch.id}: {batches.summary(batch)}")
    if getattr(batch, "tasks_created", 0):
        click.echo(f"{batch.tasks_created} calls added to today's queue.")
    for action, count in (("rejected", batch.rows_rejected), ("held", batch.rows_held)):
        if not count:
            continue
        rows, total = batches.batch_rows(batch, action, limit=20)
        for row, _name, _phone in rows:
            for error in row.errors:
                click.echo(f"  row {row.row_number}, {error['column'] or '-'} \"{error['value']}\": "
                           f"{messages.reason_text(error)}")
        if total > len(rows):
            click.echo(f"  … and {total - len(rows)} more {action} rows.")
    if batch.rows_rejected or batch.rows_held:
        report = report or file.with_name(f"{file.stem}-errors.csv")
        with open(report, "w", encoding="utf-8", newline="") as out:
            for chunk in batches.error_report(batch):
                out.write(chunk)
        click.echo(f"Error report (correct it and import it again): {report}")


def _mapping_help(inspection):
    from .rules.linelist.headers import FIELDS, IGNORE
    lines = ["Some columns must be matched to patient fields first (use --map \"HEADER=FIELD\"):"]
    lines += [f"  not known: {header!r}" for header in inspection.map.unknown]
    lines += [f"  {', '.join(map(repr, headers))} all hold {field}" for field, headers in
              inspection.map.duplicates.items()]
    lines += [f"  no column holds: {field}" for field in inspection.missing]
    lines.append(f"Fields: {', '.join((*FIELDS, IGNORE))}.")
    return "\n".join(lines)


@click.command("access-table")
@with_appcontext
def access_table_command():
    """Print who may use each route (the README's table), from the policies the routes declare."""
    from .auth.access import role_table
    click.echo(role_table(current_app))


@click.group("translate")
def translate_command():
    """The Hindi (and any other) catalogue: `update` after adding strings, then translate, then `compile`."""


def _pybabel(*args):
    """Babel's own command line, from the project's root; a failure stops the command with its exit code."""
    import os

    from babel.messages.frontend import CommandLineInterface
    cwd = os.getcwd()
    os.chdir(Path(__file__).resolve().parent.parent)
    try:
        code = CommandLineInterface().run(["pybabel", *args])
    finally:
        os.chdir(cwd)
    if code:
        raise click.ClickException(f"pybabel {args[0]} failed ({code})")


@translate_command.command("update")
def translate_update():
    """Extract every marked string and add the new ones to each catalogue (callcenter/translations)."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        template = str(Path(tmp) / "messages.pot")
        # The keywords besides Babel's defaults; tests/test_translations.py extracts with the same.
        _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "-o", template, ".")
        _pybabel("update", "-i", template, "-d", "callcenter/translations")


@translate_command.command("compile")
def translate_compile():
    """Compile the catalogues into the .mo files the app reads (bin/start and bin/test do this too)."""
    _pybabel("compile", "-d", "callcenter/translations", "--statistics")


def register(app):
    for command in (create_user_command, seed_demo_command, make_call_lists_command, scheduler_command,
                    send_outbox_command, access_table_command, translate_command, retention_command):
        app.cli.add_command(command)
    app.cli.add_command(import_patients_command)
