"""Reading what a patient sends back: SMS text (sms.py, over the words in lexicon.py) and IVR key presses (keys.py).

Pure: no Flask, no database. `parse_sms(text)` understands the number menu (1 fine, 2 medicine,
3 doctor, 4 ambulance, 5 counsellor), words in English and Hindi (Devanagari and romanised),
readings (`SPO2 91`, `TEMP 101.2`, `ऑक्सीजन 92`, `बुखार 101`, `93%`, `101.2F`) and the
STOP / START / HELP keywords. What it does not understand it says so (`unknown`), so the message
goes to a volunteer; it never guesses a reading or a need from a word it does not know.
"""
