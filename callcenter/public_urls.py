"""The addresses people and providers reach us at, worked out in one place from the routes themselves.

PUBLIC_URL is where people open pages and check-in links; WEBHOOK_BASE_URL (when set) is the public base the
messaging provider calls and signs, behind a reverse proxy that rewrites it. Paths come from the URL map, so
a route that moves moves its links too. Usable without a request (the scheduler and the outbox build them).
"""
from flask import current_app, has_request_context, url_for


def configured_webhook_base():
    """WEBHOOK_BASE_URL without its trailing slash, or None when it is not set."""
    base = current_app.config.get("WEBHOOK_BASE_URL")
    return base.rstrip("/") if base else None


def webhook_base():
    """Where the provider reaches us: WEBHOOK_BASE_URL, else PUBLIC_URL."""
    return configured_webhook_base() or current_app.config["PUBLIC_URL"].rstrip("/")


def path(endpoint, **values):
    """A route's path (and query string) from the URL map, inside a request or not."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def webhook_url(endpoint, **values):
    return webhook_base() + path(endpoint, **values)


def public_url(endpoint, **values):
    return current_app.config["PUBLIC_URL"].rstrip("/") + path(endpoint, **values)


def link_base():
    """The check-in link up to its token (templates carry it as a constant)."""
    placeholder = "TOKEN"
    return public_url("checkins.link", token=placeholder).removesuffix(placeholder)
