"""Per-address limits on signing in (Flask-Limiter): POST /login, the two-factor step and the API's token.

One shared counter per client address over all usernames, so that trying many accounts from one place is
slowed; per-account guessing is limited in services/core/accounts.py. The counts live in RATELIMIT_STORAGE_URI:
memory:// counts per process, Redis shares them between every worker and instance (production).
"""
from flask import current_app

from ..extensions import limiter


def _limit():
    return current_app.config["SIGN_IN_RATE_LIMIT"]


sign_in_limit = limiter.shared_limit(_limit, scope="sign-in", methods=["POST"])
