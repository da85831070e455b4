"""A line-list row against a patient on record: the same person or not, and what the row changes."""
import re
from collections import namedtuple
from functools import lru_cache

from rapidfuzz import fuzz

from ..identity import name_key
from .cells import fold, folded

HONORIFICS = folded("smt", "shri", "shree", "sri", "mr", "mrs", "ms", "miss", "km", "kumari", "dr", "late",
                    "श्री", "श्रीमती", "कु", "कुमारी", "सुश्री", "डॉ")


def _name_tokens(name):
    return [t for t in fold(name).split() if t not in HONORIFICS]


def _spelling(token):
    """A Latin-letter name in one spelling, for the variants of Indian names: Geeta/Gita, Sahu/Sahoo,
    Pooja/Puja, Dhruv/Dhruw, Laxmi/Lakshmi agree; Ramesh/Rakesh and Manoj/Manju do not."""
    if not token.isascii():
        return token
    t = token.replace("ph", "f").replace("w", "v").replace("z", "j").replace("q", "k").replace("ck", "k")
    t = t.replace("x", "ksh").replace("ee", "i").replace("oo", "u")
    t = re.sub(r"(?<=[^aeiou])h", "", t)  # dh, bh, sh … → d, b, s
    return re.sub(r"(.)\1+", r"\1", t)


NEAR_RATIO = 85   # rapidfuzz ratio from which two names that do not match may be one name misspelt
AGE_SLACK = 1     # years an age may differ and still be the same person's (an estimate, a birthday)
SEX_LETTERS = {"female": "F", "male": "M", "other": "O"}


def _words_agree(a, b):
    """One word of a name against another: equal, or one is the other's initial ('R' and 'Ramesh')."""
    return a == b or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))


def _covers(short, long_):
    """Every word of the shorter name stands for a different word of the longer (whole words matched first,
    then initials), the longer's first name among them: a surname alone never stands for a whole name
    ('Sahu' is not 'Ramesh Sahu')."""
    left = list(long_)
    for word in sorted(short, key=len, reverse=True):
        match = next((w for w in left if w == word), None) or next((w for w in left if _words_agree(word, w)), None)
        if match is None:
            return False
        left.remove(match)
    return long_[0] not in left


@lru_cache(maxsize=4096)
def _forms(name):
    """A name's words in one spelling, honorifics left out (kept: a chunk's rows meet the same names again)."""
    return tuple(_spelling(t) for t in _name_tokens(name))


def name_match(a, b):
    """How two names on one phone compare: 'same', 'short', 'near' or None (two names).

    'same': the same words after case, spacing, honorifics ('Smt.', 'Shri') and spelling variants
    (Geeta/Gita, Sahu/Sahoo) are ignored, in any order. 'short': one is the other with words left out or
    written as initials, the first name kept (Sunita / Sunita Sahu, R. K. Sharma / Ramesh Kumar Sharma, Sahu
    Sunita / Sunita Devi Sahu).
    'near': neither, but a letter or two apart (Ramesh / Rakesh Sahu, rapidfuzz ratio ≥ NEAR_RATIO): the
    same name misspelt, or a relative's; only age and sex can tell. Hindi and English spellings of one name
    are two names (no transliteration)."""
    sa, sb = _forms(a), _forms(b)
    if not sa or not sb:
        return "same" if name_key(a) == name_key(b) else None
    if sorted(sa) == sorted(sb) or "".join(sa) == "".join(sb):  # (Ram Kumar / Ramkumar)
        return "same"
    short, long_ = (sa, sb) if len(sa) <= len(sb) else (sb, sa)
    if _covers(short, long_):
        return "short"
    a_text, b_text = " ".join(sa), " ".join(sb)
    if max(fuzz.ratio(a_text, b_text), fuzz.token_sort_ratio(a_text, b_text)) >= NEAR_RATIO:
        return "near"
    return None


def similar_names(a, b):
    """Two names are the same person's (given the same phone number, age and sex) when name_match finds them
    the same or one a short form of the other. Not a plain similarity ratio: family members share phones, and
    'Ramesh Sahu' and 'Rakesh Sahu' are 91 % alike but two people."""
    return name_match(a, b) in ("same", "short")


def age_agrees(recorded, recorded_on, given, today):
    """An age given now fits one recorded on `recorded_on`: within AGE_SLACK of it, plus the years since."""
    if recorded is None or given is None:
        return True
    years = max(0, (today - recorded_on).days) // 365 if recorded_on and today else 0
    return recorded - AGE_SLACK <= given <= recorded + years + AGE_SLACK


