"""The default backend, needing no account: it "sends" by logging, and the outbox page shows every
message, so the whole check-in flow can be tried on a laptop."""
import logging
import re
import uuid

from ..rules.identity import mask_phone, mask_phones_in
from .base import Gateway, ProviderResult

log = logging.getLogger(__name__)
LINK_TOKEN = re.compile(r"(/c/)[A-Za-z0-9_-]+")  # a check-in link's token (logs carry none: DPDP)


class ConsoleGateway(Gateway):
    name = "console"
    keeps_text = True
    can_bridge = True  # simulated: the demo shows click-to-call, and a person ends the call by hand

    def __init__(self, config=None):
        self.config = config or {}

    @staticmethod
    def _sid(prefix):
        return f"{prefix}{uuid.uuid4().hex}"

    def send_sms(self, to, body, status_callback=None, template=None, **options):
        sid = self._sid("CSM")
        # the text may carry numbers too (an ambulance driver's): masked as the recipient's is
        log.info("console SMS %s to %s: %s", sid, mask_phone(to), mask_phones_in(LINK_TOKEN.sub(r"\1…", body)))
        return ProviderResult(sid, "sent", "sent")

    def start_call(self, to, url, status_callback=None, message_id=None, **options):
        sid = self._sid("CCA")
        log.info("console call %s to %s: flow %s", sid, mask_phone(to), url)
        return ProviderResult(sid, "sent", "queued")

    def connect(self, agent, patient, status_callback=None, record=False):
        sid = self._sid("CBR")
        log.info("console click-to-call %s: ringing %s, then %s (simulated)", sid, mask_phone(agent),
                 mask_phone(patient))
        return ProviderResult(sid, "sent", "ringing")

    def fetch(self, kind, sid):
        return ProviderResult(sid, "sent", "sent")

    def find(self, kind, to, since, content):
        # Nothing ever leaves this process: a message whose hand-off was interrupted reached nobody.
        return None
