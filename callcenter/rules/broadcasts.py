"""Awareness broadcasts' rules, as plain functions: what a message costs in SMS segments, when a promotional
message may go out (TRAI: 09:00–21:00), and who may approve a draft (four eyes).

An SMS in plain GSM-7 letters holds 160 characters (153 a segment when it is split); one with any other letter
(Hindi's Devanagari, or a rupee sign) is sent as UCS-2: 70 characters (67 a segment when split).
"""
from datetime import time

# The GSM 03.38 basic set (what a phone sends as 7-bit text); its extension characters count twice.
GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENDED = set("^{}\\[~]|€\f")
PROMOTIONAL_HOURS = (time(9, 0), time(21, 0))  # TRAI's window for promotional messages, local time


def is_gsm(text):
    return all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text)


def segments(text):
    """How many SMS segments `text` is sent as (what the provider bills)."""
    if not text:
        return 0
    if is_gsm(text):
        length = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        return 1 if length <= 160 else -(-length // 153)
    length = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)  # UTF-16 code units
    return 1 if length <= 70 else -(-length // 67)


def in_promotional_hours(local_time):
    start, end = PROMOTIONAL_HOURS
    return start <= local_time < end


def may_approve(approver_id, drafter_id, approver_role):
    """A nodal officer other than the one who drafted it (or a state administrator, also not the drafter)."""
    return approver_id != drafter_id and approver_role in ("nodal_officer", "admin")
