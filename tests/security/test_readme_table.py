"""The README's table of who may use what is the declared policy itself, regenerated: a route added or a role
changed without updating it fails here."""
from pathlib import Path

from callcenter.auth.access import TABLE_END, TABLE_START, role_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_shows_the_declared_policy(app):
    text = README.read_text(encoding="utf-8")
    assert TABLE_START in text and TABLE_END in text, "README.md has no access table"
    shown = text[text.index(TABLE_START):text.index(TABLE_END) + len(TABLE_END)]
    assert shown == role_table(app), "README.md's access table is out of date: paste `flask --app app access-table`"


def test_the_command_prints_the_table(app, runner):
    result = runner.invoke(args=["access-table"])
    assert result.exit_code == 0 and result.output.strip() == role_table(app)
