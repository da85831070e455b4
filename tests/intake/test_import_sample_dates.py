"""Dates of sample from long ago: a new patient past the isolation period is added with a warning on its row,
a date more than IMPORT_SAMPLE_MAX_DAYS back is refused, as a date in the future is (even tomorrow)."""
from callcenter.extensions import db
from callcenter.models import ImportRow, Patient
from callcenter.services.core import settings
from callcenter.services.intake.messages import reason_text

from ..factories import make_patient, make_user
from .conftest import day, dmy, outcomes, row, run


def test_dates_of_sample_from_long_ago_are_warned_of_or_refused(tmp_path, officer, raipur):
    on_record = make_patient(raipur, name="Kamla Bai", phone_number="+919826000009", age=50,
                             positive_date=day(20))
    on_record.sex, on_record.lab_id = "female", "CG-0009"
    db.session.commit()
    batch = run(officer, tmp_path, [
        row(1, **{"Date of Sample": dmy(10)}),                  # the last day of isolation: nothing to say
        row(2, **{"Date of Sample": dmy(12)}),                  # listed late, or a wrong date: a warning
        row(3, **{"Date of Sample": dmy(60)}),
        row(4, **{"Date of Sample": dmy(61)}),                  # refused: a mistyped year, most likely
        row(5, **{"Date of Sample": day(400).strftime("%d/%m/%Y"), "Mobile No": "12345"}),
        row(6, **{"Date of Sample": dmy(-1)}),                  # tomorrow: refused
        row(9, **{"Patient Name": "Kamla Bai", "Age": 50, "Date of Sample": dmy(20)}),  # on record: no warning
    ])
    found = outcomes(batch)
    assert found[2] == ("added", [])
    assert found[3] == ("added", [("Date of Sample", dmy(12), "date_sample_past_isolation")])
    assert found[4] == ("added", [("Date of Sample", dmy(60), "date_sample_past_isolation")])
    assert found[5] == ("rejected", [("Date of Sample", dmy(61), "date_sample_too_old")])
    assert found[6][0] == "rejected" and {r for _c, _v, r in found[6][1]} == {"phone_invalid", "date_sample_too_old"}
    assert found[7] == ("rejected", [("Date of Sample", dmy(-1), "date_in_future")])
    assert found[8][0] in ("updated", "unchanged") and found[8][1] == []  # (their village and setting, say)
    assert (batch.rows_added, batch.rows_rejected) == (3, 3) and db.session.scalar(
        db.select(db.func.count()).select_from(Patient)) == 4
    warned = db.session.scalar(db.select(ImportRow).where(ImportRow.batch_id == batch.id, ImportRow.row_number == 3))
    assert reason_text(warned.errors[0]) == ("12 days ago, longer than isolation lasts (10 days): check the date. "
                                             "The row is imported as it is; the patient will be listed for a "
                                             "discharge review.")
    refused = db.session.scalar(db.select(ImportRow).where(ImportRow.batch_id == batch.id, ImportRow.row_number == 5))
    assert reason_text(refused.errors[0]) == ("61 days ago: more than 60 days, too long ago for someone followed up "
                                              "now. Check the date, the year especially.")


def test_the_isolation_period_is_the_release_rule_setting(tmp_path, officer, raipur, app, monkeypatch):
    settings.update({"release_min_days": 7}, make_user("admin"))
    monkeypatch.setitem(app.config, "IMPORT_SAMPLE_MAX_DAYS", 30)
    found = outcomes(run(officer, tmp_path, [row(1, **{"Date of Sample": dmy(8)}),
                                             row(2, **{"Date of Sample": dmy(31)})], dry_run=True))
    assert found[2] == ("added", [("Date of Sample", dmy(8), "date_sample_past_isolation")])
    assert found[3] == ("rejected", [("Date of Sample", dmy(31), "date_sample_too_old")])


def test_the_batch_page_shows_the_warning(client, login, tmp_path, officer, raipur):
    batch = run(officer, tmp_path, [row(1, **{"Date of Sample": dmy(12)})])
    login(officer)
    html = client.get(f"/intake/imports/{batch.id}").get_data(as_text=True)
    assert "12 days ago, longer than isolation lasts (10 days): check the date." in html
