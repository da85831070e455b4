"""The one interface every messaging provider implements, and the errors it may raise.

The outbox (callcenter/services/outbox/sender.py) is the only caller. What an error means for a message:

- RetryableError: the provider certainly did not take the message (rate limit, service unavailable,
  no connection made); it may be sent again after a back-off.
- PermanentError: the provider refused it (invalid number, opted out, …); never retried.
- OutcomeUnknown: the request may have reached the provider (a read timeout, a 500 after the
  request was received). The message is reconciled with the provider's records before anything else.
- CannotTell: a lookup (find) could not say whether the provider has the message.
"""
import abc
from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderResult:
    sid: str            # the provider's id for the message or call
    status: str         # an outbox status: "sent", "delivered" or "failed"
    provider_status: str = ""  # the provider's own word (e.g. "queued", "no-answer")
    error: str = ""


class GatewayError(Exception):
    def __init__(self, message, code=None, reason=None):
        super().__init__(message)
        self.code = code
        self.reason = reason  # "invalid_number" or "opted_out": the outbox updates the patient


class RetryableError(GatewayError):
    pass


class PermanentError(GatewayError):
    pass


class OutcomeUnknown(GatewayError):
    pass


class CannotTell(GatewayError):
    pass


class ConfigurationError(GatewayError):
    pass


class Gateway(abc.ABC):
    """A messaging provider. Constructed from the app's config (see callcenter/gateway/__init__.py)."""

    name = ""
    keeps_text = False  # True: the outbox keeps and shows message text after sending (console only)
    status_endpoint = "checkins.twilio_status"  # the route its status callbacks reach (with ?m=<message id>)
    can_bridge = False  # True: connect() rings a user's phone and bridges it to a patient (click-to-call)

    def callback_values(self):
        """Values the status callback URL carries besides the message id (a secret, for unsigned providers)."""
        return {}

    def for_kind(self, kind):
        """The backend that handles `kind` ("sms" / "call"): itself, unless it routes channels (ChannelRouter)."""
        return self

    @abc.abstractmethod
    def send_sms(self, to, body, status_callback=None, template=None, **options):
        """Hand one SMS (from the named `template`) to the provider. Returns a ProviderResult or raises a
        GatewayError."""

    @abc.abstractmethod
    def start_call(self, to, url, status_callback=None, message_id=None, **options):
        """Start one outbound call whose flow the provider fetches from `url`. Returns a ProviderResult."""

    def connect(self, agent, patient, status_callback=None, record=False):
        """Click-to-call: ring `agent` (a user's own phone), then bridge to `patient` behind the centre's
        number. Returns a ProviderResult for the bridged call."""
        raise ConfigurationError(f"the {self.name} backend cannot bridge calls: set CLICK_TO_CALL_BACKEND")

    @abc.abstractmethod
    def fetch(self, kind, sid):
        """The provider's current record of a message or call ("sms" / "call") it has taken."""

    @abc.abstractmethod
    def find(self, kind, to, since, content):
        """A message or call (to `to`, created after `since`, with this body / flow URL) the provider
        has, whose id we never recorded: a ProviderResult, None when the provider certainly has none,
        or CannotTell. Used only to reconcile messages whose hand-off outcome is unknown."""
