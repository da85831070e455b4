"""Parsing a patient's SMS (the rules are in this package's docstring): tokens, then readings, needs,
symptoms and feelings, with anything not understood kept as `unknown`. Pure."""
import re
from dataclasses import dataclass, field

from .. import vitals
from ..routing import NeedKind, Symptom
from .lexicon import (
    CELSIUS,
    CONNECTORS,
    FAHRENHEIT,
    FEVER_LABELS,
    FILLERS,
    FINE,
    KEYWORD_FILLERS,
    KEYWORDS,
    MENU,
    NEED_WORDS,
    NEGATION,
    OXYGEN_LABELS,
    PERCENT,
    SPO2_LABELS,
    SYMPTOM_WORDS,
    TALK,
    TEMP_LABELS,
    UNWELL,
    normalise,
)


@dataclass(frozen=True)
class Reply:
    keyword: str | None = None
    feeling_ok: bool | None = None
    needs: tuple = ()
    symptoms: tuple = ()
    spo2: int | None = None
    temperature_f: float | None = None
    unknown: tuple = ()   # words and numbers not understood (the message goes to a volunteer)
    rejected: tuple = ()  # readings outside rules/vitals.py: (("spo2", 40), ("temperature_f", 120.0))

    @property
    def has_report(self):
        return (self.feeling_ok is not None or bool(self.needs) or bool(self.symptoms)
                or self.spo2 is not None or self.temperature_f is not None)

    @property
    def understood(self):
        """Fully understood: a keyword, or a report with nothing left over."""
        return self.keyword is not None or (self.has_report and not self.unknown and not self.rejected)

    def as_dict(self):
        return {"keyword": self.keyword, "feeling_ok": self.feeling_ok, "needs": list(self.needs),
                "symptoms": list(self.symptoms), "spo2": self.spo2, "temperature_f": self.temperature_f,
                "unknown": list(self.unknown), "rejected": [list(r) for r in self.rejected]}


_SCAN = re.compile(r"""
    (?P<spo2>sp\s?o\s?2|sp02)(?![a-z0-9])          # spo2 written with its digit, kept whole
  | (?P<o2>o2)(?![a-z0-9])
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<word>(?:[a-z]|[\u0900-\u0963\u0971-\u097f])+)
  | (?P<pct>%)
  | (?P<deg>°)
  | (?P<sep>[.,;!?\u0964\u0965]+)                # ends a phrase: "ok, no fever"
  | (?P<space>[\s:"'()\[\]{}/\\\-+=*&|#@~`_]+)
  | (?P<other>.)
""", re.X)


@dataclass
class _Token:
    kind: str   # num, word, other
    text: str
    used: bool = field(default=False)


def tokens(text):
    out = []
    for m in _SCAN.finditer(normalise(text)):
        kind = m.lastgroup
        if kind == "space":
            continue
        if kind in ("spo2", "o2"):
            out.append(_Token("word", "spo2"))
        elif kind in ("pct", "deg"):
            out.append(_Token("word", m.group()))
        else:
            out.append(_Token(kind, m.group()))
    return out


def language_of(text):
    """'hi' if the text has Devanagari letters, else 'en' (for replying to an unknown sender)."""
    return "hi" if re.search(r"[\u0900-\u097f]", text or "") else "en"


def _need_of(word):
    return next((need for need, words in NEED_WORDS.items() if word in words), None)


def _symptom_of(word):
    return next((s for s, words in SYMPTOM_WORDS.items() if word in words), None)


def _keyword(toks):
    """The keyword if the whole message is one keyword (with polite filler), else None."""
    found = set()
    for t in toks:
        if t.kind == "sep":
            continue
        if t.kind != "word":
            return None
        family = next((k for k, words in KEYWORDS.items() if t.text in words), None)
        if family is not None:
            found.add(family)
        elif t.text not in KEYWORD_FILLERS:
            return None
    return found.pop() if len(found) == 1 else None


def parse_sms(text):
    """Everything a patient's SMS says that we are sure of; see the module docstring."""
    toks = tokens(text)
    keyword = _keyword(toks)
    if keyword is not None:
        return Reply(keyword=keyword)
    state = _Parse(toks)
    state.run()
    return state.result()


def _label_kind(word):
    if word in SPO2_LABELS or word in OXYGEN_LABELS:
        return "spo2"
    if word in TEMP_LABELS or word in FEVER_LABELS:
        return "temperature"
    return None


