"""The pure line-list rules (callcenter/rules/linelist/), table by table."""
from datetime import date, datetime

import pytest

from callcenter.rules.linelist.cells import (
    NOT_HOME,
    CellError,
    cell_text,
    parse_age,
    parse_comorbidities,
    parse_home_isolation,
    parse_id,
    parse_phones,
    parse_setting,
    parse_sex,
)
from callcenter.rules.linelist.dates import parse_date
from callcenter.rules.linelist.headers import find_header_row, guess_field, map_headers, unique_headers
from callcenter.rules.linelist.places import Place, PlaceIndex
from callcenter.rules.linelist.records import judge, overwrites, plan_update, similar_names
from callcenter.rules.linelist.rows import parse_row


@pytest.fixture
def _fresh_database():
    """Pure rules: no database (overrides conftest's autouse fixture of the same name)."""
    yield


# --- headers ---

@pytest.mark.parametrize("header, field", [
    ("Name", "name"), ("Patient Name", "name"), ("PATIENT  NAME", "name"), ("नाम", "name"), ("मरीज का नाम", "name"),
    ("Mobile", "phone"), ("Mobile No.", "phone"), ("Mobile_No", "phone"), ("Contact", "phone"),
    ("मोबाइल नंबर", "phone"), ("Age", "age"), ("Age (Years)", "age"), ("आयु", "age"), ("उम्र", "age"),
    ("Sex", "sex"), ("Gender", "sex"), ("लिंग", "sex"), ("SRF ID", "lab_id"), ("Sample ID", "lab_id"),
    ("Lab ID", "lab_id"), ("ICMR ID", "lab_id"), ("Date of Sample", "positive_date"),
    ("Result Date", "positive_date"), ("Positive Date", "positive_date"), ("जांच की तारीख", "positive_date"),
    ("Village", "village"), ("Ward", "village"), ("ग्राम", "village"), ("गांव", "village"), ("वार्ड", "village"),
    ("Block", "block"), ("विकासखंड", "block"), ("ब्लॉक", "block"), ("Facility", "facility"),
    ("Hospital", "facility"), ("CCC", "facility"), ("Setting", "setting"), ("Status", "setting"),
    ("Home Isolation", "home_isolation"), ("District", "district"), ("जिला", "district"),
    ("S.No.", "ignore"), ("क्रमांक", "ignore"), ("errors", "ignore"), ("Favourite colour", None),
])
def test_headers_in_english_and_hindi(header, field):
    assert guess_field(header) == field


def test_a_remembered_mapping_wins_over_the_built_in_names():
    assert guess_field("Status", {"status": "ignore"}) == "ignore"
    assert guess_field("Rogi", {"rogi": "name"}) == "name"


def test_map_headers_reports_unknown_duplicate_and_missing():
    header_map = map_headers(["Name", "Mobile", "Contact No", "Colour", "(5)"])
    assert header_map.unknown == ["Colour"]
    assert header_map.duplicates == {"phone": ["Mobile", "Contact No"]}
    assert header_map.missing() == ["age", "sex", "positive_date"]
    assert header_map.fields[4] == "ignore"  # a column without a header
    assert header_map.needs_mapping()
    chosen = map_headers(["Name", "Mobile", "Contact No", "Colour"],
                                  chosen={"Contact No": "attendant_phone", "Colour": "ignore"})
    assert not chosen.unknown and not chosen.duplicates


def test_unique_headers_and_the_header_row_below_a_title():
    assert unique_headers(["Mobile", "Mobile", None, " Name "]) == ["Mobile", "Mobile (2)", "(3)", "Name"]
    rows = [["District Raipur line list 12.05.2021"], [], ["S.No", "Name", "Age", "Mobile"], [1, "A", 3, "9"]]
    assert find_header_row(rows) == 2
    assert find_header_row([["a", "b"], ["c"]]) == 0
    assert find_header_row([[None, ""], []]) is None


# --- cells ---

