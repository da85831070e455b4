"""Shell commands: `flask --app app create-user …`, `seed-demo`."""
import click
from flask import current_app
from flask.cli import with_appcontext

from .services.errors import ServiceError


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
    from .services import accounts
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
    from .demo import DEMO_USERS
    for username, role, _name in DEMO_USERS:
        click.echo(f"  {username:<12} {role}")


@click.command("make-call-lists")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to build (default: today in the call centre's time zone).")
@with_appcontext
def make_call_lists_command(day):
    """Build a day's call list now (idempotent: a second run creates nothing)."""
    from jobs import runner
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    click.echo("Scheduler running; Ctrl+C stops it.")
    scheduler.run_forever(current_app._get_current_object())


def register(app):
    for command in (create_user_command, seed_demo_command, make_call_lists_command, scheduler_command):
        app.cli.add_command(command)
