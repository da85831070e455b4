"""rules/replies/: every form of SMS reply (English, Hindi, romanised, mixed, garbage) and the IVR keys."""
import pytest

from callcenter.rules import vitals
from callcenter.rules.replies.keys import InvalidKeys, ivr_feeling, ivr_need, ivr_spo2, ivr_temperature
from callcenter.rules.replies.sms import Reply, language_of, parse_sms

# text → what must be understood (fields not named must be empty/None); "understood" is checked too.
CASES = [
    # the number menu
    ("1", dict(feeling_ok=True)),
    ("2", dict(needs=("medicine",))),
    ("3", dict(needs=("doctor",))),
    ("4", dict(needs=("ambulance",))),
    ("5", dict(needs=("counselling",))),
    ("2 3", dict(needs=("medicine", "doctor"))),
    ("2,4", dict(needs=("medicine", "ambulance"))),
    ("1 2", dict(feeling_ok=True, needs=("medicine",))),
    ("२", dict(needs=("medicine",))),  # Devanagari digits
    # fine, in English and Hindi
    ("ok", dict(feeling_ok=True)),
    ("OK.", dict(feeling_ok=True)),
    ("I am fine", dict(feeling_ok=True)),
    ("all good, thanks", dict(feeling_ok=True)),
    ("theek", dict(feeling_ok=True)),
    ("theek hai ji", dict(feeling_ok=True)),
    ("main thik hoon", dict(feeling_ok=True)),
    ("ठीक", dict(feeling_ok=True)),
    ("मैं ठीक हूँ", dict(feeling_ok=True)),
    ("मैं ठीक हूं", dict(feeling_ok=True)),
    ("सब बढ़िया है", dict(feeling_ok=True)),
    ("accha hai", dict(feeling_ok=True)),
    # not well
    ("not ok", dict(feeling_ok=False)),
    ("not feeling well", dict(feeling_ok=False)),
    ("theek nahi hai", dict(feeling_ok=False)),
    ("तबीयत ठीक नहीं है", dict(feeling_ok=False)),
    ("tabiyat kharab hai", dict(feeling_ok=False)),
    ("बीमार हूँ", dict(feeling_ok=False)),
    # needs by word
    ("dawai chahiye", dict(needs=("medicine",))),
    ("dawa", dict(needs=("medicine",))),
    ("मुझे दवा चाहिए", dict(needs=("medicine",))),
    ("दवाई भेजो", dict(needs=("medicine",))),
    ("need medicine please", dict(needs=("medicine",))),
    ("doctor", dict(needs=("doctor",))),
    ("डॉक्टर से बात करनी है", dict(needs=("doctor",))),
    ("डाक्टर", dict(needs=("doctor",))),
    ("ambulance", dict(needs=("ambulance",))),
    ("AMBULANCE JALDI", dict(needs=("ambulance",))),
    ("एंबुलेंस", dict(needs=("ambulance",))),
    ("एम्बुलेंस भेजो", dict(needs=("ambulance",))),
    ("counsellor", dict(needs=("counselling",))),
    ("baat karni hai", dict(needs=("counselling",))),
    ("परामर्शदाता से बात", dict(needs=("counselling",))),
    ("oxygen chahiye", dict(needs=("oxygen",))),
    ("ऑक्सीजन चाहिए", dict(needs=("oxygen",))),
    ("hospital bed", dict(needs=("hospital_bed",))),
    ("ration chahiye", dict(needs=("food",))),
    # symptoms (warning signs among them)
    ("saans", dict(symptoms=("breathlessness",))),
    ("saans lene mein takleef", dict(symptoms=("breathlessness",))),
    ("सांस फूल रही है", dict(symptoms=("breathlessness",))),
    ("साँस लेने में दिक्कत", dict(symptoms=("breathlessness",))),
    ("breathing problem", dict(symptoms=("breathlessness",))),
    ("chest pain", dict(symptoms=("chest_pain",))),
    ("सीने में दर्द", dict(symptoms=("chest_pain",))),
    ("behosh", dict(symptoms=("confusion",))),
    ("khansi aur bukhar", dict(symptoms=("cough", "fever"))),
    ("बुखार है", dict(symptoms=("fever",))),
    # readings
    ("SPO2 91", dict(spo2=91)),
    ("spo2 91", dict(spo2=91)),
    ("SpO2: 95", dict(spo2=95)),
    ("SPO2=96%", dict(spo2=96)),
    ("sp02 94", dict(spo2=94)),
    ("o2 92", dict(spo2=92)),
    ("oxygen 90", dict(spo2=90)),
    ("ऑक्सीजन 92", dict(spo2=92)),
    ("ऑक्सीजन ९२", dict(spo2=92)),
    ("93%", dict(spo2=93)),
    ("93 spo2", dict(spo2=93)),
    ("TEMP 101.2", dict(temperature_f=101.2)),
    ("temp 99", dict(temperature_f=99.0)),
    ("temperature is 100.4 F", dict(temperature_f=100.4)),
    ("101.2F", dict(temperature_f=101.2)),
    ("101°F", dict(temperature_f=101.0)),
    ("बुखार 101", dict(temperature_f=101.0)),
    ("bukhar 102", dict(temperature_f=102.0)),
    ("तापमान 99.5", dict(temperature_f=99.5)),
    ("temp 38.5 C", dict(temperature_f=101.3)),  # Celsius only when written so
    ("38.5 °C", dict(temperature_f=101.3)),
    # combinations
    ("2 spo2 93", dict(needs=("medicine",), spo2=93)),
    ("spo2 93 2", dict(needs=("medicine",), spo2=93)),
    ("1 SPO2 97 TEMP 98.6", dict(feeling_ok=True, spo2=97, temperature_f=98.6)),
    ("spo2:93, temp:99", dict(spo2=93, temperature_f=99.0)),
    ("4 saans", dict(needs=("ambulance",), symptoms=("breathlessness",))),
    ("theek hoon spo2 97", dict(feeling_ok=True, spo2=97)),
    ("ठीक हूँ ऑक्सीजन 97 बुखार 98.4", dict(feeling_ok=True, spo2=97, temperature_f=98.4)),
    ("२ ऑक्सीजन ९३", dict(needs=("medicine",), spo2=93)),
    ("dawai chahiye, oxygen 95", dict(needs=("medicine",), spo2=95)),
]


