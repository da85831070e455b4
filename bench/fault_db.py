"""The database restarted under load (bench/faults.py): volunteers work through one gunicorn instance while
the cluster is stopped with `pg_ctl -m immediate` (no shutdown checkpoint: the next start recovers from the
WAL, as after a power cut) and started again a few seconds later."""
import threading
import time
from datetime import timedelta

from flask_babel import force_locale

from callcenter.clock import utcnow
from callcenter.errors import SAVED_THEN_FAILED

from . import checks, databases, generate, instances, load, proctree, volunteers
from .cluster import Cluster

VOLUNTEERS = 50
DURATION = 45
RESTART_AT = 15
DOWN_SECONDS = 5


def saved_texts(url):
    """The app's answer when an entry was saved and a later step failed (callcenter/errors.py), in each language."""
    app = databases.make_app(url)
    texts = []
    with app.test_request_context():
        for language in app.config["LANGUAGES"]:
            with force_locale(language):
                texts.append(str(SAVED_THEN_FAILED))
    return texts


def run(pg: Cluster, active=None):
    active = active or 30_000
    template = pg.url(load.TEMPLATE)
    generate.generate(template, round(active * 10 / 3), active, log=lambda line: print(line, flush=True))
    url = load.copy_database(pg, template, load.DATABASE)
    usernames = load.prepare(url, VOLUNTEERS)
    instance = instances.start_instance(instances.app_env(url), workers=2, name="db-restart")
    restart = {}

    def restart_database():
        restart["at"] = time.monotonic()
        pg.restart(mode="immediate", down_seconds=DOWN_SECONDS)
        restart["up"] = time.monotonic()

    timer = None

    def on_start():
        nonlocal timer
        timer = threading.Timer(RESTART_AT, restart_database)
        timer.start()

    since = utcnow() - timedelta(seconds=1)
    try:
        record, seconds = volunteers.run(usernames, [instance.url], think=0.5, duration=DURATION, on_start=on_start,
                                         saved_texts=saved_texts(url))
        timer.join()
    finally:
        if timer is not None:
            timer.cancel()
        proctree.started().stop(instance.proc)
    figures = checks.check(url, since, record)
    after = [started for _u, _t, started, _s in record.claims if started > restart.get("up", float("inf"))]
    errors_during = sum(1 for at, _step, _what in record.timeline if at >= restart["at"])
    print(f"{VOLUNTEERS} volunteers for {seconds:.0f} s; PostgreSQL stopped (immediate) {RESTART_AT} s in, "
          f"down {restart['up'] - restart['at']:.1f} s (stop, {DOWN_SECONDS} s, start and recovery)")
    print(f"  claims {len(record.claims):,}; saves acknowledged {figures['attempts acknowledged']:,}; "
          f"attempts in the database {figures['attempts in database']:,}")
    print(f"  attempts lost (acknowledged, not in the database): {figures['attempts lost']}")
    print(f"  saved but never acknowledged (the volunteer gave up): {figures['saved, answer lost']}; "
          f"saves given up after {volunteers.SAVE_TRIES} tries: {len(record.unanswered)}")
    print(f"  saves answered with an error page saying it was saved (do not enter it again): "
          f"{record.error_said_saved}")
    print(f"  saves answered with an error not saying so, although recorded (the next try said \"already "
          f"saved\"): {record.saved_despite_error}")
    print(f"  duplicated: double holds {figures['double holds (task)']} (task), "
          f"{figures['double holds (patient)']} (patient); tasks attempted by two volunteers "
          f"{figures['tasks attempted by two volunteers']}")
    print(f"  errors seen by volunteers: {sum(record.errors.values())} ({errors_during} from the stop on)")
    for (step, what), count in sorted(record.errors.items()):
        print(f"    {step}: {what} × {count}")
    if after:
        print(f"  first claim after the database was up again: +{min(after) - restart['up']:.1f} s")
    problems = [f"{k} = {v}" for k, v in checks.must_be_zero(figures).items()]
    if not after:
        problems.append("no claim succeeded after the restart")
    return problems
