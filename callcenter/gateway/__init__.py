"""Messaging providers behind one interface (base.Gateway), chosen per channel in configuration.

MESSAGING_BACKEND names the provider of every channel; SMS_BACKEND, IVR_BACKEND and CLICK_TO_CALL_BACKEND
override it for one channel (e.g. SMS and click-to-call through Exotel, a district's IVR still on Twilio).
Adding a provider (e.g. Plivo) is a module with a Gateway subclass and one line in BACKENDS (or
"package.module:Class" in the setting); the outbox, the IVR questions and the views do not change.
"""
import importlib

from flask import current_app

from .base import (
    CannotTell,
    ConfigurationError,
    Gateway,
    GatewayError,
    OutcomeUnknown,
    PermanentError,
    ProviderResult,
    RetryableError,
)

BACKENDS = {
    "console": "callcenter.gateway.console:ConsoleGateway",
    "twilio": "callcenter.gateway.twilio_backend:TwilioGateway",
    "exotel": "callcenter.gateway.exotel:ExotelGateway",
}
CHANNELS = {"sms": "SMS_BACKEND", "ivr": "IVR_BACKEND", "click_to_call": "CLICK_TO_CALL_BACKEND"}
KIND_CHANNEL = {"sms": "sms", "call": "ivr"}  # outbox message kinds → channels
_EXTENSION_KEY = "sampark_gateway"
_CONFIG_PREFIXES = ("TWILIO_", "EXOTEL_")

__all__ = ["BACKENDS", "CannotTell", "ConfigurationError", "Gateway", "GatewayError", "OutcomeUnknown",
           "PermanentError", "ProviderResult", "RetryableError", "backend_class", "backend_name", "for_channel", "get"]


def backend_class(name):
    target = BACKENDS.get(name, name)
    if ":" not in target:
        raise ConfigurationError(f"unknown MESSAGING_BACKEND {name!r}; known: {', '.join(BACKENDS)}")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def backend_name(channel, app=None):
    """The configured backend of a channel ("sms", "ivr", "click_to_call")."""
    config = (app or current_app).config
    return config.get(CHANNELS[channel]) or config["MESSAGING_BACKEND"]


def _backend(app, name):
    """One instance per backend and configuration, kept on the application (clients keep connections)."""
    config = tuple(sorted((k, str(v)) for k, v in app.config.items()
                          if k.startswith(_CONFIG_PREFIXES) or k.endswith("_BACKEND")))
    made = app.extensions.get(_EXTENSION_KEY)
    if made is None or made[0] != config:
        made = config, {}  # the configuration changed (tests): the old instances are forgotten
        app.extensions[_EXTENSION_KEY] = made
    if name not in made[1]:
        made[1][name] = backend_class(name)(app.config)
    return made[1][name]


def for_channel(channel, app=None):
    app = app or current_app._get_current_object()
    return _backend(app, backend_name(channel, app))


class ChannelRouter(Gateway):
    """The outbox's gateway when SMS and calls go through different providers: each message to its own."""
    name = "router"

    def __init__(self, backends):
        self.backends = backends  # kind → Gateway

    def for_kind(self, kind):
        return self.backends[kind]

    def send_sms(self, to, body, status_callback=None, template=None, **options):
        return self.backends["sms"].send_sms(to, body, status_callback, template=template, **options)

    def start_call(self, to, url, status_callback=None, message_id=None, **options):
        return self.backends["call"].start_call(to, url, status_callback, message_id=message_id, **options)

    def fetch(self, kind, sid):
        return self.backends[kind].fetch(kind, sid)

    def find(self, kind, to, since, content):
        return self.backends[kind].find(kind, to, since, content)


def get(app=None):
    """The outbox's gateway: the one backend of SMS and IVR calls, or a router between two."""
    app = app or current_app._get_current_object()
    backends = {kind: for_channel(channel, app) for kind, channel in KIND_CHANNEL.items()}
    if backends["sms"] is backends["call"]:
        return backends["sms"]
    return ChannelRouter(backends)


def uses_console(app=None, channel="sms"):
    return backend_name(channel, app) == "console"
