"""The words patients' replies use, by meaning: English and Hindi, Devanagari and romanised, normalised
(lower case, no nukta, chandrabindu written as anusvara). Pure."""
import enum
import unicodedata

from ..digits import DEVANAGARI_DIGITS
from ..routing import NeedKind, Symptom


class Keyword(enum.StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


MENU = {1: None, 2: NeedKind.MEDICINE, 3: NeedKind.DOCTOR, 4: NeedKind.AMBULANCE, 5: NeedKind.COUNSELLING}

def normalise(text):
    """Lower case, Devanagari digits as ASCII, no nukta or zero-width joiners, chandrabindu as anusvara."""
    text = unicodedata.normalize("NFD", text or "")
    text = text.replace("\u093c", "").replace("\u0901", "\u0902").replace("\u200c", "").replace("\u200d", "")
    return unicodedata.normalize("NFC", text).casefold().translate(DEVANAGARI_DIGITS)


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
