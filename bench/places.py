"""Place-name matching in line lists (callcenter/rules/linelist/places.py PlaceIndex) against difflib's ratio over the
same names, the measure it used before, in the same run.

    .venv/bin/python -m bench.places [--names 3000] [--queries 200] [--repeat 3]

Prints a table: milliseconds per misspelled name for PlaceIndex and for a difflib scan of the names (the
reference), medians of the repeats with min–max.
"""
import argparse
import difflib
import random
import statistics
import time
from types import SimpleNamespace

from callcenter.rules.linelist.cells import CellError, fold
from callcenter.rules.linelist.places import PlaceIndex

SYLLABLES = ["ra", "pur", "gan", "dhi", "na", "gar", "kho", "mand", "hi", "ta", "la", "sar", "bo", "di", "ka",
             "ur", "be", "mi", "sa", "ri"]


def names(count, rng):
    found = set()
    while len(found) < count:
        found.add(" ".join("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).title()
                           for _ in range(rng.randint(1, 2))))
    return sorted(found)


def misspell(name, rng):
    i = rng.randrange(len(name))
    return name[:i] + rng.choice("aeiou") + name[i + 1:]


def timed(fn, queries):
    start = time.perf_counter()
    for q in queries:
        fn(q)
    return (time.perf_counter() - start) / len(queries) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(7)
    known = names(args.names, rng)
    places = [SimpleNamespace(name=n, group=None, shown=n) for n in known]
    keys = [fold(n) for n in known]
    queries = [misspell(rng.choice(known), rng) for _ in range(args.queries)]

    index = None

    def place_index(q):
        try:
            index.match(q)
        except CellError:  # an unknown name is an answer too (with suggestions)
            pass

    def difflib_scan(q):
        key = fold(q)
        return max(keys, key=lambda k: difflib.SequenceMatcher(None, key, k).ratio())

    rows = []
    for label, fn in (("PlaceIndex.match (rapidfuzz)", place_index), ("difflib scan (reference)", difflib_scan)):
        runs = []
        for _ in range(args.repeat):
            index = PlaceIndex(places)  # a fresh cache each repeat
            runs.append(timed(fn, queries))
        rows.append((label, statistics.median(runs), min(runs), max(runs)))
    print(f"{args.names} names, {args.queries} misspelled names, {args.repeat} repeats")
    print(f"{'what':<30} {'ms per name':>12} {'min–max':>16}")
    for label, median, low, high in rows:
        print(f"{label:<30} {median:>12.2f} {f'{low:.2f}–{high:.2f}':>16}")


if __name__ == "__main__":
    main()
