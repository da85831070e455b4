"""API test helpers: bearer tokens for factory users, and JSON requests that carry them."""
from collections import Counter

import pytest

from callcenter.services.core import accounts

from ..conftest import two_factor_code
from ..factories import PASSWORD


def bearer(user, **kwargs):
    raw, _expires = accounts.issue_token(user, **kwargs)
    return {"Authorization": f"Bearer {raw}"}


def sign_in_token(client, user, password=PASSWORD):
    """A real token from POST /api/v1/auth/token, as a client gets one.

    The one place that knows what signing in takes: users with two-factor sign-in (nodal officers, the
    control room, administrators) also send the code their authenticator app shows now.
    """
    body = {"username": user.username, "password": password}
    if user.two_factor_enabled:
        body["otp"] = two_factor_code(user)
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


@pytest.fixture
def api(client):
    """api(method, path, user=None, headers=None, **kw): one request, signed in as `user` when given."""
    def _call(method, path, user=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if user is not None:
            headers.update(bearer(user))
        return client.open(path, method=method, headers=headers, **kwargs)
    return _call


# Totals of the fuzz run (tests/api/test_fuzz.py), printed at the end of the session.
FUZZ_TOTALS = {"requests": 0, "server_errors": 0, "violations": 0, "statuses": Counter()}


def pytest_terminal_summary(terminalreporter):
    if FUZZ_TOTALS["requests"]:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(FUZZ_TOTALS["statuses"].items()))
        terminalreporter.write_line(
            "API fuzz: {requests} generated requests, {server_errors} server errors, "
            "{violations} schema violations".format(**FUZZ_TOTALS) + f" (answers by status: {statuses})")
