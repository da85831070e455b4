"""The Settings page is grouped into sections, each setting in exactly one (issue 17)."""
import re

from callcenter.services.core.settings import ON_PAGE

from ..factories import make_user


def test_every_setting_is_in_one_section_with_its_heading(client, login):
    login(make_user("admin"))
    html = client.get("/admin/settings").get_data(as_text=True)
    sections = {m.group(1): m.group(0)
                for m in re.finditer(r'<section class="card mb-3" id="([a-z-]+)".*?</section>', html, re.S)}
    assert list(sections) == ["warning-signs", "calls", "discharge", "records", "deadlines"]
    for setting in ON_PAGE:
        holders = [anchor for anchor, body in sections.items() if f'name="{setting.key}"' in body]
        assert len(holders) == 1, (setting.key, holders)
    assert 'name="retention_days"' in sections["records"] and 'name="fever_f"' in sections["warning-signs"]
    assert 'name="deadline_minutes.ambulance"' in sections["deadlines"]
    assert html.count('type="submit"') >= 1 and "sticky-bottom" in html


def test_settings_sections_in_hindi(client, login):
    login(make_user("admin", language="hi"))
    html = client.get("/admin/settings").get_data(as_text=True)
    for heading in ("खतरे के संकेत", "कॉल और कतार", "रिकॉर्ड और उन्हें रखने की अवधि", "जवाब की समय-सीमा"):
        assert heading in html, heading
