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

    @abc.abstractmethod
    def send_sms(self, to, body, status_callback=None):
        """Hand one SMS to the provider. Returns a ProviderResult or raises a GatewayError."""

    @abc.abstractmethod
    def start_call(self, to, url, status_callback=None):
        """Start one outbound call whose flow the provider fetches from `url`. Returns a ProviderResult."""

    @abc.abstractmethod
    def fetch(self, kind, sid):
        """The provider's current record of a message or call ("sms" / "call") it has taken."""

    @abc.abstractmethod
    def find(self, kind, to, since, content):
        """A message or call (to `to`, created after `since`, with this body / flow URL) the provider
        has, whose id we never recorded: a ProviderResult, None when the provider certainly has none,
        or CannotTell. Used only to reconcile messages whose hand-off outcome is unknown."""
