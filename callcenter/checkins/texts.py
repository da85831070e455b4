"""What the patient reads or hears, in Hindi and English: SMS replies, the IVR's words, the link form.

Patient-facing words are data here rather than in the staff interface's catalogue: the language is the
patient's (from their record or the link's switch), not the signed-in user's, and an SMS or a spoken
prompt must never fall back to another language. Keep the two languages saying the same thing.
"""
from ..rules import vitals

LANGUAGES = ("hi", "en")
DEFAULT = "hi"
SAY_LANGUAGE = {"hi": "hi-IN", "en": "en-IN"}  # Twilio <Say language>


def language(code):
    return code if code in LANGUAGES else DEFAULT


NEEDS = {
    "en": {"medicine": "medicine", "doctor": "a doctor", "ambulance": "an ambulance", "counselling": "a counsellor",
           "oxygen": "oxygen", "hospital_bed": "a hospital bed", "food": "food", "test": "a test", "other": "help"},
    "hi": {"medicine": "दवा", "doctor": "डॉक्टर", "ambulance": "एम्बुलेंस", "counselling": "परामर्शदाता",
           "oxygen": "ऑक्सीजन", "hospital_bed": "अस्पताल में बेड", "food": "राशन", "test": "जाँच", "other": "मदद"},
}

SMS = {
    "en": {
        "thanks": "Sampark: thank you, your check-in is recorded. Take care.",
        "passed_on": "Sampark: thank you. We have passed on your request ({needs}); you will get a call.",
        "emergency": "Sampark: we have alerted the emergency control room; they will call you now. "
                     "If it is urgent, call 108.",
        "volunteer_reads": " A volunteer will also read your message.",
        "not_understood": "Sampark: sorry, we did not understand. A volunteer will read your message. ",
        "rejected": "SpO2 must be {spo2_min}-{spo2_max}, temperature {temp_min}-{temp_max} F. ",
        "help": "Reply 1 fine, 2 medicine, 3 doctor, 4 ambulance, 5 counsellor. Readings: SPO2 96 TEMP 99.2. "
                "STOP to stop SMS.",
        "stop": "Sampark: you will get no more SMS from us. Send START to get them again.",
        "start": "Sampark: your SMS are on again. Send HELP for the menu.",
        "unknown_sender": "Sampark COVID call centre: we could not find your number. A volunteer will read "
                          "your message. In an emergency call 108.",
    },
    "hi": {
        "thanks": "संपर्क: धन्यवाद, आपकी जानकारी दर्ज हो गई है। अपना ध्यान रखें।",
        "passed_on": "संपर्क: धन्यवाद। आपका अनुरोध ({needs}) आगे भेज दिया गया है; आपको फ़ोन आएगा।",
        "emergency": "संपर्क: आपातकालीन नियंत्रण कक्ष को सूचना दे दी गई है, वे आपको अभी फ़ोन करेंगे। "
                     "बहुत ज़रूरी हो तो 108 पर कॉल करें।",
        "volunteer_reads": " एक स्वयंसेवक आपका संदेश भी पढ़ेगा।",
        "not_understood": "संपर्क: क्षमा करें, हम समझ नहीं पाए। एक स्वयंसेवक आपका संदेश पढ़ेगा। ",
        "rejected": "SpO2 {spo2_min}-{spo2_max} और तापमान {temp_min}-{temp_max} F के बीच लिखें। ",
        "help": "जवाब दें: 1 ठीक हूँ, 2 दवा, 3 डॉक्टर, 4 एम्बुलेंस, 5 परामर्शदाता। रीडिंग: SPO2 96 TEMP 99.2। "
                "SMS बंद करने के लिए STOP।",
        "stop": "संपर्क: अब आपको हमारे SMS नहीं आएँगे। फिर से पाने के लिए START भेजें।",
        "start": "संपर्क: आपके SMS फिर से शुरू हो गए हैं। मेन्यू के लिए HELP भेजें।",
        "unknown_sender": "संपर्क कोविड कॉल सेंटर: आपका नंबर हमारे पास नहीं मिला। एक स्वयंसेवक आपका संदेश "
                          "पढ़ेगा। आपात स्थिति में 108 पर कॉल करें।",
    },
}
RANGES = {"spo2_min": vitals.SPO2_MIN, "spo2_max": vitals.SPO2_MAX,
          "temp_min": int(vitals.TEMPERATURE_F_MIN), "temp_max": int(vitals.TEMPERATURE_F_MAX)}

