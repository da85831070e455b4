"""The addresses people and providers reach us at, worked out in one place from the routes themselves.

PUBLIC_URL is where people open pages and check-in links; WEBHOOK_BASE_URL (when set) is the public base the
messaging provider calls and signs, behind a reverse proxy that rewrites it. Paths come from the URL map, so
a route that moves moves its links too. Usable without a request (the scheduler and the outbox build them).
"""
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for

DEVELOPMENT_URL = "http://127.0.0.1:5000"  # bin/start's default; a development machine's own address
EXAMPLE = "https://sampark.example.gov.in"


class MissingPublicUrl(RuntimeError):
    """Raised by create_app: production without a public base URL would text patients links to this machine."""


def check(app):
    """Called by create_app: production refuses to start without PUBLIC_URL (an absolute http(s) address);
    tests and SAMPARK_ENV=development fall back to this machine's address."""
    url = (app.config.get("PUBLIC_URL") or "").strip()
    if not url and (app.testing or app.config.get("SAMPARK_ENV") == "development"):
        app.config["PUBLIC_URL"] = DEVELOPMENT_URL
        return
    if not url:
        problem = "PUBLIC_URL is not set"
    else:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc and not parts.query and not parts.fragment:
            app.config["PUBLIC_URL"] = url
            return
        problem = "PUBLIC_URL is not an http:// or https:// address"
    raise MissingPublicUrl(
        f"{problem}. Sampark will not start: the check-in links it texts to patients (and the addresses the SMS "
        f"provider calls back) are built from it, and without it they would point at {DEVELOPMENT_URL}, which "
        f"no patient can open. Set it in the environment to the address people reach Sampark at, e.g.\n"
        f"    PUBLIC_URL={EXAMPLE}\n(the same value for every web worker and the scheduler). For a developer's "
        f"machine only, SAMPARK_ENV=development uses {DEVELOPMENT_URL} instead.")


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
