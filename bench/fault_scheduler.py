"""A scheduler killed mid-build (bench/faults.py). On a data set large enough that the daily list's INSERT runs
for seconds, the process building today's list is killed (-9) while its INSERT is running, in three ways:

- restart: the only scheduler killed, a new one started at once;
- standby: two schedulers running, the one building killed; the other takes over;
- cli: `flask make-call-lists` killed; a scheduler started at once.

Then: when today's list was there (from the kill), whether it was built once (every task the reference build
made, none twice), and whether any Jobs entry stayed `running`. The reference is one undisturbed build by a
scheduler on a fresh copy of the same data set. The schedulers run with the default heartbeat, staleness and
catch-up intervals (config.py); only the daily jobs' times are moved (the list at 00:00, so that it is due now;
the other daily jobs at 23:59, out of the way).
"""
import time

from sqlalchemy import create_engine, text

from callcenter.clock import local_date, utcnow
from jobs import runner

from . import databases, generate, instances, load, proctree

DEADLINE = 120  # seconds from the kill to give up waiting for the list
SCHEDULER_ENV = {**{job.CONFIG_TIME: "23:59" for job in runner.JOBS.values()}, "CALL_LIST_TIME": "00:00",
                 # interval jobs out of the way of the build being measured
                 "DASHBOARD_SNAPSHOT_INTERVAL_SECONDS": 3600, "ESCALATION_DEADLINES_INTERVAL_SECONDS": 3600}


class Database:
    def __init__(self, url):
        self.url = url
        self.engine = create_engine(databases.normalized(url), isolation_level="AUTOCOMMIT")

    def value(self, sql, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def inserting(self):
        """The pid of the PostgreSQL backend running the daily list's INSERT, if one is."""
        return self.value("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
                          "AND query LIKE 'INSERT INTO call_task%' LIMIT 1")

    def run(self, run_key):
        return self.rows("SELECT id, status, tries, owner, error, trigger FROM job_run WHERE job = 'daily_call_list' "
                         "AND run_key = :key", key=run_key)

    def tasks(self, day):
        return self.value("SELECT count(*) FROM call_task WHERE task_date = :day", day=day)

    def doubled(self, day):
        return self.value("SELECT count(*) FROM (SELECT 1 FROM call_task WHERE task_date = :day "
                          "GROUP BY patient_id, slot HAVING count(*) > 1) AS d", day=day)

    def running(self):
        return self.rows("SELECT id, job, run_key, owner FROM job_run WHERE status = 'running'")

    def close(self):
        self.engine.dispose()


def _env(url):
    return instances.app_env(url, **SCHEDULER_ENV)


def _scheduler(url, name):
    return instances.flask(_env(url), "scheduler", name=name)


def _wait_for_insert(db, procs, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.inserting():
            return
        if all(p.poll() is not None for p in procs):
            raise RuntimeError("the process exited before its build began; see bench/out/logs/")
        time.sleep(0.05)
    raise TimeoutError("no INSERT INTO call_task seen")


def _wait_for_list(db, key, since):
    """Seconds from `since` until today's scheduled run succeeded (None after DEADLINE)."""
    while time.monotonic() - since < DEADLINE:
        run = db.run(key)
        if run and run[0].status == "succeeded":
            return time.monotonic() - since
        time.sleep(0.2)
    return None


def _owner_pid(owner):
    return int(owner.rsplit(":", 2)[1])


def reference(pg, template, day, key):
    """One build undisturbed: how many tasks today's list has, and how long a scheduler took to make it."""
    url = load.copy_database(pg, template, "bench_sched_ref")
    db = Database(url)
    started = time.monotonic()
    proc = _scheduler(url, "scheduler-reference")
    try:
        seconds = _wait_for_list(db, key, started)
        return db.tasks(day), seconds
    finally:
        proctree.started().stop(proc)
        db.close()
        load.drop_database(pg, "bench_sched_ref")


def scenario(pg, template, name, day, key):
    """Kill the builder mid-INSERT as `name` says; returns the figures."""
    url = load.copy_database(pg, template, f"bench_sched_{name}")
    db = Database(url)
    procs = []
    try:
        if name == "cli":
            procs.append(instances.flask(_env(url), "make-call-lists", name="make-call-lists-killed"))
        else:
            procs.append(_scheduler(url, f"scheduler-{name}-1"))
            if name == "standby":
                procs.append(_scheduler(url, f"scheduler-{name}-2"))
        _wait_for_insert(db, procs)
        if name == "cli":
            victim = procs[0]
        else:
            owner = db.run(key)[0].owner
            victim = next(p for p in procs if p.pid == _owner_pid(owner))
        proctree.started().kill(victim)
        killed_at = time.monotonic()
        victim.wait()
        if name in ("restart", "cli"):
            procs.append(_scheduler(url, f"scheduler-{name}-after"))
        seconds = _wait_for_list(db, key, killed_at)
        cli_settled = None
        if name == "cli":  # the killed shell build's own entry: marked stopped by the scheduler's sweep
            while time.monotonic() - killed_at < DEADLINE and any(r.job == "daily_call_list" for r in db.running()):
                time.sleep(0.2)
            cli_settled = time.monotonic() - killed_at
        run = db.run(key)[0]
        figures = {"scenario": name, "list after s": seconds, "tasks": db.tasks(day), "doubled": db.doubled(day),
                   "run": f"{run.status}, try {run.tries}",
                   "still running": ", ".join(f"{r.job} {r.run_key}" for r in db.running()) or 0,
                   "cli entry settled s": cli_settled}
        if name == "cli":
            cli = db.rows("SELECT status, error FROM job_run WHERE job = 'daily_call_list' AND trigger = 'cli'")
            figures["cli entry"] = ", ".join(f"{r.status} ({r.error})" for r in cli)
        return figures
    finally:
        for proc in procs:
            proctree.started().stop(proc)
        db.close()
        load.drop_database(pg, f"bench_sched_{name}")


def run(pg, active=None):
    active = active or 100_000
    template = pg.url(load.TEMPLATE)
    generate.generate(template, round(active * 10 / 3), active, log=lambda line: print(line, flush=True))
    day = local_date(utcnow())
    key = day.isoformat()
    tasks, seconds = reference(pg, template, day, key)
    print(f"reference: an undisturbed scheduler built {tasks:,} tasks for {key} in {seconds:.1f} s "
          f"(from its start)", flush=True)
    problems, rows = [], []
    for name in ("restart", "standby", "cli"):
        figures = scenario(pg, template, name, day, key)
        rows.append(figures)
        print(f"  {name}: " + ", ".join(f"{k} {v if not isinstance(v, float) else f'{v:.1f}'}"
                                        for k, v in figures.items() if k != "scenario" and v is not None), flush=True)
        if figures["list after s"] is None or figures["list after s"] > 60:
            problems.append(f"{name}: today's list not built within a minute of the kill")
        if figures["tasks"] != tasks:
            problems.append(f"{name}: {figures['tasks']:,} tasks, the reference build made {tasks:,}")
        if figures["doubled"]:
            problems.append(f"{name}: {figures['doubled']} patients with a slot twice")
        if figures["still running"]:
            problems.append(f"{name}: {figures['still running']} Jobs entries still running")
    load.drop_database(pg, load.TEMPLATE)
    return problems
