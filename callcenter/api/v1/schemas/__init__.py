"""Request and response shapes. They parse types: every rule and its message lives in the services, and the
rules are written into the document (metadata) so that it tells the truth. Refused here, before a service:
what the database cannot hold (text with a NUL or another control character, integers past the id columns),
a phone number's spelling and a value outside a documented list, so that what the document calls invalid is.
"""