IVR = {
    "en": {
        "greeting": "Namaste. This is the Sampark COVID call centre, calling to ask how you are.",
        "feeling": "If you are feeling fine, press 1. If you are not well, press 2.",
        "spo2": "Please key in your oxygen level from the pulse oximeter, in two digits. For example, 9 6. "
                "If you have no oximeter, press 0.",
        "temperature": "Please key in your temperature in Fahrenheit, then press hash. For example, for 101.2 "
                       "degrees, press 1 0 1 2 hash. If you have no thermometer, press 0 then hash.",
        "need": "Do you need anything? For medicine, press 2. For a doctor, press 3. For an ambulance, press 4. "
                "To talk to a counsellor, press 5. If you need nothing, press 0.",
        "again": "Sorry, that was not a valid answer.",
        "thanks": "Thank you. Your answers are recorded. Take care. Goodbye.",
        "passed_on": "Thank you. Your request has been passed on, and you will get a call. Goodbye.",
        "emergency": "Thank you. We have alerted the emergency control room, and they will call you right away. "
                     "If it is urgent, call 108. Goodbye.",
        "gave_up": "Sorry, we could not get your answers. A volunteer from the call centre will call you soon. "
                   "Goodbye.",
        "unknown_caller": "This is the Sampark COVID call centre. We could not find your number in our records. "
                          "Please call your district COVID helpline. In an emergency, call 108. Goodbye.",
    },
    "hi": {
        "greeting": "नमस्ते। यह संपर्क कोविड कॉल सेंटर से आपका हाल जानने के लिए कॉल है।",
        "feeling": "अगर आप ठीक हैं, तो 1 दबाएँ। अगर तबीयत ठीक नहीं है, तो 2 दबाएँ।",
        "spo2": "पल्स ऑक्सीमीटर से अपना ऑक्सीजन स्तर दो अंकों में दबाएँ, जैसे 9 6। "
                "ऑक्सीमीटर नहीं है, तो 0 दबाएँ।",
        "temperature": "अपना तापमान फ़ारेनहाइट में दबाएँ, और फिर हैश दबाएँ। जैसे 101.2 डिग्री के लिए "
                       "1 0 1 2 हैश। थर्मामीटर नहीं है, तो 0 और हैश दबाएँ।",
        "need": "क्या आपको कुछ चाहिए? दवा के लिए 2 दबाएँ। डॉक्टर के लिए 3। एम्बुलेंस के लिए 4। "
                "परामर्शदाता से बात के लिए 5। कुछ नहीं चाहिए, तो 0 दबाएँ।",
        "again": "क्षमा करें, यह सही जवाब नहीं था।",
        "thanks": "धन्यवाद। आपके जवाब दर्ज हो गए हैं। अपना ध्यान रखें। नमस्ते।",
        "passed_on": "धन्यवाद। आपका अनुरोध आगे भेज दिया गया है, आपको फ़ोन आएगा। नमस्ते।",
        "emergency": "धन्यवाद। आपातकालीन नियंत्रण कक्ष को सूचना दे दी गई है, वे आपको तुरंत फ़ोन करेंगे। "
                     "बहुत ज़रूरी हो तो 108 पर कॉल करें। नमस्ते।",
        "gave_up": "क्षमा करें, हमें आपके जवाब नहीं मिल पाए। कॉल सेंटर से एक स्वयंसेवक जल्द ही आपको फ़ोन "
                   "करेंगे। नमस्ते।",
        "unknown_caller": "यह संपर्क कोविड कॉल सेंटर है। आपका नंबर हमारे रिकॉर्ड में नहीं मिला। कृपया अपने ज़िले "
                          "की कोविड हेल्पलाइन पर कॉल करें। आपात स्थिति में 108 पर कॉल करें। नमस्ते।",
    },
}

