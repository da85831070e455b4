"""Benchmarks at the scale of a whole state (see docs/PERFORMANCE.md).

    .venv/bin/python -m bench              # generate the data sets, time the daily list build, print a table
    .venv/bin/python -m bench.generate -h  # only generate a data set
    .venv/bin/python -m bench.web --all    # what people wait on (issue 20's table): every row against its reference

Not part of the test suite: speed targets live here, never in timed unit tests.
"""
import os

# A benchmark is not a deployment: the app may start without a production SECRET_KEY (callcenter/secret_key.py).
os.environ.setdefault("SAMPARK_ENV", "development")
