"""The pages people work from all night pass axe-core's checks (run in the browser by axe-playwright-python,
the engine shipped inside that package): no serious or critical violation on the volunteer's call screen, the
control room's desk and the officer's dashboard, in English and in Hindi."""
import re

import pytest

from callcenter.extensions import db
from callcenter.services.desks import escalations

from .. import factories
from ..dashboard import scenario
from .conftest import sign_in

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports a missing Playwright; axe is in requirements-dev.txt
    Axe = expect = None

pytestmark = pytest.mark.e2e
BLOCKING = ("serious", "critical")


def problems(page):
    """axe's serious and critical violations on the page as it is now: rule, impact, and the first elements."""
    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                        for n in v["nodes"][:3])
            for v in found if v["impact"] in BLOCKING]


def test_the_check_finds_what_it_should(page, live_server):
    """(The check itself: a page with an unlabelled field and an image without a text is caught.)"""
    page.goto("/login")
    assert problems(page) == []
    page.evaluate("""() => {
        const box = document.createElement("div");
        box.innerHTML = '<img src="/static/none.png"><input type="text" id="unlabelled">';
        document.querySelector("main").appendChild(box);
    }""")
    assert {p.split(" ")[0] for p in problems(page)} == {"image-alt", "label"}


def in_language(page, language):
    if language == "hi":
        page.get_by_role("button", name="हिन्दी").click()
        expect(page.locator("html")).to_have_attribute("lang", "hi")


@pytest.mark.parametrize("language", ["en", "hi"])
def test_the_call_screen(page, live_server, language):
    district = factories.make_district()
    volunteer = factories.make_user("volunteer", district)
    factories.make_task(factories.make_patient(district, name="Sunita Sahu", age=52))
    sign_in(page, volunteer)
    in_language(page, language)
    assert problems(page) == [], "the queue console"
    page.locator("#take-next").click()
    expect(page).to_have_url(re.compile(r"/queue/task/\d+$"))
    assert problems(page) == [], "the call screen"


@pytest.mark.parametrize("language", ["en", "hi"])
def test_the_desk(page, live_server, language):
    district = factories.make_district()
    control = factories.make_user("control_room", district)
    emergency = factories.make_patient(district, name="Sunita Sahu")
    routine = factories.make_patient(district, name="Kamla Dhruw")
    escalations.raise_escalation(emergency, "ambulance", "control_room", "emergency", "call")
    escalations.raise_escalation(routine, "medicine", "control_room", "routine", "call")
    db.session.commit()
    sign_in(page, control)
    in_language(page, language)
    expect(page.locator("#escalations tbody tr")).to_have_count(2)
    assert problems(page) == [], "the desk"
    page.locator("#escalations tbody tr").first.get_by_role("link").first.click()
    assert problems(page) == [], "an escalation's page"


@pytest.mark.parametrize("language", ["en", "hi"])
def test_the_dashboard(page, live_server, language):
    s = scenario.build()
    sign_in(page, s.officer, start="/login")
    in_language(page, language)
    expect(page.locator("#charts svg[role=img]")).to_have_count(6)
    assert problems(page) == [], "the dashboard"


@pytest.mark.parametrize("language", ["en", "hi"])
def test_the_broadcast_form(page, live_server, language):
    district = factories.make_district()
    factories.make_patient(district)
    sign_in(page, factories.make_user("control_room", district))
    in_language(page, language)
    page.goto("/broadcasts/new")
    page.locator('input[name="template"]').first.check()
    page.locator('button[value="preview"]').click()  # with its messages (the blanks left empty)
    assert problems(page) == [], "the new broadcast's form"
