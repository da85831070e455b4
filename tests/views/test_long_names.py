"""Long names (issue 17): a name longer than its field is refused with a message saying so, never cut by
the browser; a long text shortened for display ends at a word, with an ellipsis and the whole text in its
title."""
import re

import pytest
from flask import render_template_string

from callcenter.dashboard import charts
from callcenter.extensions import db
from callcenter.models import Patient

from ..factories import make_user
from .test_registration_form import form_page, valid

LONG_NAME = ("Shrimati Kamladevi Rameshwari Prasad Dhruw Sahu Verma Tiwari Chandrakar Banjare Netam Markam "
             "Kashyap Thakur Yadav Sinha")  # 118 characters + " Raipur"
LONG_NAME = LONG_NAME + " Raipurwali Bai"


@pytest.mark.parametrize("language, message", [
    ("en", f"Too long: {len(LONG_NAME)} characters, 120 at most. Nothing was cut"),
    ("hi", f"बहुत लंबा: {len(LONG_NAME)} अक्षर, अधिकतम 120।"),
])
def test_a_name_too_long_is_refused_with_a_message_and_kept_whole(client, login, district, language, message):
    assert len(LONG_NAME) > 120
    login(make_user("nodal_officer", district, language=language))
    token = form_page(client)
    page = client.get("/intake/register").get_data(as_text=True)
    name_input = re.search(r'<input[^>]*name="name"[^>]*>', page).group(0)
    assert "maxlength" not in name_input  # the browser would cut a pasted name at 120, mid-word, silently
    assert 'data-max-chars="120"' in name_input and "%(n)s" in name_input  # page-actions.js warns as one types
    html = client.post("/intake/register", data=valid(district, token, name=LONG_NAME)).get_data(as_text=True)
    assert message in html
    assert f'value="{LONG_NAME}"' in html  # what was typed is still there to shorten
    assert db.session.scalar(db.select(db.func.count()).select_from(Patient)) == 0


def test_a_village_contact_and_a_users_full_name_have_no_silent_limit(client, login, district):
    from callcenter.admin.forms import UserForm
    from callcenter.desks.forms import DispatchForm
    from callcenter.records.forms import ContactForm
    for form, field in ((ContactForm, "name"), (UserForm, "full_name"), (DispatchForm, "delivered_by")):
        assert "maxlength" not in form.__dict__[field].kwargs.get("render_kw", {}) and not any(
            getattr(v, "field_flags", {}).get("maxlength") for v in form.__dict__[field].kwargs["validators"])


def test_display_shortening_ends_at_a_word_with_the_whole_text_in_the_title(app):
    text = "Community Health Centre Abhanpur Gram Panchayat Bhawan"
    with app.test_request_context():
        out = render_template_string('{% from "_clip.html" import clip %}{{ clip(v, 30) }}', v=text)
        assert out == f'<span class="clipped" title="{text}">Community Health Centre…</span>'
        assert render_template_string('{% from "_clip.html" import clip %}{{ clip(v, 60) }}', v=text) == text
    assert charts._short("Community Health Centre Abhanpur", 20) == "Community Health…"
    assert charts._short("Abhanpur", 20) == "Abhanpur"