def differences(row, record, today):
    """What in a row says it is not about this person: some of 'age', 'sex' (in that order)."""
    found = []
    if not age_agrees(record.get("age"), record.get("age_on"), row.get("age"), today):
        found.append("age")
    if row.get("sex") and record.get("sex") and row["sex"] != record["sex"]:
        found.append("sex")
    return found


def age_sex(values):
    """'36 F': an age and sex as a line list writes them, for the messages that compare two people."""
    return f"{values.get('age')} {SEX_LETTERS.get(values.get('sex'), values.get('sex') or '')}".strip()


def lab_key(lab_id):
    return "".join((lab_id or "").split()).upper()


Verdict = namedtuple("Verdict", "how reason name")
UNRELATED = Verdict(None, None, None)


def judge(row, record, today=None):
    """What a line-list row is to one patient on record (or added by an earlier row of the file).

    `how` is 'lab' or 'phone_name' (the same person: the row updates them), 'lab_conflict' (the row's lab
    ID is this other person's), 'held' (cannot tell; `reason` says why), 'other' (someone else on the same
    phone; `reason` 'told_apart' when the names alike were told apart by age or sex) or None (unrelated).
    `name` is how the names compare (name_match).

    The same person needs the same sex and an age within a year (plus the years since it was recorded) as
    well as the phone or lab ID and the name: a family's shared phone carries several people. When the
    name is the same but the age or sex is not (a mistake, or a namesake), when the name is nearly the same
    and the age and sex are too (Ramesh / Rakesh, one misspelt?), or when a lab ID's owner has another age
    or sex, the row is held for review: 'held_same_name', 'held_near_name', 'held_lab'.

    `row` and `record` are mappings with name, phone, lab_id, positive_date, age, sex; `record` also has
    active and age_on (the date its age was recorded)."""
    agrees = not differences(row, record, today)
    if row.get("lab_id") and record.get("lab_id") and lab_key(row["lab_id"]) == lab_key(record["lab_id"]):
        names = None if row["phone"] == record["phone"] else name_match(row["name"], record["name"])
        if row["phone"] != record["phone"] and names is None:
            return Verdict("lab_conflict", None, names)
        return Verdict("lab", None, names) if agrees else Verdict("held", "held_lab", names)
    if row["phone"] != record["phone"]:
        return UNRELATED
    if not (record["active"] or record.get("positive_date") == row.get("positive_date")):
        return UNRELATED  # an ended follow-up: positive again is a new episode
    names = name_match(row["name"], record["name"])
    if names in ("same", "short") and agrees:
        return Verdict("phone_name", None, names)
    if names == "same":
        return Verdict("held", "held_same_name", names)
    if names == "near" and agrees:
        return Verdict("held", "held_near_name", names)
    return Verdict("other", "told_apart" if names else None, names)


# --- updating a record -------------------------------------------------------------------------------

OVERWRITE_FIELDS = ("age", "sex", "attendant_phone", "address", "village_id", "abha_number", "language")
FILL_FIELDS = ("lab_id", "symptom_onset_date")


def _blank(value):
    return value is None or value == "" or value == []


def plan_update(current, incoming, phone_may_change=False):
    """The changes a row makes to a patient on record: {field: (old, new)}.

    Blanks never overwrite data. Age, sex, attendant phone, address, village, ABHA and language take
    the row's value; a lab ID and symptom onset only fill a blank; comorbidities are added, never
    removed; the phone changes only when the lab ID identified the person. Name and positive date
    are never changed. A setting or facility the row states (explicit_setting) changes the place of
    a patient still followed up: the caller records that as a Transfer."""
    changes = {}
    for field in OVERWRITE_FIELDS:
        new = incoming.get(field)
        if not _blank(new) and new != current.get(field):
            changes[field] = (current.get(field), new)
    for field in FILL_FIELDS:
        new = incoming.get(field)
        if not _blank(new) and _blank(current.get(field)):
            changes[field] = (current.get(field), new)
    old_list = list(current.get("comorbidities") or [])
    added = [c for c in incoming.get("comorbidities") or [] if c not in old_list]
    if added:
        changes["comorbidities"] = (old_list, old_list + added)
    if phone_may_change and incoming.get("phone") and incoming["phone"] != current.get("phone"):
        changes["phone"] = (current.get("phone"), incoming["phone"])
    if incoming.get("explicit_setting") and current.get("active"):
        new_place = (incoming["setting"], incoming.get("facility_id"))
        if new_place != (current.get("setting"), current.get("facility_id")):
            changes["setting"] = (current.get("setting"), incoming["setting"])
            changes["facility_id"] = (current.get("facility_id"), incoming.get("facility_id"))
    return changes


def overwrites(changes):
    """The changes that replace a value (not fill a blank or add to a list)."""
    return {f: c for f, c in changes.items() if f != "comorbidities" and not _blank(c[0])}
