"""Every page renders for the roles it serves, in English and Hindi."""
import pytest

from ..factories import make_patient, make_task, make_user

PAGES = {
    "volunteer": ["/queue/"],
    "control_room": ["/desk/"],
    "doctor": ["/desk/"],
    "counsellor": ["/desk/"],
    "nodal_officer": ["/dashboard/", "/intake/register", "/queue/", "/desk/"],
    "admin": ["/dashboard/", "/intake/register", "/admin/settings", "/admin/users", "/desk/"],
}


@pytest.mark.parametrize("language", ["en", "hi"])
@pytest.mark.parametrize("role", sorted(PAGES))
def test_pages_render(client, login, district, role, language):
    make_task(make_patient(district))
    login(make_user(role, None if role == "admin" else district, language=language))
    for path in PAGES[role]:
        response = client.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:2000])
        assert f'<html lang="{language}">' in response.get_data(as_text=True)