@pytest.mark.parametrize("value, expected", [
    ("12/05/2021", date(2021, 5, 12)), ("12-05-2021", date(2021, 5, 12)), ("12.05.21", date(2021, 5, 12)),
    ("2021-05-12", date(2021, 5, 12)), ("1/5/2021", date(2021, 5, 1)), ("12 May 2021", date(2021, 5, 12)),
    ("12-May-21", date(2021, 5, 12)), ("12th May, 2021", date(2021, 5, 12)), ("May 12, 2021", date(2021, 5, 12)),
    ("12 मई 2021", date(2021, 5, 12)), ("12/05/2021 10:30", date(2021, 5, 12)),
    ("2021-05-12T10:30:00", date(2021, 5, 12)), ("44328", date(2021, 5, 12)), (44328, date(2021, 5, 12)),
    (44328.0, date(2021, 5, 12)), (datetime(2021, 5, 12, 0, 0), date(2021, 5, 12)),
    (date(2021, 5, 12), date(2021, 5, 12)), ("१२/०५/२०२१", date(2021, 5, 12)),
])
def test_dates_day_first(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value, code", [
    ("31/02/2021", "date_invalid"), ("13/13/2021", "date_invalid"), ("yesterday", "date_unreadable"),
    ("12 Mai 2021", "date_unreadable"), ("12/05/2012", "date_too_old"), ("2021/5", "date_unreadable"),
])
def test_bad_dates(value, code):
    with pytest.raises(CellError) as exc:
        parse_date(value)
    assert exc.value.code == code


@pytest.mark.parametrize("value, expected", [
    ("45", 45), (45, 45), (45.0, 45), ("45 yrs", 45), ("45Y", 45), ("45 years", 45), ("45 वर्ष", 45),
    ("45 साल", 45), ("45Y 3M", 45), ("6 months", 0), ("6 M", 0), ("10 days", 0), ("४५", 45), ("45.5", 45),
])
def test_ages(value, expected):
    assert parse_age(value) == expected


@pytest.mark.parametrize("value", ["forty", "4 5 6", True, "45 M", "nan", "4 years 5 6"])
def test_bad_ages(value):
    with pytest.raises(CellError):
        parse_age(value)


@pytest.mark.parametrize("value, expected", [
    ("M", "male"), ("m", "male"), ("Male", "male"), ("पुरुष", "male"), ("पु.", "male"), ("F", "female"),
    ("female", "female"), ("महिला", "female"), ("स्त्री", "female"), ("TG", "other"), ("Other", "other"),
    ("अन्य", "other"),
])
def test_sexes(value, expected):
    assert parse_sex(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("Hospital", "hospital"), ("DCH", "hospital"), ("अस्पताल", "hospital"), ("CCC", "ccc"),
    ("Covid Care Centre", "ccc"), ("कोविड केयर सेंटर", "ccc"), ("Home Isolation", "home"), ("HI", "home"),
    ("home", "home"), ("होम आइसोलेशन", "home"), ("गृह एकांतवास", "home"),
])
def test_settings(value, expected):
    assert parse_setting(value) == expected


def test_home_isolation_column():
    assert parse_home_isolation("Yes") == "home"
    assert parse_home_isolation("हाँ") == "home"
    assert parse_home_isolation("No") == NOT_HOME
    assert parse_home_isolation("CCC") == "ccc"
    with pytest.raises(CellError):
        parse_home_isolation("maybe")


@pytest.mark.parametrize("value, expected", [
    ("DM, HTN", ["diabetes", "hypertension"]), ("Diabetes and BP", ["diabetes", "hypertension"]),
    ("शुगर / बीपी", ["diabetes", "hypertension"]), ("None", []), ("Asthma+CKD", ["lung", "kidney"]),
    ("sugar; sugar", ["diabetes"]),
])
def test_comorbidities(value, expected):
    assert parse_comorbidities(value) == expected


def test_unknown_comorbidity_is_named():
    with pytest.raises(CellError) as exc:
        parse_comorbidities("DM, gout")
    assert (exc.value.code, exc.value.params) == ("comorbidity_unknown", {"word": "gout"})


