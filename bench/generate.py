"""Generate a state-sized data set into a fresh database, set-based and memory-flat.

    .venv/bin/python -m bench.generate --url postgresql://postgres@127.0.0.1:5432/sampark_bench
    .venv/bin/python -m bench.generate --url sqlite:///bench/out/sampark_bench.db --small

The schema comes from the app's models (db.create_all). Small tables (districts, blocks, villages,
facilities, users) are inserted from Python; patients and their week of history are each one
INSERT … SELECT over a number series, so nothing the size of the data set passes through Python.
"""
import argparse
import time
from datetime import date

from sqlalchemy import insert, text

from callcenter.clock import local_date
from callcenter.extensions import db
from callcenter.models import Block, District, Facility, User, Village

from . import databases, history, shape
from .sql import for_dialect, pick, rnd, weighted

STATE = {"patients": 1_000_000, "active": 300_000}
SMALL = {"patients": 30_000, "active": 10_000}
UNUSABLE_PASSWORD = "!bench-user-cannot-sign-in"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=None, help="database to (re)create, its name containing 'bench' "
                        "(default: PostgreSQL database sampark_bench_<active>k on 127.0.0.1)")
    parser.add_argument("--patients", type=int, default=None, help=f"default {STATE['patients']:,}")
    parser.add_argument("--active", type=int, default=None, help=f"default {STATE['active']:,}")
    parser.add_argument("--days", type=int, default=7, help="days of call history before the list day")
    parser.add_argument("--day", type=date.fromisoformat, default=None,
                        help="the day whose list the data set leads up to (default: today, local time)")
    parser.add_argument("--small", action="store_true",
                        help=f"{SMALL['patients']:,} patients, {SMALL['active']:,} active: a quick run")
    args = parser.parse_args(argv)
    size = SMALL if args.small else STATE
    patients, active = args.patients or size["patients"], args.active or size["active"]
    url = args.url or databases.pg_url(databases.dataset_name(active))
    generate(url, patients, active, args.days, args.day)


def generate(url, patients, active, days=7, day=None, log=print):
    """Recreate the database at `url` and fill it; returns the manifest (also saved under bench/out/)."""
    if not 0 < active <= patients:
        raise SystemExit("need 0 < active <= patients")
    databases.recreate(url)
    app = databases.make_app(url)
    started = time.perf_counter()
    with app.app_context():
        day = day or local_date()
        log(f"generating {patients:,} patients ({active:,} active) and {days} days of history before {day} "
            f"into {databases.backend(url)}")
        db.create_all()
        dialect = for_dialect(db.engine.dialect.name)
        indexes = _drop_indexes()
        steps = [("places and users", lambda conn: _places_and_users(conn, dialect)),
                 ("patients", lambda conn: _patients(conn, dialect, patients, active, day))]
        steps += history.steps(dialect, day, days)
        for name, step in steps:
            step_started = time.perf_counter()
            with db.engine.begin() as conn:
                _tune_for_bulk_load(conn)
                rows = step(conn)
            log(f"  {name:<28} {rows if rows is not None else '':>12}  {time.perf_counter() - step_started:6.1f} s")
        step_started = time.perf_counter()
        _create_indexes(indexes)
        log(f"  {'indexes':<28} {len(indexes):>12}  {time.perf_counter() - step_started:6.1f} s")
        step_started = time.perf_counter()
        _analyze()
        log(f"  {'vacuum/analyze':<28} {'':>12}  {time.perf_counter() - step_started:6.1f} s")
        db.engine.dispose()
    seconds = round(time.perf_counter() - started, 1)
    manifest = {"day": day.isoformat(), "patients": patients, "active": active, "days": days,
                "generated_seconds": seconds}
    databases.write_manifest(url, manifest)
    log(f"generated in {seconds} s")
    return manifest


def _drop_indexes():
    """Loading into unindexed tables and indexing afterwards is several times faster than keeping the
    indexes up to date row by row. Primary keys and unique constraints stay (they check the data)."""
    indexes = [index for table in db.metadata.sorted_tables for index in table.indexes]
    with db.engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
    return indexes