class _Parse:
    def __init__(self, toks):
        self.toks = toks
        self.feelings = []
        self.needs, self.symptoms = [], []
        self.spo2, self.temperature_f = [], []
        self.unknown, self.rejected = [], []
        self.talk = False

    def _word_at(self, j):
        return self.toks[j].text if 0 <= j < len(self.toks) and self.toks[j].kind == "word" else None

    def _next(self, i):
        """The next unused token after i, skipping words that only join a label to its number."""
        j = i + 1
        while self._word_at(j) in CONNECTORS:
            j += 1
        return j if j < len(self.toks) and not self.toks[j].used else None

    def _unit(self, i):
        """The unit written after the number at i, consumed: 'spo2', 'f', 'c' or None."""
        j = i + 1
        word = self._word_at(j)
        if word in PERCENT:
            self.toks[j].used = True
            return "spo2"
        if word in CELSIUS:
            self.toks[j].used = True
            return "c"
        if word in FAHRENHEIT:
            self.toks[j].used = True
            if self._word_at(j + 1) in ("f", "c"):  # "101 ° f", "38 ° c"
                self.toks[j + 1].used = True
                return self._word_at(j + 1)
            return "f"
        return None

    def _reading(self, kind, num_index):
        tok = self.toks[num_index]
        tok.used = True
        unit = self._unit(num_index)
        if kind == "spo2":
            self._spo2(tok.text)
        else:
            self._temperature(tok.text, celsius=unit == "c")

    def _spo2(self, text):
        if "." in text or not (vitals.SPO2_MIN <= int(text) <= vitals.SPO2_MAX):
            self.rejected.append(("spo2", float(text) if "." in text else int(text)))
        else:
            self.spo2.append(int(text))

    def _temperature(self, text, celsius=False):
        value = float(text)
        if celsius:
            value = round(value * 9 / 5 + 32, 1)
        if vitals.TEMPERATURE_F_MIN <= value <= vitals.TEMPERATURE_F_MAX:
            self.temperature_f.append(value)
        else:
            self.rejected.append(("temperature_f", value))

    def run(self):
        # Fine-words first, so that "not ok" / "theek nahi" take their negation before it counts as unknown.
        for i, tok in enumerate(self.toks):
            if tok.kind == "word" and tok.text in FINE:
                tok.used = True
                self.feelings.append(not self._negated(i))
        for i, tok in enumerate(self.toks):
            if tok.used or tok.kind == "sep":
                continue
            if tok.kind == "num":
                self._number(i)
            elif tok.kind == "word":
                self._word(i)
            else:
                tok.used = True
                self.unknown.append(tok.text)

    def _negated(self, i):
        """A negation next to a fine-word, fillers between, within the phrase: 'not feeling well', 'ठीक नहीं है'."""
        for step in (-1, 1):
            j = i + step
            while self._word_at(j) in FILLERS and self._word_at(j) not in NEGATION:
                j += step
            if self._word_at(j) in NEGATION and not self.toks[j].used:
                self.toks[j].used = True
                return True
        return False

    def _number(self, i):
        tok = self.toks[i]
        unit = self._unit(i)
        if unit is not None:
            tok.used = True
            return self._spo2(tok.text) if unit == "spo2" else self._temperature(tok.text, celsius=unit == "c")
        # "93 spo2", "101 बुखार": a number before a label that has no number of its own.
        j = self._next(i)
        if j is not None and self.toks[j].kind == "word":
            kind = _label_kind(self.toks[j].text)
            after = self._next(j)
            if kind and (after is None or self.toks[after].kind != "num"):
                self.toks[j].used = True
                return self._reading(kind, i)
        tok.used = True
        if tok.text.isdigit() and int(tok.text) in MENU:
            need = MENU[int(tok.text)]
            if need is None:
                self.feelings.append(True)
            else:
                self.needs.append(need)
        else:
            self.unknown.append(tok.text)

    def _word(self, i):
        tok = self.toks[i]
        word = tok.text
        tok.used = True
        kind = _label_kind(word)
        if kind:
            j = self._next(i)
            if j is not None and self.toks[j].kind == "num":
                return self._reading(kind, j)
            if word in OXYGEN_LABELS:
                return self.needs.append(NeedKind.OXYGEN)
            if word in FEVER_LABELS:
                return self.symptoms.append(Symptom.FEVER)
            return self.unknown.append(word)  # "spo2" with no number
        if word in UNWELL:
            return self.feelings.append(False)
        if word in NEGATION:
            return self.unknown.append(word)  # negating what? a volunteer reads it
        need, symptom = _need_of(word), _symptom_of(word)
        if need is not None:
            return self.needs.append(need)
        if symptom is not None:
            return self.symptoms.append(symptom)
        if word in TALK:
            self.talk = True
            return None
        if word in FILLERS or word in KEYWORD_FILLERS:
            return None
        return self.unknown.append(word)

    def result(self):
        unknown = list(self.unknown)
        feeling = None
        if self.feelings:
            feeling = all(self.feelings)  # "1" and "theek nahi" together: not fine (the safe reading)
            if len(set(self.feelings)) > 1:
                unknown.append("feeling?")
        needs = list(dict.fromkeys(self.needs))
        if self.talk and not needs and not unknown:  # "baat karni hai" alone; in a longer text, a volunteer reads
            needs.append(NeedKind.COUNSELLING)
        spo2 = min(self.spo2) if self.spo2 else None  # two readings: the worse one, and a volunteer looks
        temp = max(self.temperature_f) if self.temperature_f else None
        if len(set(self.spo2)) > 1 or len(set(self.temperature_f)) > 1:
            unknown.append("readings?")
        return Reply(feeling_ok=feeling, needs=tuple(str(n) for n in needs),
                     symptoms=tuple(str(s) for s in dict.fromkeys(self.symptoms)), spo2=spo2,
                     temperature_f=temp, unknown=tuple(unknown), rejected=tuple(self.rejected))
