"""Every CSV the app writes is safe to open in a spreadsheet, generated from the routes: every GET route
(each value of an <any(…)> part, ids from the access matrix's world) is asked by a state-level administrator
and a state-level nodal officer, and every answer in text/csv is read cell by cell. The world carries a patient
named after each formula character and an import whose rejected rows hold each one, so the lists and the error
report have something to guard. A new CSV route is found here without being named."""
import csv
import io
import itertools
from types import SimpleNamespace

import pytest
from flask import url_for
from werkzeug.routing.converters import AnyConverter

from callcenter.extensions import db
from callcenter.models import District, ImportBatch, ImportRow
from callcenter.rules.spreadsheet import TRIGGERS

from ..conftest import IsolatedClient, sign_in
from ..factories import make_patient
from . import world as worlds
from .test_access_matrix import PARAMS

PAYLOADS = ["=HYPERLINK(\"http://x\",\"open\")", "+2+3+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
ASKERS = (("admin", "state"), ("nodal_officer", "state"))
NOT_CSV = (".pdf",)  # printed by Chromium: slow, and never a spreadsheet


def _plant(own):
    """Payloads where the CSVs read them: patients' names (and names of their household) and an import's
    rejected rows (every cell of the file comes back in the error report)."""
    district = db.session.get(District, own.district_id)
    for payload in PAYLOADS:
        make_patient(district, name=payload)
    batch = db.session.get(ImportBatch, own.batch_id)
    batch.mapping = {"Name": "name", "Mobile": "phone", "Age": "age"}
    batch.rows_rejected = len(PAYLOADS)
    for n, payload in enumerate(PAYLOADS, 2):
        db.session.add(ImportRow(batch_id=batch.id, row_number=n, action="rejected",
                                 raw={"Name": payload, "Mobile": "+91 98260 12345", "Age": "-5"},
                                 errors=[{"column": "Age", "value": "-5", "reason": "age_invalid", "params": {}}]))
    db.session.commit()


def _urls(app, rule, d):
    """Every URL of a rule: each value of its <any(…)> parts, ids and words from the matrix's PARAMS."""
    choices = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        if isinstance(converter, AnyConverter):
            choices[name] = sorted(converter.items)
        elif name in PARAMS:
            choices[name] = [PARAMS[name](rule.endpoint, d)]
        else:
            pytest.fail(f"{rule.endpoint}: no value for <{name}>; add it to the access matrix's PARAMS")
    names = list(choices)
    with app.test_request_context():
        return [url_for(rule.endpoint, **dict(zip(names, combo, strict=True)))
                for combo in itertools.product(*(choices[n] for n in names))]


def _cells(text):
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]


def test_every_csv_the_app_writes_is_guarded(app):
    world = worlds.build()
    _plant(world.own)
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"
             and not r.endpoint.endswith(".static") and not r.rule.endswith(NOT_CSV)]
    answered = {}  # url → the CSV's text
    for role, level in ASKERS:
        identity = world.users[(role, level)]
        app.test_client_class = IsolatedClient
        client = app.test_client()
        sign_in(client, SimpleNamespace(id=identity.user_id, username=identity.username))
        for rule in rules:
            for url in _urls(app, rule, world.own):
                response = client.get(url)
                if response.status_code == 200 and response.mimetype == "text/csv":
                    answered[url] = response.get_data(as_text=True)
                response.close()
    csv_endpoints = {url.rsplit("?", 1)[0] for url in answered}
    # What this world must reach: the five dashboard lists and the import's error report.
    assert {u for u in csv_endpoints if "/export/" in u} >= {
        f"/dashboard/export/{k}.csv" for k in ("tasks", "patients", "escalations", "checkins", "calls")}
    assert any(u.endswith("/errors.csv") for u in csv_endpoints)
    for url, text in answered.items():
        unsafe = [c for c in _cells(text) if c.startswith(TRIGGERS)]
        assert not unsafe, f"{url} writes cells a spreadsheet runs: {unsafe}"
    report = next(text for url, text in answered.items() if url.endswith("/errors.csv"))
    for payload in PAYLOADS:
        assert "'" + payload in _cells(report)
    assert "'-5" in _cells(report) and "'+91 98260 12345" in _cells(report)
    patients = answered["/dashboard/export/patients.csv"]
    for payload in PAYLOADS:
        assert "'" + payload in _cells(patients)
