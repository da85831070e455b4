"""Messaging providers behind one interface (base.Gateway), chosen by MESSAGING_BACKEND.

Adding a provider (e.g. Exotel) is a module with a Gateway subclass and one line in BACKENDS (or
MESSAGING_BACKEND="package.module:Class"); the outbox, the jobs and the views do not change.
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
}
_EXTENSION_KEY = "sampark_gateway"
_CONFIG_KEYS = ("MESSAGING_BACKEND", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_SMS_FROM", "TWILIO_CALL_FROM")

__all__ = ["BACKENDS", "CannotTell", "ConfigurationError", "Gateway", "GatewayError", "OutcomeUnknown",
           "PermanentError", "ProviderResult", "RetryableError", "backend_class", "get"]


def backend_class(name):
    target = BACKENDS.get(name, name)
    if ":" not in target:
        raise ConfigurationError(f"unknown MESSAGING_BACKEND {name!r}; known: {', '.join(BACKENDS)}")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def get(app=None):
    """The application's gateway, made once per application (a Twilio client keeps its connections)."""
    app = app or current_app._get_current_object()
    key = tuple(app.config.get(k) for k in _CONFIG_KEYS)
    cached = app.extensions.get(_EXTENSION_KEY)
    if cached is None or cached[0] != key:
        cached = key, backend_class(app.config["MESSAGING_BACKEND"])(app.config)
        app.extensions[_EXTENSION_KEY] = cached
    return cached[1]


def uses_console(app=None):
    app = app or current_app
    return app.config["MESSAGING_BACKEND"] == "console"
