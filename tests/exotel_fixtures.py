"""Fixtures for tests against the fake Exotel (tests/exotel_fake.py): the fake, and the app served over HTTP
with every channel through Exotel, so the fake's callbacks reach it as Exotel's would."""
import pytest

from callcenter import public_urls
from callcenter.services.checkins import sms_templates

from .exotel_fake import FakeExotel, ServedWsgi, app_config

SECRET = "s3cret-callback-key-for-tests"


def dlt_ids():
    """A DLT template id for each Sampark template and language, as a district registers them."""
    return {f"{name}.{lang}": f"1107{i:03d}{j}" for i, name in enumerate(sorted(sms_templates.TEMPLATES))
            for j, lang in enumerate(("hi", "en"))}


@pytest.fixture
def served_app(app):
    server = ServedWsgi(app)
    yield server
    server.stop()


@pytest.fixture
def exotel(app, served_app):
    """The fake Exotel, the app configured for it (restored afterwards) and served at WEBHOOK_BASE_URL."""
    saved = dict(app.config)
    ids = dlt_ids()
    app.config.update(app_config("", SECRET, WEBHOOK_BASE_URL=served_app.base_url, CLICK_TO_CALL_BACKEND="exotel",
                                 EXOTEL_DLT_TEMPLATE_IDS=",".join(f"{k}={v}" for k, v in ids.items())))
    registered = {tid: sms_templates.registered_text(key.split(".")[0], key.split(".")[1]) for key, tid in ids.items()}
    hook = lambda endpoint: public_urls.webhook_url(endpoint, key=SECRET)  # noqa: E731
    flows = {}
    for name, endpoint in (("gather", "checkins.exotel_ivr_gather"), ("answer", "checkins.exotel_ivr_answer"),
                           ("end", "checkins.exotel_ivr_end"), ("missed", "checkins.exotel_missed_call")):
        try:
            flows[name] = hook(endpoint)
        except Exception:  # noqa: BLE001  (a route not built yet)
            pass
    fake = FakeExotel(registered, flows)
    app.config["EXOTEL_API_BASE"] = fake.api_base
    app.extensions["test_fake_exotel"] = fake
    yield fake
    app.extensions.pop("test_fake_exotel", None)
    fake.stop()
    app.config.clear()
    app.config.update(saved)
    app.extensions.pop("sampark_gateway", None)