def _create_indexes(indexes):
    with db.engine.begin() as conn:
        _tune_for_bulk_load(conn)
        for index in indexes:
            index.create(conn)


def _tune_for_bulk_load(conn):
    # Bench data is disposable: don't wait for each commit to reach the disk.
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    else:
        conn.exec_driver_sql("PRAGMA synchronous = OFF")


def _analyze():
    """Statistics as autovacuum would have them on a live PostgreSQL; SQLite gets none, as in use
    (the app never runs ANALYZE there)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def _places_and_users(conn, dialect):
    """Districts, blocks, villages, facilities and users, with ids the big statements compute."""
    districts, blocks, villages, facilities, users = [], [], [], [], []
    for d, name in enumerate(shape.DISTRICTS, start=1):
        districts.append({"id": d, "name": name, "state": "Chhattisgarh"})
        for b in range(1, shape.BLOCKS_PER_DISTRICT + 1):
            block_id = (d - 1) * shape.BLOCKS_PER_DISTRICT + b
            urban = b == 1
            blocks.append({"id": block_id, "district_id": d, "name": f"{name} Urban" if urban else f"{name} Block {b}"})
            for v in range(1, shape.VILLAGES_PER_BLOCK + 1):
                villages.append({"id": (block_id - 1) * shape.VILLAGES_PER_BLOCK + v, "block_id": block_id,
                                 "name": f"Ward {v}" if urban else f"Village {block_id}-{v}",
                                 "kind": "ward" if urban else "village"})
        for f in range(1, shape.FACILITIES_PER_DISTRICT + 1):
            hospital = f <= shape.HOSPITALS_PER_DISTRICT
            facilities.append({"id": (d - 1) * shape.FACILITIES_PER_DISTRICT + f, "district_id": d,
                               "name": f"{name} {'Hospital' if hospital else 'COVID Care Centre'} {f}",
                               "kind": "hospital" if hospital else "ccc", "phone": None,
                               "beds_general": 200 if hospital else 150, "beds_oxygen": 80 if hospital else 10,
                               "beds_icu": 20 if hospital else 0})
        for v in range(1, shape.VOLUNTEERS_PER_DISTRICT + 1):
            users.append(_user((d - 1) * shape.VOLUNTEERS_PER_DISTRICT + v, f"vol-{d}-{v}", "volunteer", d))
        for s, role in enumerate(shape.STAFF_ROLES, start=1):
            users.append(_user(shape.STAFF_BASE_ID + (d - 1) * len(shape.STAFF_ROLES) + s, f"{role}-{d}-{s}", role, d))
    users.append(_user(len(users) + 1, "admin", "admin", None))
    for model, rows in ((District, districts), (Block, blocks), (Village, villages), (Facility, facilities),
                        (User, users)):
        conn.execute(insert(model), rows)
        dialect.ids_inserted(conn, model.__tablename__)
    return len(villages) + len(users)


def _user(user_id, username, role, district_id):
    return {"id": user_id, "username": f"bench-{username}", "full_name": username, "password_hash": UNUSABLE_PASSWORD,
            "role": role, "district_id": district_id, "language": "hi", "phone": None, "active": True}


def _patients(conn, dialect, patients, active, day):
    """Patients 1..N; the last `active` registered are the active ones (older ones have recovered)."""
    first_active = patients - active + 1
    n_districts = len(shape.DISTRICTS)
    villages = shape.BLOCKS_PER_DISTRICT * shape.VILLAGES_PER_BLOCK
    hospital_upto = shape.SETTINGS[0][1]
    ccc_upto = hospital_upto + shape.SETTINGS[1][1]
    positive = dialect.minus_days(dialect.date(day), "positive_ago")
    name = f"{pick('first_index', shape.FIRST_NAMES)} || ' ' || last_name"
    sql = f"""
    WITH RECURSIVE {dialect.numbers(patients)},
    p AS (
        SELECT n,
               1 + {rnd('n', 1, n_districts)} AS d,
               {rnd('n', 3, 100)} AS setting_roll,
               {rnd('n', 5, 100)} AS age_roll,
               {rnd('n', 9, len(shape.FIRST_NAMES))} AS first_index,
               {pick(rnd('n', 10, len(shape.LAST_NAMES)), shape.LAST_NAMES)} AS last_name,
               CASE WHEN n >= {first_active} THEN 1 + {rnd('n', 12, 14)} ELSE 15 + {rnd('n', 12, 350)} END
                   AS positive_ago
        FROM seq
    )
    INSERT INTO patient (id, district_id, name, name_key, age, sex, phone, attendant_phone, address, village_id,
                         setting, facility_id, positive_date, symptom_onset_date, isolation_start_date,
                         comorbidities, abha_number, lab_id, language, status, sms_opt_out, phone_invalid,
                         last_contact_at, created_at, created_by_id, ended_at)
    SELECT n, d, {name}, lower({name}),
           CASE WHEN age_roll < {shape.OVER_60_PERCENT} THEN 60 + {rnd('n', 6, 31)}
                WHEN age_roll < {shape.OVER_60_PERCENT + shape.CHILD_PERCENT} THEN 5 + {rnd('n', 6, 13)}
                ELSE 18 + {rnd('n', 6, 42)} END,
           CASE WHEN {rnd('n', 8, 100)} < {shape.OTHER_SEX_PERCENT} THEN 'other'
                WHEN first_index % 2 = 1 THEN 'female' ELSE 'male' END,
           -- unique: an affine map modulo a prime is one-to-one for n below the prime
           '+91' || (6 + n % 4) || {dialect.digits('(n * 387420489 + 123456789) % 999999937', 9)},
           CASE WHEN setting_roll < {hospital_upto}
                THEN '+917' || {dialect.digits('(n * 104729) % 999999937', 9)} END,
           'House ' || (1 + {rnd('n', 11, 400)}),
           (d - 1) * {villages} + 1 + {rnd('n', 2, villages)},
           {weighted('setting_roll', shape.SETTINGS)},
           CASE WHEN setting_roll < {hospital_upto}
                THEN (d - 1) * {shape.FACILITIES_PER_DISTRICT} + 1 + {rnd('n', 4, shape.HOSPITALS_PER_DISTRICT)}
                WHEN setting_roll < {ccc_upto}
                THEN (d - 1) * {shape.FACILITIES_PER_DISTRICT} + {shape.HOSPITALS_PER_DISTRICT} + 1
                     + {rnd('n', 4, shape.CCCS_PER_DISTRICT)} END,
           {positive},
           CASE WHEN {rnd('n', 13, 100)} >= 30
                THEN {dialect.minus_days(dialect.date(day), 'positive_ago + ' + rnd('n', 14, 3))} END,
           CASE WHEN setting_roll >= {ccc_upto} THEN {positive} END,
           CASE WHEN {rnd('n', 7, 100)} < {shape.COMORBID_PERCENT}
                THEN {pick(rnd('n', 17, len(shape.COMORBIDITIES)), shape.COMORBIDITIES)} ELSE '' END,
           CASE WHEN {rnd('n', 15, 100)} < 30 THEN '91' || {dialect.digits('n', 12)} END,
           CASE WHEN {rnd('n', 16, 100)} < 80 THEN 'CG-' || {dialect.digits('n', 8)} END,
           {weighted(rnd('n', 18, 100), shape.LANGUAGES)},
           CASE WHEN n >= {first_active} THEN 'active'
                ELSE {weighted(rnd('n', 19, 100), shape.INACTIVE_STATUSES)} END,
           {rnd('n', 20, 100)} < 2,
           {rnd('n', 21, 1000)} < 5,
           NULL,
           {dialect.plus_minutes(positive, f"600 + {rnd('n', 22, 600)}")},
           NULL,
           CASE WHEN n < {first_active}
                THEN {dialect.plus_minutes(positive, f"(10 + {rnd('n', 23, 8)}) * 1440 + 420")} END
    FROM p
    """
    rows = dialect.rows(conn, conn.execute(text(sql)))
    dialect.ids_inserted(conn, "patient")
    return rows


if __name__ == "__main__":
    main()
