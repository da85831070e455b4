"""Every SMS text the system sends, by name, in Hindi and English.

TRAI DLT: each commercial SMS in India must match a registered template exactly, its variables
written {#var#}. So no message is free text: a template has fixed words, deployment constants (the
same in every message, e.g. the site's address: part of the registered text) and short variables.
registered_text() prints what to register; render() fills one message.
"""
from dataclasses import dataclass

from ... import public_urls
from ...models import OutboxPriority

DEFAULT_LANGUAGE = "hi"
MAX_VARIABLE_LENGTH = 30  # DLT providers allow 30–40 characters per variable


@dataclass(frozen=True)
class SmsTemplate:
    name: str
    texts: dict          # language → text; {name} placeholders are constants or variables
    variables: tuple = ()
    priority: int = OutboxPriority.ROUTINE  # the order the outbox hands it over in (help on the way first)
    broadcast: bool = False   # offered for awareness broadcasts (services/broadcasts)
    promotional: bool = False  # TRAI's promotional class: sent only 09:00–21:00 (rules/broadcasts.py)


TEMPLATES = {t.name: t for t in (
    SmsTemplate(
        "checkin_link",
        {"en": "Sampark COVID care: how are you today? Tell us in 1 minute: {link_base}{token} "
               "In an emergency call 108.",
         "hi": "संपर्क कोविड सेवा: आज आपकी तबीयत कैसी है? 1 मिनट में बताएं: {link_base}{token} "
               "आपात स्थिति में 108 पर कॉल करें।"},
        variables=("token",), priority=OutboxPriority.BULK),
    SmsTemplate(
        "checkin_reply",
        {"en": "Sampark COVID care: how are you today? Reply 1 fine, 2 need medicine, 3 need a doctor, "
               "4 ambulance, 5 counsellor. Add readings, e.g. SPO2 96 TEMP 99.2",
         "hi": "संपर्क कोविड सेवा: आज आपकी तबीयत कैसी है? जवाब दें: 1 ठीक हूँ, 2 दवा चाहिए, 3 डॉक्टर चाहिए, "
               "4 एम्बुलेंस, 5 परामर्शदाता। रीडिंग भी लिखें, जैसे SPO2 96 TEMP 99.2"},
        priority=OutboxPriority.BULK),
    # Help on the way (services/desks/dispatch.py): the control room sent an ambulance or a delivery.
    SmsTemplate(
        "help_ambulance",
        {"en": "Sampark COVID care: an ambulance ({vehicle}) is on its way to you, expected by {eta}. "
               "Driver: {driver}. In an emergency call 108.",
         "hi": "संपर्क कोविड सेवा: एम्बुलेंस ({vehicle}) आपके पास आ रही है, लगभग {eta} बजे तक पहुँचेगी। "
               "ड्राइवर: {driver}। आपात स्थिति में 108 पर कॉल करें।"},
        variables=("vehicle", "eta", "driver"), priority=OutboxPriority.URGENT),
    SmsTemplate(
        "help_delivery",
        {"en": "Sampark COVID care: help with your request ({what}) is on its way, expected by {when}, "
               "brought by {by}. In an emergency call 108.",
         "hi": "संपर्क कोविड सेवा: आपकी ज़रूरत ({what}) के लिए मदद रवाना हो गई है, लगभग {when} तक पहुँचेगी। "
               "लाने वाले: {by}। आपात स्थिति में 108 पर कॉल करें।"},
        variables=("what", "when", "by"), priority=OutboxPriority.URGENT),
    # To a district's duty officer (services/desks/deadlines.py): escalations nobody acknowledged in time.
    SmsTemplate(
        "escalation_overdue",
        {"en": "Sampark {district}: {count} request(s) not acknowledged in time. Most overdue: {kind}, "
               "{late} min late. Please act in the control room now.",
         "hi": "संपर्क {district}: {count} अनुरोध समय पर स्वीकार नहीं हुए। सबसे पुराना: {kind}, {late} मिनट देर। "
               "कृपया तुरंत नियंत्रण कक्ष में कार्रवाई करें।"},
        variables=("district", "count", "kind", "late"), priority=OutboxPriority.URGENT),
    # Awareness broadcasts (services/broadcasts): to many at once, after everything else.
    SmsTemplate(
        "broadcast_camp",
        {"en": "Sampark {district}: a {what} camp at {place} on {day} from {time}. Please bring an ID card.",
         "hi": "संपर्क {district}: {place} में {day} को {time} बजे से {what} शिविर। कृपया पहचान पत्र साथ लाएं।"},
        variables=("district", "what", "place", "day", "time"), priority=OutboxPriority.BROADCAST,
        broadcast=True, promotional=True),
    SmsTemplate(
        "broadcast_helpline",
        {"en": "Sampark {district}: for {what} call {number} ({hours}). In an emergency call 108.",
         "hi": "संपर्क {district}: {what} के लिए {number} पर कॉल करें ({hours})। आपात स्थिति में 108 पर कॉल करें।"},
        variables=("district", "what", "number", "hours"), priority=OutboxPriority.BROADCAST, broadcast=True),
    SmsTemplate(
        "broadcast_report_fever",
        {"en": "Sampark {district}: please tell the call centre on {number} today of anyone in {place} with "
               "fever or breathlessness.",
         "hi": "संपर्क {district}: {place} में किसी को बुखार या सांस की तकलीफ हो तो आज ही कॉल सेंटर को {number} "
               "पर बताएं।"},
        variables=("district", "number", "place"), priority=OutboxPriority.BROADCAST, broadcast=True),
)}
BROADCAST_TEMPLATES = [name for name, template in TEMPLATES.items() if template.broadcast]


def constants():
    """Deployment constants: the same in every message, so part of the registered text."""
    return {"link_base": public_urls.link_base()}


def language_of(language):
    return language if language in ("hi", "en") else DEFAULT_LANGUAGE


def render(name, language, **variables):
    """The text of one message. Raises KeyError / ValueError on an unknown template or a bad variable."""
    return renderer(name, language)(**variables)


def renderer(name, language):
    """render() for one template and language, the constants looked up once (for batches)."""
    template = TEMPLATES[name]
    text = template.texts[language_of(language)]
    fixed = constants()
    expected = set(template.variables)

    def fill(**variables):
        if set(variables) != expected:
            raise ValueError(f"{name} takes {template.variables}, got {tuple(variables)}")
        for key, value in variables.items():
            if len(str(value)) > MAX_VARIABLE_LENGTH:
                raise ValueError(f"{name}: variable {key} is longer than {MAX_VARIABLE_LENGTH} characters")
        return text.format(**fixed, **variables)
    return fill


def registered_text(name, language):
    """The text to register with DLT: constants filled in, each variable as {#var#}."""
    template = TEMPLATES[name]
    return template.texts[language].format(**constants(), **{v: "{#var#}" for v in template.variables})
