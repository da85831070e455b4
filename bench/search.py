"""Patient search at state scale: each kind of query against the ABHA lookup (indexed from the start), state-wide
and in one district, through the services people use (records.find_patients, the desk console's search).

    .venv/bin/python -m bench.search --url postgresql://postgres@127.0.0.1:5432/sampark_bench_300k

Uses a data set made by bench/generate.py (its schema from the models: the search's indexes included). Each call
is timed whole: the queries, the loading of what the page shows, and the audit row's commit. Three repetitions
(--repeat), each on another patient of the data set; in each, every query is run --runs times and its median
kept. Printed per query: the median of the repetitions, their min–max, the matches, and the ratio to the ABHA
lookup of the same scope in the same run.
"""
import argparse
import statistics
import time

from sqlalchemy import text

from callcenter.extensions import db
from callcenter.models import User
from callcenter.rules.identity import InvalidValue, normalize_indian_mobile
from callcenter.services.desks import escalations
from callcenter.services.records import records

from .audit_overhead import _staff, _state_admin
from .databases import make_app


def samples(n):
    """n active patients with every key (mobile, attendant's mobile, lab ID, ABHA), each in another district."""
    rows = db.session.execute(text(
        "SELECT district_id, name, phone, attendant_phone, lab_id, abha_number FROM patient "
        "WHERE status = 'active' AND attendant_phone IS NOT NULL AND lab_id IS NOT NULL "
        "AND abha_number IS NOT NULL ORDER BY id DESC LIMIT 2000")).all()
    picked = {}
    for row in rows:
        try:  # (not every number the generator makes is a valid mobile)
            normalize_indian_mobile(row.phone, refuse_placeholders=False)
            normalize_indian_mobile(row.attendant_phone, refuse_placeholders=False)
        except InvalidValue:
            continue
        picked.setdefault(row.district_id, row)
    return list(picked.values())[:n]


def queries(p):
    """(kind, the words typed) for one patient, as people type them."""
    national = p.phone[3:]
    a = p.abha_number
    surname = p.name.split()[-1]
    return [
        ("ABHA number (reference)", f"{a[:2]}-{a[2:6]}-{a[6:10]}-{a[10:]}"),
        ("mobile, 98260 12345", f"{national[:5]} {national[5:]}"),
        ("mobile, +91-…", f"+91-{national[:5]}-{national[5:]}"),
        ("mobile, 0…", f"0{national}"),
        ("attendant's mobile", p.attendant_phone[3:]),
        ("SRF / lab ID, lower case", p.lab_id.lower()),
        ("full name", p.name),
        ("part of a name", p.name.lower()[2:-2]),
        ("one common word (a surname)", surname),
    ]


def timed(fn, runs):
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        db.session.remove()
    return statistics.median(times), result


def measure(url, repeat=3, runs=3):
    """{(scope, kind): [seconds per repetition]}, {(scope, kind): [matches per repetition]}."""
    app = make_app(url)
    results = {}
    matches = {}
    with app.app_context():
        admin_id = _state_admin()
        people = samples(repeat)
        for rep, p in enumerate(people):
            officer_id, desk_id = _staff(p.district_id, "nodal_officer"), _staff(p.district_id, "control_room")
            for kind, words in queries(p):
                cases = [("state", admin_id, _records), ("district", officer_id, _records)]
                if kind.startswith(("mobile, 9", "full name", "SRF")):
                    cases.append(("desk console", desk_id, _console))
                for scope, user_id, search in cases:
                    def fn(search=search, user_id=user_id, words=words):
                        return search(db.session.get(User, user_id), words)
                    if rep == 0:
                        fn()  # warm: plans, caches
                        db.session.remove()
                    seconds, (found, total) = timed(fn, runs)
                    results.setdefault((scope, kind), []).append(seconds)
                    if scope == "desk console":
                        total = f"{len(found)}{'+' if total else ''}"
                    elif total > records.COUNT_LIMIT if hasattr(records, "COUNT_LIMIT") else False:
                        total = f">{records.COUNT_LIMIT}"
                    matches.setdefault((scope, kind), []).append(str(total))
        db.engine.dispose()
    return results, matches


def rows(url, repeat=3, runs=3):
    """bench.web's rows: each kind of query, in ms, against the ABHA lookup of the same scope."""
    results, _matches = measure(url, repeat, runs)
    reference = {scope: v for (scope, kind), v in results.items() if kind.startswith("ABHA")}
    return [{"what": f"search, {scope}: {kind}", "unit": "ms", "now": [s * 1000 for s in values],
             "reference": [s * 1000 for s in reference.get(scope, reference["district"])],
             "reference_what": "ABHA lookup, same scope", "target": "< 50"}
            for (scope, kind), values in results.items() if not kind.startswith("ABHA")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="a data set made by bench/generate.py")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="runs of each query per repetition (median kept)")
    args = parser.parse_args(argv)
    print(table(*measure(args.url, args.repeat, args.runs)))


def _records(user, words):
    return records.find_patients(user, words)


def _console(user, words):
    return escalations.console_queue(user, "control_room", escalations.ConsoleFilters(query=words))


def table(results, matches):
    reference = {scope: statistics.median(v) for (scope, kind), v in results.items() if kind.startswith("ABHA")}
    lines = ["| scope | query | median ms | min–max ms | × ABHA | matches |", "| --- | --- | --- | --- | --- | --- |"]
    for (scope, kind), values in results.items():
        median = statistics.median(values)
        ratio = f"{median / reference.get(scope, reference['district']):.1f}"
        lines.append(f"| {scope} | {kind} | {median * 1000:.1f} | {min(values) * 1000:.1f}–{max(values) * 1000:.1f} "
                     f"| {ratio} | {', '.join(matches[(scope, kind)])} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
