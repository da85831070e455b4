"""Show how PostgreSQL (or SQLite) runs the daily list build: EXPLAIN ANALYZE of its statements (closing
earlier days, working out the flags, and the INSERT of each chunk of patients), run for real inside a
transaction that is then rolled back (with the build's lock and SET LOCAL settings, and its closing ANALYZE
timed).

    .venv/bin/python -m bench.explain --url postgresql://postgres@127.0.0.1:5432/sampark_bench_300k

The statements are the service's own (callcenter/services/calls/call_lists.py), built the same way.
"""
import argparse
import time
from datetime import date

from sqlalchemy import text

from callcenter.extensions import db
from callcenter.services.calls import call_lists

from . import databases
from .build_once import build_time


def statements(day, now):
    """The UPDATE that closes earlier days' open tasks, then the INSERT … SELECT of each chunk of the day's
    tasks (the flags table they read is made before, as the build does)."""
    yield "close earlier days", call_lists._close_statement(day, None, now)
    table = call_lists._flags_table()
    table.create(db.session.connection())
    yield "the flags table", db.insert(table).from_select(["patient_id", *call_lists.EVENT_FLAGS],
                                                          call_lists.patient_flags(day))
    table.drop(db.session.connection())
    flags = call_lists._write_flags(day)
    insert_stmt = call_lists._build_insert()
    for id_range in call_lists._chunks(None):
        rows = call_lists._task_rows(day, call_lists.slot_times(day), now, flags, id_range=id_range)
        yield f"insert the day's tasks for patients {id_range[0]}…{id_range[1] - 1}", \
            insert_stmt.from_select(call_lists.TASK_COLUMNS, rows)


def explain(day):
    now = build_time(day)
    conn = db.session.connection()
    postgres = conn.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    try:
        call_lists._lock_day(day)
        call_lists._tune_build_transaction()  # as the build: SET LOCAL jit = off
        for name, statement in statements(day, now):
            compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
            print(f"-- {name}")
            params = compiled.params if postgres else tuple(compiled.params[k] for k in compiled.positiontup)
            plan = conn.exec_driver_sql(prefix + str(compiled), params)
            for row in plan:
                print(row[0] if postgres else " ".join(str(v) for v in row))
            print()
        if postgres:
            started = time.perf_counter()
            conn.execute(text("ANALYZE call_task"))
            print(f"-- ANALYZE call_task (the build's last step): {time.perf_counter() - started:.2f} s")
    finally:
        db.session.rollback()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--day", type=date.fromisoformat, default=None,
                        help="default: the day the data set was generated for")
    args = parser.parse_args(argv)
    day = args.day or date.fromisoformat(databases.read_manifest(args.url)["day"])
    with databases.make_app(args.url).app_context():
        explain(day)


if __name__ == "__main__":
    main()