@pytest.mark.parametrize("value, expected", [
    ("98260 12345", ["98260 12345"]), (9826012345, ["9826012345"]), (9826012345.0, ["9826012345"]),
    ("9826012345.0", ["9826012345"]), ("9.826012345E+09", ["9826012345"]),
    ("9826012345 / 9826099999", ["9826012345", "9826099999"]), ("9826012345, 9826099999", ["9826012345", "9826099999"]),
])
def test_phone_cells(value, expected):
    assert parse_phones(value) == expected


def test_a_phone_excel_shortened_is_refused():
    with pytest.raises(CellError) as exc:
        parse_phones("9.83E+09")
    assert exc.value.code == "phone_excel_shortened"


@pytest.mark.parametrize("value, expected", [("CG-0001", "CG-0001"), (" CG 0001 ", "CG0001"),
                                             (2100012345678, "2100012345678"), (2100012345678.0, "2100012345678")])
def test_lab_ids(value, expected):
    assert parse_id(value) == expected


def test_cell_text_for_the_error_report():
    assert cell_text(datetime(2021, 5, 12)) == "12/05/2021"
    assert cell_text(datetime(2021, 5, 12, 10, 30)) == "12/05/2021 10:30"
    assert cell_text(9826012345.0) == "9826012345"
    assert cell_text(None) == ""
    assert cell_text("  x ") == "x"


def test_parse_row_reports_each_field_once_and_keeps_blanks_blank():
    data, errors = parse_row({"name": "????", "age": "", "sex": "X", "phone": "98260 12345 / 98261 11111",
                                       "positive_date": "12/05/2021", "address": "NA", "setting": None})
    assert {(f, c) for f, c, _p in errors} == {("name", "name_no_letters"), ("age", "required_blank"),
                                               ("sex", "sex_unknown")}
    assert "name" not in data and "sex" not in data
    assert (data["phone"], data["attendant_phone"]) == ("98260 12345", "98261 11111")
    assert data["address"] is None and data["setting"] is None


def test_parse_row_home_isolation_no_needs_a_facility():
    data, _errors = parse_row({"home_isolation": "No"})
    assert data.get("not_home") and data["setting"] is None
    data, _errors = parse_row({"home_isolation": "Yes", "setting": None})
    assert data["setting"] == "home"


# --- places ---

VILLAGES = PlaceIndex([
    Place(1, "Ward 1 Gandhi Nagar", group=10, label="Ward 1 Gandhi Nagar (Raipur Urban)"),
    Place(2, "Ward 12 Civil Lines", group=10, label="Ward 12 Civil Lines (Raipur Urban)"),
    Place(3, "Kendri", group=20, label="Kendri (Abhanpur)"),
    Place(4, "Kendri", group=30, label="Kendri (Arang)"),
    Place(5, "Gobra Navapara", group=20, label="Gobra Navapara (Abhanpur)"),
    Place(6, "Mandir Hasaud", group=30, label="Mandir Hasaud (Arang)"),
])


@pytest.mark.parametrize("text, group, expected", [
    ("Gobra Navapara", None, 5), ("GOBRA  NAVAPARA", None, 5), ("Gobra-Navapara", None, 5),
    ("Gobra Nawapara", None, 5),             # a misspelling
    ("Mandir Hasod", None, 6),
    ("Ward 12", None, 2), ("ward 1", None, 1), ("Gobra", None, 5),  # the words a name starts with
    ("Kendri", 30, 4),                        # the block settles a name two blocks share
])
def test_places_match_tolerantly(text, group, expected):
    assert VILLAGES.match(text, group=group).id == expected


@pytest.mark.parametrize("text, code, mentions", [
    ("Kendri", "place_ambiguous", "Kendri (Abhanpur), Kendri (Arang)"),
    ("Ward 13", "place_unknown_suggest", "Ward 12 Civil Lines"),   # numbers must agree
    ("Gobri", "place_unknown_suggest", "Gobra Navapara"),
    ("Timbuktu", "place_unknown", ""),
])
def test_places_that_do_not_match_say_why(text, code, mentions):
    with pytest.raises(CellError) as exc:
        VILLAGES.match(text)
    assert exc.value.code == code
    assert mentions in " ".join(str(v) for v in exc.value.params.values())


