import pytest

from callcenter.rules.identity import InvalidValue, format_phone, name_key, normalize_abha, normalize_indian_mobile


@pytest.mark.parametrize("raw", ["9826012345", "98260 12345", "09826012345", "+91 98260-12345", "919826012345",
                                 "+91(982)6012345", " 9826012345 "])
def test_indian_mobiles_normalise_to_e164(raw):
    assert normalize_indian_mobile(raw) == "+919826012345"


@pytest.mark.parametrize("raw, code", [
    ("", "phone_invalid"), (None, "phone_invalid"), ("12345", "phone_invalid"), ("abcdefghij", "phone_invalid"),
    ("+14155552671", "phone_not_indian"), ("022 2555 1234", "phone_not_mobile"), ("98260123456", "phone_invalid"),
])
def test_bad_phones(raw, code):
    with pytest.raises(InvalidValue) as exc:
        normalize_indian_mobile(raw)
    assert exc.value.code == code


def test_format_phone():
    assert format_phone("+919826012345") == "+91 98260 12345"
    assert format_phone("") == ""


@pytest.mark.parametrize("raw, expected", [
    ("91-1234-5678-9012", "91123456789012"), ("91123456789012", "91123456789012"),
    (" 91 1234 5678 9012 ", "91123456789012"), ("", None), (None, None)])
def test_abha(raw, expected):
    assert normalize_abha(raw) == expected


@pytest.mark.parametrize("raw", ["1234", "91-1234-5678-901", "91-1234-5678-90123", "ab-cdef-ghij-klmn",
                                 "9112-34-5678-9012"])
def test_bad_abha(raw):
    with pytest.raises(InvalidValue):
        normalize_abha(raw)


def test_name_key_ignores_case_and_spacing():
    assert name_key("  Ramesh   SAHU ") == name_key("ramesh sahu") == "ramesh sahu"


@pytest.mark.parametrize("raw", ["9999999999", "+91 99999 99999", "8888888888", "1234567890", "9876543210",
                                 "0123456789"])
def test_placeholder_numbers_are_refused_as_placeholders(raw):
    with pytest.raises(InvalidValue) as refused:
        normalize_indian_mobile(raw)
    assert refused.value.code == "phone_placeholder"


def test_a_deployments_own_placeholder_and_reading_as_written():
    with pytest.raises(InvalidValue) as refused:
        normalize_indian_mobile("98260 00000", placeholders={"9826000000"})
    assert refused.value.code == "phone_placeholder"
    assert normalize_indian_mobile("98260 00000") == "+919826000000"
    # A search, or an SMS's sender, is read as written: records from before the rule may carry one.
    assert normalize_indian_mobile("9999999999", refuse_placeholders=False) == "+919999999999"
