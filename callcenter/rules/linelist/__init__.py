"""Line lists as districts write them: headers (headers.py), cells (cells.py, dates.py), a row (rows.py),
place names (places.py) and whether a row is a patient on record and what it changes (records.py).

Pure rules, no Flask and no database. Parsers take a cell as the spreadsheet gives it (text from a
CSV; text, a number or a datetime from Excel) and return a typed value or raise CellError with a
code (the message lives in services/intake/messages.py, in the reader's language). The registration rules
(phone, ABHA, age range, dates not in the future …) are applied afterwards by
services.patients.check_fields, the same function the registration form uses.
"""
