"""The whole state's dashboard stays light: volunteers and blocks folded into a row per district (a link opens
the district's own view), the villages a page at a time, in English and Hindi, without JavaScript (plain links
that keep the filters). At state scale the full tables made the page 568 KB (docs/PERFORMANCE.md)."""
import re
from datetime import timedelta

from callcenter.clock import utcnow
from callcenter.dashboard.views import VILLAGE_PAGE_SIZE
from callcenter.extensions import db
from callcenter.models import Block, Village

from .. import factories


def _district_with_villages(n, name):
    district = factories.make_district(name=name)
    block = db.session.scalar(db.select(Block).where(Block.district_id == district.id))
    villages = [Village(block=block, name=f"{name} gaon {i:02d}") for i in range(n)]
    db.session.add_all(villages)
    db.session.commit()
    volunteer = factories.make_user("volunteer", district, username=f"vol_{name.lower()}")
    for i, v in enumerate(villages):
        patient = factories.make_patient(district, village_id=v.id)
        if i < 2:
            factories.make_attempt(patient, volunteer, utcnow() - timedelta(minutes=10 + i))
    return district, block, villages


def _rows(html, table):
    body = html[html.index(f'id="{table}"'):]
    return body[:body.index("</table>")]


def test_the_state_view_folds_volunteers_and_blocks_into_districts(client, login):
    a, block_a, _ = _district_with_villages(3, "Bastar")
    b, _, _ = _district_with_villages(2, "Durg")
    login(factories.make_user("nodal_officer"))  # state level
    html = client.get("/dashboard/").get_data(as_text=True)
    blocks = _rows(html, "block-table")
    assert 'data-folded="districts"' in blocks
    assert re.findall(r'data-district="(\d+)"', blocks) == [str(a.id), str(b.id)]  # most active first
    assert f"district={a.id}" in blocks and "block=" not in blocks  # the drill-down, no block's own link
    row_a = blocks[blocks.index(f'data-district="{a.id}"'):].split("</tr>")[0]
    assert ">Bastar</a>" in row_a and "(1 block)" in row_a and '<td class="text-end">3</td>' in row_a
    people = _rows(html, "volunteer-table")
    assert "data-user=" not in people and "vol_bastar" not in people
    row_a = people[people.index(f'data-district="{a.id}"'):].split("</tr>")[0]
    assert "(1 volunteer)" in row_a and '<td class="text-end">2</td>' in row_a  # calls today

    # The district's own view (the link): its blocks and volunteers, each with its links.
    html = client.get(f"/dashboard/?district={a.id}").get_data(as_text=True)
    blocks = _rows(html, "block-table")
    assert "data-folded" not in blocks and f"block={block_a.id}" in blocks and block_a.name in blocks
    assert 'data-user="vol_bastar"' in _rows(html, "volunteer-table")


def test_a_district_officer_sees_their_blocks_and_volunteers(client, login):
    a, block_a, _ = _district_with_villages(2, "Bastar")
    login(factories.make_user("nodal_officer", a))
    html = client.get("/dashboard/").get_data(as_text=True)
    assert "data-folded" not in html and f"block={block_a.id}" in _rows(html, "block-table")
    assert 'data-user="vol_bastar"' in _rows(html, "volunteer-table")


def test_the_village_table_comes_a_page_at_a_time_with_links_that_keep_the_filters(client, login):
    n = VILLAGE_PAGE_SIZE + 5
    a, _, villages = _district_with_villages(n, "Raigarh")
    login(factories.make_user("nodal_officer"))
    html = client.get(f"/dashboard/?district={a.id}&setting=home").get_data(as_text=True)
    assert _rows(html, "village-table").count("data-village=") == VILLAGE_PAGE_SIZE
    pages = html[html.index('id="village-pages"'):].split("</nav>")[0]
    assert "1 / 2" in pages and "Previous" not in pages
    next_link = re.search(r'href="([^"]+)">Next<', pages).group(1).replace("&amp;", "&")
    assert f"district={a.id}" in next_link and "setting=home" in next_link and "vpage=2" in next_link

    html = client.get(next_link.split("#")[0]).get_data(as_text=True)
    assert _rows(html, "village-table").count("data-village=") == 5
    pages = html[html.index('id="village-pages"'):].split("</nav>")[0]
    assert "2 / 2" in pages and "Previous" in pages and "Next" not in pages
    shown = set(re.findall(r'data-village="([^"]+)"', html))
    assert len(shown) == 5 and shown <= {v.name for v in villages}

    # A page past the end shows the last; a bad one the first.
    assert "2 / 2" in client.get(f"/dashboard/?district={a.id}&vpage=99").get_data(as_text=True)
    assert "1 / 2" in client.get(f"/dashboard/?district={a.id}&vpage=x").get_data(as_text=True)


def test_the_folded_tables_in_hindi(client, login):
    _district_with_villages(VILLAGE_PAGE_SIZE + 1, "Korba")
    login(factories.make_user("nodal_officer", language="hi"))
    html = client.get("/dashboard/").get_data(as_text=True)
    assert "जिलेवार; जिले के ब्लॉक देखने के लिए जिला खोलें।" in html
    assert "(1 ब्लॉक)" in html and "(1 वालंटियर)" in html
    assert 'id="village-pages"' in html
