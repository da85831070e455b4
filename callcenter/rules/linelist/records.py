"""A line-list row against a patient on record: the same person or not, and what the row changes."""
import re

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


def similar_names(a, b):
    """Two names are the same person's (given the same phone number) when they are equal after case,
    spacing and honorifics ('Smt.') are ignored, are spelling variants word for word (Geeta Sahu /
    Gita Sahoo), or one is the other with words left out but the same first name (Sunita / Sunita Sahu).

    Not a plain similarity ratio: family members share phones, and 'Ramesh Sahu' and 'Rakesh Sahu'
    are 91 % alike but two people."""
    ta, tb = _name_tokens(a), _name_tokens(b)
    if not ta or not tb:
        return name_key(a) == name_key(b)
    if ta == tb:
        return True
    sa, sb = [_spelling(t) for t in ta], [_spelling(t) for t in tb]
    if sa == sb:
        return True
    short, long_ = (sa, sb) if len(sa) <= len(sb) else (sb, sa)
    return len(short) < len(long_) and short[0] == long_[0] and set(short) <= set(long_)


def lab_key(lab_id):
    return "".join((lab_id or "").split()).upper()


def same_person(row, record):
    """How a line-list row and a patient on record are related: 'lab' (same lab/sample ID and the same
    phone or a similar name), 'phone_name' (same phone and a similar name, for a patient still followed
    up or one whose positive date is this row's), 'lab_conflict' (the lab ID is someone else's), or None.

    `row` and `record` are mappings with name, phone, lab_id, positive_date; `record` also has active."""
    if row.get("lab_id") and record.get("lab_id") and lab_key(row["lab_id"]) == lab_key(record["lab_id"]):
        if row["phone"] == record["phone"] or similar_names(row["name"], record["name"]):
            return "lab"
        return "lab_conflict"
    if row["phone"] == record["phone"] and similar_names(row["name"], record["name"]):
        if record["active"] or record.get("positive_date") == row.get("positive_date"):
            return "phone_name"
    return None


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