LINK = {
    "en": {
        "title": "Daily check-in",
        "for": "For",
        "feeling": "How are you feeling today?",
        "fine": "I am fine",
        "unwell": "I am not well",
        "spo2": "Oxygen level (SpO2 %)",
        "spo2_hint": "From the pulse oximeter, e.g. 96. Leave empty if you have none.",
        "temperature": "Temperature (°F)",
        "temperature_hint": "e.g. 98.6. Leave empty if you have no thermometer.",
        "symptoms": "Do you have any of these?",
        "breathlessness": "Difficulty in breathing",
        "chest_pain": "Chest pain or pressure",
        "confusion": "Confusion, or very hard to wake",
        "needs": "Do you need anything?",
        "medicine": "Medicine",
        "doctor": "To talk to a doctor",
        "ambulance": "Ambulance",
        "counselling": "To talk to a counsellor",
        "send": "Send",
        "emergency_note": "Emergency? Call 108.",
        "fix": "Please check the marked answers.",
        "resend": "Your answers were not sent. Please check them and press Send again.",
        "feeling_required": "Please choose one.",
        "spo2_invalid": f"Write a number from {vitals.SPO2_MIN} to {vitals.SPO2_MAX}.",
        "temperature_invalid": f"Write a temperature from {vitals.TEMPERATURE_F_MIN:g} to "
                               f"{vitals.TEMPERATURE_F_MAX:g} °F, e.g. 99.4.",
        "thanks": "Thank you. Your check-in is recorded. Take care.",
        "passed_on": "Thank you. We have passed on your request ({needs}); you will get a call.",
        "emergency": "We have alerted the emergency control room; they will call you now. "
                     "If it is urgent, call 108.",
        "used": "You have already checked in with this link. Thank you.",
        "expired": "This link has expired. Tomorrow's SMS brings a new one. If you need help now, call 108 "
                   "or your district COVID helpline.",
        "ended": "This link has expired: your follow-up by the COVID call centre has ended, so no check-in is "
                 "needed. If you need help, call 108 or your district COVID helpline.",
        "invalid": "This link is not valid. Please check the SMS, or call your district COVID helpline.",
        "busy": "Too many tries. Please wait a minute and try again.",
    },
    "hi": {
        "title": "आज की जानकारी",
        "for": "किसके लिए",
        "feeling": "आज आपकी तबीयत कैसी है?",
        "fine": "मैं ठीक हूँ",
        "unwell": "तबीयत ठीक नहीं है",
        "spo2": "ऑक्सीजन स्तर (SpO2 %)",
        "spo2_hint": "पल्स ऑक्सीमीटर से, जैसे 96। ऑक्सीमीटर न हो तो खाली छोड़ें।",
        "temperature": "तापमान (°F)",
        "temperature_hint": "जैसे 98.6। थर्मामीटर न हो तो खाली छोड़ें।",
        "symptoms": "क्या इनमें से कुछ है?",
        "breathlessness": "साँस लेने में तकलीफ़",
        "chest_pain": "सीने में दर्द या दबाव",
        "confusion": "उलझन, या जगाने पर भी न जागना",
        "needs": "क्या आपको कुछ चाहिए?",
        "medicine": "दवा",
        "doctor": "डॉक्टर से बात",
        "ambulance": "एम्बुलेंस",
        "counselling": "परामर्शदाता से बात",
        "send": "भेजें",
        "emergency_note": "आपात स्थिति? 108 पर कॉल करें।",
        "fix": "कृपया निशान लगे जवाब देखें।",
        "resend": "आपके जवाब नहीं भेजे जा सके। कृपया जाँचकर फिर से भेजें दबाएँ।",
        "feeling_required": "कृपया एक चुनें।",
        "spo2_invalid": f"{vitals.SPO2_MIN} से {vitals.SPO2_MAX} के बीच की संख्या लिखें।",
        "temperature_invalid": f"{vitals.TEMPERATURE_F_MIN:g} से {vitals.TEMPERATURE_F_MAX:g} °F के बीच "
                               f"तापमान लिखें, जैसे 99.4।",
        "thanks": "धन्यवाद। आपकी जानकारी दर्ज हो गई है। अपना ध्यान रखें।",
        "passed_on": "धन्यवाद। आपका अनुरोध ({needs}) आगे भेज दिया गया है; आपको फ़ोन आएगा।",
        "emergency": "आपातकालीन नियंत्रण कक्ष को सूचना दे दी गई है, वे आपको अभी फ़ोन करेंगे। "
                     "बहुत ज़रूरी हो तो 108 पर कॉल करें।",
        "used": "इस लिंक से आपकी जानकारी पहले ही मिल चुकी है। धन्यवाद।",
        "expired": "इस लिंक का समय खत्म हो गया है। कल के SMS में नया लिंक आएगा। अभी मदद चाहिए तो 108 या "
                   "अपने ज़िले की कोविड हेल्पलाइन पर कॉल करें।",
        "ended": "इस लिंक का समय खत्म हो गया है: कोविड कॉल सेंटर से आपकी देखरेख पूरी हो चुकी है, इसलिए अब "
                 "जानकारी भेजने की ज़रूरत नहीं है। मदद चाहिए तो 108 या अपने ज़िले की कोविड हेल्पलाइन पर कॉल करें।",
        "invalid": "यह लिंक सही नहीं है। कृपया SMS देखें, या अपने ज़िले की कोविड हेल्पलाइन पर कॉल करें।",
        "busy": "बहुत बार कोशिश हुई। कृपया एक मिनट रुककर फिर कोशिश करें।",
    },
}
LINK_SYMPTOMS = ("breathlessness", "chest_pain", "confusion")
LINK_NEEDS = ("medicine", "doctor", "ambulance", "counselling")


def need_names(lang, needs):
    names = NEEDS[language(lang)]
    return ", ".join(names.get(n, n) for n in needs)
