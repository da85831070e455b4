"""Reading what a patient sends back: SMS text and IVR key presses.

Pure: no Flask, no database. `parse_sms(text)` understands the number menu (1 fine, 2 medicine,
3 doctor, 4 ambulance, 5 counsellor), words in English and Hindi (Devanagari and romanised),
readings (`SPO2 91`, `TEMP 101.2`, `ऑक्सीजन 92`, `बुखार 101`, `93%`, `101.2F`) and the
STOP / START / HELP keywords. What it does not understand it says so (`unknown`), so the message
goes to a volunteer; it never guesses a reading or a need from a word it does not know.
"""
import enum
import re
import unicodedata
from dataclasses import dataclass, field

from . import vitals
from .routing import NeedKind, Symptom


class Keyword(enum.StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


MENU = {1: None, 2: NeedKind.MEDICINE, 3: NeedKind.DOCTOR, 4: NeedKind.AMBULANCE, 5: NeedKind.COUNSELLING}


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


_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")


def normalise(text):
    """Lower case, Devanagari digits as ASCII, no nukta or zero-width joiners, chandrabindu as anusvara."""
    text = unicodedata.normalize("NFD", text or "")
    text = text.replace("\u093c", "").replace("\u0901", "\u0902").replace("\u200c", "").replace("\u200d", "")
    return unicodedata.normalize("NFC", text).casefold().translate(_DEVANAGARI_DIGITS)


# --- the lexicon (normalised spellings: lower case, no nukta, chandrabindu written as anusvara) ---

def _words(text):
    return frozenset(normalise(w) for w in text.split())


FINE = _words("""ok okay okey okk oky fine good well better theek thik thek theekh thikh tik teek thik-thak
    accha acha achha achcha achchha acchha badhiya badiya sahi normal alright
    ठीक ठिक अच्छा अच्छी अच्छे बढिया सही नॉर्मल नार्मल ओके""")
UNWELL = _words("""unwell sick ill bad worse kharab karab kharaab bimar beemar bemar
    खराब बीमार बिमार""")
NEGATION = _words("not no nahi nahin nai nhi nahee na never dont don doesnt isnt नहीं नही ना न")
NEED_WORDS = {
    NeedKind.MEDICINE: _words("""medicine medicines meds med medication medications tablet tablets goli goliyan
        dawa dawai dava davai dawaai dawaiyan dawaiya davaiyan kit दवा दवाई दवाइयां दवाईयां दवाएं गोली गोलियां किट"""),
    NeedKind.DOCTOR: _words("""doctor doctors dr docter doctar daktar dactor daktor salah advice
        डॉक्टर डाक्टर डोक्टर चिकित्सक सलाह"""),
    NeedKind.AMBULANCE: _words("""ambulance ambulence ambulans amblance embulance ambulanc ambulens
        एंबुलेंस एम्बुलेंस अम्बुलेंस एंबुलैंस एम्बुलैंस ऐम्बुलेंस"""),
    NeedKind.COUNSELLING: _words("""counsellor counselor counselling counseling counsel counciling councelling
        councellor tension tanav dar darr ghabrahat anxiety anxious depressed depression
        paramarshdata काउंसलर काउंसलिंग परामर्श परामर्शदाता तनाव डर घबराहट"""),
    NeedKind.HOSPITAL_BED: _words("bed beds hospital aspatal aspataal admit bharti बेड अस्पताल हॉस्पिटल भर्ती"),
    NeedKind.OXYGEN: _words("cylinder concentrator सिलेंडर"),
    NeedKind.FOOD: _words("food khana khaana ration bhojan राशन खाना भोजन"),
    NeedKind.TEST: _words("test testing jaanch janch जांच टेस्ट"),
}
TALK = _words("talk baat baatcheet बात बातचीत")  # counselling, unless another word says who or what about
SYMPTOM_WORDS = {
    Symptom.BREATHLESSNESS: _words("""saans sans saas sas swas shwas breath breathe breathing breathless
        breathlessness ghutan ghut सांस सास श्वास स्वास घुटन"""),
    Symptom.CHEST_PAIN: _words("chest seena sina seene sine chhati chati chhaati सीना सीने छाती"),
    Symptom.CONFUSION: _words("confused confusion behosh behoshi unconscious बेहोश बेहोशी"),
    Symptom.COUGH: _words("cough coughing khansi khaansi khasi खांसी खासी"),
    Symptom.LOSS_OF_TASTE_SMELL: _words("taste smell swad swaad gandh khushboo स्वाद गंध खुशबू"),
    Symptom.FATIGUE: _words("tired weakness weak kamzori kamjori thakan thakaan कमजोरी थकान"),
    Symptom.DIARRHOEA: _words("diarrhoea diarrhea loose dast दस्त"),
}
# Reading labels: with a number they are readings; alone, oxygen is a need and fever a symptom.
SPO2_LABELS = _words("spo2 sp02 o2 spo saturation sat")
OXYGEN_LABELS = _words("oxygen oxigen oxy oksijan oxijan ऑक्सीजन आक्सीजन ओक्सीजन ऑक्सिजन अक्सीजन")
TEMP_LABELS = _words("temp temperature tmp tapman taapmaan taapman तापमान ताप टेम्परेचर")
FEVER_LABELS = _words("fever bukhar bukhaar bukar jwar बुखार ज्वर")
PERCENT = _words("% percent per pratishat प्रतिशत")
FAHRENHEIT = _words("f ° °f fahrenheit farenheit degree degrees deg डिग्री फारेनहाइट")
CELSIUS = _words("c °c celsius centigrade सेल्सियस")
CONNECTORS = _words("is = : hai है level reading स्तर लेवल tha था aaya aya आया")  # "spo2 is 93", "बुखार है 101"

KEYWORDS = {
    Keyword.STOP: _words("stop stopall unsubscribe cancel end quit optout band roko बंद रोको रोकें"),
    Keyword.START: _words("start unstop resume shuru chalu शुरू चालू"),
    Keyword.HELP: _words("help info madad sahayata मदद सहायता"),
}
KEYWORD_FILLERS = _words("""please pls plz sms msg message messages karo kare karein karen kar do dijiye kijiye
    me my all ji sir sab मैसेज एसएमएस करो करें करे कर दो दें कीजिए दीजिए सब जी""")
FILLERS = _words("""i am im i'm is are was a an the my me of and for to in at on have has had having feel feeling
    feels very much too so also still really bahut bohot bahot zyada jyada jada thoda thora please pls plz kindly
    sir madam mam ji ha haan han yes hi hello namaste namaskar thanks thank you u thx ty dhanyavad dhanyawad
    shukriya main mai mein mujhe muje mujhko humko hamein hume hum ham hoon hu hun hai hain he h ho hoo raha rahi
    rahe rhi rha ki ka ke ko se par pe aur or bhi abhi ab aaj today now chahiye chaiye chahie chahye need needs
    needed want wants required require send bhejo bhej bhejiye jaldi urgent urgently turant immediately quickly
    asap lene lena le lete lane takleef taklif dikkat dikat problem problems pareshani issue trouble difficulty
    hard pain paining dard ho gaya gayi gai hua hui sab all everything bilkul ekdum its it report meri mera mere
    hamara hamari tabiyat tabiyet tabiyat tabeeyat health sehat condition halat call karo kare karen karein kijiye
    do dijiye dena mil milna sakta sakti sakte karni karna karne with t s d m re ve ll can cannot cant help madad
    sahayata short phool phoolna phool rahi fool foolna please feeling sir ji sabhi
    मैं मै हम मुझे मुझको हमें हमको हूं हू हैं है हो रहा रही रहे की का के को से में पर और भी अभी आज चाहिए चाहिये
    भेजो भेजें भेजिए जल्दी तुरंत लेने लेना तकलीफ दिक्कत परेशानी समस्या दर्द गया गई गयी हुआ हुई सब बिलकुल बिल्कुल
    एकदम मेरी मेरा मेरे तबीयत तबियत सेहत हालत जी हां हाँ नमस्ते नमस्कार धन्यवाद शुक्रिया कृपया बहुत ज्यादा थोडा
    करो करें कीजिए दीजिए मदद सहायता फूल फूलना रहीं करनी करना करने""")

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


# --- IVR key presses ---------------------------------------------------------------------------

class InvalidKeys(ValueError):
    """The keys pressed are not an answer to this question (ask again)."""


def ivr_feeling(digits):
    """1 fine → True, 2 not well → False."""
    answers = {"1": True, "2": False}
    if digits not in answers:
        raise InvalidKeys(digits)
    return answers[digits]


def ivr_spo2(digits):
    """Two digits, e.g. 96; 0 or 00 = no oximeter (None)."""
    if digits in ("0", "00"):
        return None
    if not (digits.isdigit() and len(digits) == 2 and vitals.SPO2_MIN <= int(digits) <= vitals.SPO2_MAX):
        raise InvalidKeys(digits)
    return int(digits)


def ivr_temperature(digits):
    """°F keyed then #: 1012 = 101.2, 986 = 98.6, 101 = 101.0; * may stand for the point; 0 = no thermometer."""
    digits = (digits or "").rstrip("#")
    if digits == "0":
        return None
    if digits.count("*") == 1 and digits.replace("*", "").isdigit():
        candidates = [float(digits.replace("*", "."))]
    elif digits.isdigit() and len(digits) <= 4:
        candidates = [float(digits), int(digits) / 10]  # whole degrees first, then tenths
    else:
        raise InvalidKeys(digits)
    for value in candidates:
        if vitals.TEMPERATURE_F_MIN <= value <= vitals.TEMPERATURE_F_MAX:
            return round(value, 1)
    raise InvalidKeys(digits)


def ivr_need(digits):
    """0 (or 1, "fine") = nothing; 2–5 the menu's needs."""
    if digits in ("0", "1"):
        return None
    if digits.isdigit() and int(digits) in MENU and MENU[int(digits)] is not None:
        return str(MENU[int(digits)])
    raise InvalidKeys(digits)