@pytest.mark.parametrize("text,expected", CASES, ids=[c[0] for c in CASES])
def test_understood(text, expected):
    reply = parse_sms(text)
    want = dict(keyword=None, feeling_ok=None, needs=(), symptoms=(), spo2=None, temperature_f=None, unknown=(),
                rejected=())
    want.update(expected)
    assert reply == Reply(**want)
    assert reply.understood and reply.has_report


KEYWORDS = [
    ("STOP", "stop"), ("stop", "stop"), ("Stop.", "stop"), ("UNSUBSCRIBE", "stop"), ("sms band karo", "stop"),
    ("बंद", "stop"), ("मैसेज बंद करो", "stop"), ("START", "start"), ("start", "start"), ("शुरू", "start"),
    ("shuru karo", "start"), ("HELP", "help"), ("help me", "help"), ("मदद", "help"), ("madad", "help"),
]


@pytest.mark.parametrize("text,keyword", KEYWORDS, ids=[k[0] for k in KEYWORDS])
def test_keywords(text, keyword):
    reply = parse_sms(text)
    assert reply.keyword == keyword and reply.understood and not reply.has_report


def test_a_keyword_inside_a_report_is_not_a_keyword():
    # "help" with a need is a request, not the HELP keyword; "band" (stopped) next to breath is no STOP.
    assert parse_sms("help ambulance").needs == ("ambulance",)
    reply = parse_sms("saans band ho rahi hai")
    assert reply.keyword is None and reply.symptoms == ("breathlessness",)
    assert reply.unknown == ("band",) and not reply.understood  # recorded, and a volunteer reads it


GARBAGE = ["", "   ", "asdf qwerty", "???", "hello", "yes", "no", "108", "0", "12", "9", "spo2", "temp",
           "😀", "kal baat karenge shayad", "ভাল আছি"]


@pytest.mark.parametrize("text", GARBAGE)
def test_not_understood(text):
    reply = parse_sms(text)
    assert not reply.understood and reply.keyword is None
    assert reply.needs == () and reply.spo2 is None and reply.temperature_f is None