def test_a_prefix_of_one_name_matches():
    facilities = PlaceIndex([Place(1, "AIIMS Raipur", kind="hospital"), Place(2, "Indoor Stadium CCC", kind="ccc")])
    assert facilities.match("aiims").id == 1
    assert facilities.match("indoor stadium").id == 2


# --- the same person ---

@pytest.mark.parametrize("a, b, same", [
    ("Sunita Sahu", "sunita  sahu", True), ("Sunita Sahu", "Smt. Sunita Sahu", True),
    ("Geeta Verma", "Gita Verma", True), ("Sunita Sahu", "Sunita Sahoo", True), ("Pooja Dhruw", "Puja Dhruv", True),
    ("Laxmi Netam", "Lakshmi Netam", True), ("Sunita", "Sunita Sahu", True),
    ("Sunita Devi Sahu", "Sunita Sahu", True),
    ("Ramesh Sahu", "Rakesh Sahu", False),   # 91 % alike, two people sharing a family phone
    ("Manoj Sahu", "Manju Sahu", False), ("Sunita Sahu", "Ramesh Sahu", False), ("Sahu", "Ramesh Sahu", False),
    ("सुनीता साहू", "सुनीता साहू", True), ("सुनीता साहू", "Sunita Sahu", False),
])
def test_similar_names(a, b, same):
    assert similar_names(a, b) is same
    assert similar_names(b, a) is same


def _row(**kw):
    row = {"name": "Sunita Sahu", "phone": "+919826012345", "lab_id": None, "positive_date": date(2021, 5, 12)}
    row.update(kw)
    return row


@pytest.mark.parametrize("record, expected", [
    (_row(lab_id="CG-1", active=True), "lab"),
    (_row(lab_id="cg-1", name="S. Sahu", active=False), "lab"),                 # same lab ID and phone
    (_row(lab_id="CG-1", name="Ramesh Verma", phone="+919826099999", active=True), "lab_conflict"),
    (_row(lab_id="CG-9", active=True), "phone_name"),                           # retested: still one person
    (_row(active=True, name="Sunita Sahoo"), "phone_name"),
    (_row(active=False, positive_date=date(2020, 9, 1)), None),                 # recovered: a new episode
    (_row(active=False), "phone_name"),                                         # … unless the same test
    (_row(active=True, name="Rakesh Sahu"), "other"),                         # someone else on the phone
    (_row(active=True, name="Anita Sahu"), "held"),                           # a letter off: misspelt, or not?
    (_row(active=True, phone="+919826099999"), None),
])
def test_same_person(record, expected):
    assert judge(_row(lab_id="CG-1"), record).how == expected


def test_plan_update_never_overwrites_with_blanks_and_moves_only_when_said():
    current = {"age": 40, "sex": "female", "address": "House 1", "village_id": 3, "lab_id": "CG-1",
               "comorbidities": ["diabetes"], "symptom_onset_date": None, "setting": "home", "facility_id": None,
               "phone": "+919826012345", "active": True, "language": "hi", "attendant_phone": None,
               "abha_number": None}
    blank = {"age": None, "address": "", "village_id": None, "comorbidities": [], "lab_id": None, "setting": "home",
             "explicit_setting": False, "language": None}
    assert plan_update(current, blank) == {}
    incoming = {"age": 41, "address": "House 2", "lab_id": "CG-2", "comorbidities": ["hypertension", "diabetes"],
                "symptom_onset_date": date(2021, 5, 10), "setting": "hospital", "facility_id": 7,
                "explicit_setting": True, "phone": "+919826099999"}
    changes = plan_update(current, incoming)
    assert changes == {"age": (40, 41), "address": ("House 1", "House 2"),
                       "comorbidities": (["diabetes"], ["diabetes", "hypertension"]),
                       "symptom_onset_date": (None, date(2021, 5, 10)),
                       "setting": ("home", "hospital"), "facility_id": (None, 7)}  # lab ID kept, phone kept
    assert set(overwrites(changes)) == {"age", "address", "setting"}
    assert plan_update(current, incoming, phone_may_change=True)["phone"] == (
        "+919826012345", "+919826099999")
    assert "setting" not in plan_update(dict(current, active=False), incoming)
