"""The console backend logs what it 'sends' with no number in full: the recipient's, and any in the text."""
import logging

from callcenter.gateway.console import ConsoleGateway


def test_numbers_in_the_text_are_masked_in_the_log(caplog):
    body = "Ambulance CG 04 AB 1234 on its way. Driver: +919826012345. Link: https://x.in/c/abcdefghijklmnop"
    with caplog.at_level(logging.INFO, logger="callcenter.gateway.console"):
        ConsoleGateway().send_sms("+919826055555", body)
    line = caplog.records[-1].getMessage()
    assert "9826012345" not in line and "9826055555" not in line and "abcdefghijklmnop" not in line
    assert "+91 98••• ••345" in line and "+91 98••• ••555" in line and "/c/…" in line
    assert "CG 04 AB 1234" in line  # a vehicle number is not a phone