PARTIAL = [
    # understood parts are kept (a need is never dropped), the rest goes to a volunteer
    ("ambulance please my father is very sick", dict(needs=("ambulance",), feeling_ok=False), ("father",)),
    ("ok, no fever", dict(feeling_ok=True, symptoms=("fever",)), ("no",)),
    ("2 xyz", dict(needs=("medicine",)), ("xyz",)),
    ("spo2 91 spo2 95", dict(spo2=91), ("readings?",)),  # the worse reading, and a volunteer looks
    ("1 theek nahi", dict(feeling_ok=False), ("feeling?",)),  # contradictory: the safe reading
]


@pytest.mark.parametrize("text,expected,unknown", PARTIAL, ids=[p[0] for p in PARTIAL])
def test_partly_understood(text, expected, unknown):
    reply = parse_sms(text)
    for name, value in expected.items():
        assert getattr(reply, name) == value, name
    assert reply.unknown == unknown
    assert reply.has_report and not reply.understood


OUT_OF_RANGE = [
    ("spo2 40", ("spo2", 40)), ("SPO2 101", ("spo2", 101)), ("spo2 9", ("spo2", 9)), ("spo2 93.5", ("spo2", 93.5)),
    ("temp 110", ("temperature_f", 110.0)), ("TEMP 1012", ("temperature_f", 1012.0)),
    ("temp 38.5", ("temperature_f", 38.5)),  # Celsius not written: not guessed
    ("बुखार 90", ("temperature_f", 90.0)),
]


@pytest.mark.parametrize("text,rejected", OUT_OF_RANGE, ids=[o[0] for o in OUT_OF_RANGE])
def test_out_of_range_readings_are_rejected(text, rejected):
    reply = parse_sms(text)
    assert reply.rejected == (rejected,)
    assert reply.spo2 is None and reply.temperature_f is None and not reply.understood


def test_the_bounds_are_those_of_rules_vitals():
    assert parse_sms(f"spo2 {vitals.SPO2_MIN}").spo2 == vitals.SPO2_MIN
    assert parse_sms(f"spo2 {vitals.SPO2_MIN - 1}").rejected
    assert parse_sms(f"temp {vitals.TEMPERATURE_F_MAX}").temperature_f == vitals.TEMPERATURE_F_MAX
    assert parse_sms(f"temp {vitals.TEMPERATURE_F_MAX + 0.1}").rejected


def test_language_of_a_message():
    assert language_of("ठीक हूँ") == "hi"
    assert language_of("theek hoon") == "en"
    assert language_of("") == "en"


# --- IVR keys ---

@pytest.mark.parametrize("digits,value", [("1", True), ("2", False)])
def test_ivr_feeling(digits, value):
    assert ivr_feeling(digits) is value


@pytest.mark.parametrize("digits,value", [("96", 96), ("88", 88), ("50", 50), ("0", None), ("00", None)])
def test_ivr_spo2(digits, value):
    assert ivr_spo2(digits) == value


@pytest.mark.parametrize("digits,value", [
    ("1012", 101.2), ("1012#", 101.2), ("986", 98.6), ("101", 101.0), ("99", 99.0), ("1000", 100.0),
    ("101*2", 101.2), ("0", None), ("0#", None), ("93", 93.0), ("1080", 108.0)])
def test_ivr_temperature(digits, value):
    assert ivr_temperature(digits) == value


@pytest.mark.parametrize("digits,value", [("0", None), ("1", None), ("2", "medicine"), ("3", "doctor"),
                                          ("4", "ambulance"), ("5", "counselling")])
def test_ivr_need(digits, value):
    assert ivr_need(digits) == value


@pytest.mark.parametrize("parser,digits", [
    (ivr_feeling, ""), (ivr_feeling, "3"), (ivr_feeling, "12"), (ivr_feeling, "*"),
    (ivr_spo2, ""), (ivr_spo2, "9"), (ivr_spo2, "12"), (ivr_spo2, "#"),
    (ivr_temperature, ""), (ivr_temperature, "#"), (ivr_temperature, "12"),
    (ivr_temperature, "1200"), (ivr_temperature, "10123"), (ivr_temperature, "1*0*1"),
    (ivr_need, ""), (ivr_need, "6"), (ivr_need, "9"), (ivr_need, "22"),
])
def test_ivr_invalid_keys(parser, digits):
    with pytest.raises(InvalidKeys):
        parser(digits)
