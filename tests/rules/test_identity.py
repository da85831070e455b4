import pytest

from callcenter.rules.identity import InvalidValue, format_phone, name_key, normalize_abha, normalize_indian_mobile


@pytest.mark.parametrize("raw", ["9826012345", "98260 12345", "09826012345", "+91 98260-12345", "919826012345",
                                 "+91(982)6012345", " 9826012345 "])
def test_indian_mobiles_normalise_to_e164(raw):
    assert normalize_indian_mobile(raw) == "+919826012345"


@pytest.mark.parametrize("raw, code", [
    ("", "phone_invalid"), (None, "phone_invalid"), ("12345", "phone_invalid"), ("abcdefghij", "phone_invalid"),
    ("+14155552671", "phone_not_indian"), ("1234567890", "phone_not_mobile"), ("98260123456", "phone_invalid"),
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
