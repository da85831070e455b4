"""API test helpers: bearer tokens for factory users, and JSON requests that carry them."""
import pytest

from callcenter.services import accounts


def bearer(user, **kwargs):
    raw, _expires = accounts.issue_token(user, **kwargs)
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def api(client):
    """api(method, path, user=None, headers=None, **kw): one request, signed in as `user` when given."""
    def _call(method, path, user=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if user is not None:
            headers.update(bearer(user))
        return client.open(path, method=method, headers=headers, **kwargs)
    return _call
