"""The translation catalogues: every string in the source has a translation, keeps its
placeholders, and the catalogue compiles and is what the app serves.

The source is extracted afresh (the same command as in babel.cfg), so a developer who adds a
string and forgets its Hindi gets a failing test naming the string and where it is used.
"""
import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "callcenter" / "translations"
# Keywords besides Babel's defaults (_, gettext, ngettext, …); keep in step with babel.cfg.
EXTRA_KEYWORDS = ["_l", "lazy_gettext"]
LOCALES = sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))

NAMED = re.compile(r"%\(([^)]*)\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]")
BRACED = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")  # str.format placeholders (marshmallow messages)


@pytest.fixture
def _fresh_database():
    """These tests need no database: override conftest's autouse fixture of the same name."""
    yield


def _babel(*args):
    """pybabel with this interpreter ("python -m babel.messages.frontend" would always exit 0)."""
    run_pybabel = "import sys; from babel.messages.frontend import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", run_pybabel, *args], cwd=ROOT,
                          capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory):
    """Every message in the current source, extracted as `pybabel extract` does it."""
    pot = tmp_path_factory.mktemp("extract") / "messages.pot"
    keywords = [arg for k in EXTRA_KEYWORDS for arg in ("-k", k)]
    result = _babel("extract", "-F", "babel.cfg", *keywords, "-o", str(pot), ".")
    assert result.returncode == 0, result.stderr
    with pot.open("rb") as f:
        messages = [m for m in read_po(f) if m.id]
    assert len(messages) > 100, "extraction found almost nothing: is babel.cfg right?"
    return messages


def _catalog(locale):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


def _strings(message):
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]


def _where(message):
    return ", ".join(f"{path}:{line}" for path, line in message.locations[:3])


def test_the_hindi_catalogue_exists():
    assert "hi" in LOCALES


@pytest.mark.parametrize("locale", LOCALES)
def test_every_source_string_is_translated(source_messages, locale):
    catalog = _catalog(locale)
    missing = []
    for message in source_messages:
        translated = catalog.get(message.id, context=message.context)
        if translated is None:
            problem = "not in the catalogue (run pybabel update)"
        elif translated.fuzzy:
            problem = "marked fuzzy (check the translation, then remove the fuzzy flag)"
        elif not all(s.strip() for s in _strings(translated)):
            problem = "no translation"
        else:
            continue
        missing.append(f"  {message.id!r} ({_where(message)}): {problem}")
    assert not missing, (f"{len(missing)} string(s) lack a '{locale}' translation in "
                         f"callcenter/translations/{locale}/LC_MESSAGES/messages.po "
                         f"(see babel.cfg for the commands):\n" + "\n".join(missing))


def _placeholders(text):
    """Named %(x)s and {x} placeholders, and the count of other % signs (%% stays %%, a bare % stays bare)."""
    return set(NAMED.findall(text)) | set(BRACED.findall(text)), NAMED.sub("", text).count("%")


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders(locale):
    catalog = _catalog(locale)
    wrong = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = list(message.id) if message.pluralizable else [message.id]
        wanted = [_placeholders(i) for i in ids]
        for n, text in enumerate(_strings(message)):
            if not text:
                continue
            names, percents = _placeholders(text)
            if message.pluralizable:
                # a singular form may leave out the number; the last form must have all of them
                all_names = set().union(*(w[0] for w in wanted))
                ok = names <= all_names and (n < len(_strings(message)) - 1 or names == wanted[-1][0])
                ok = ok and percents == wanted[-1][1]
            else:
                ok = (names, percents) == wanted[0]
            if not ok:
                wrong.append(f"  {message.id!r} -> {text!r}")
    for message, errors in catalog.check():
        wrong.extend(f"  {message.id!r}: {error}" for error in errors)
    assert not wrong, "placeholders differ between msgid and msgstr:\n" + "\n".join(wrong)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """The catalogues compiled into a copy of callcenter/translations."""
    out = tmp_path_factory.mktemp("translations") / "translations"
    shutil.copytree(TRANSLATIONS, out, ignore=shutil.ignore_patterns("*.mo"))
    result = _babel("compile", "-d", str(out), "--statistics")
    return out, result


@pytest.mark.parametrize("locale", LOCALES)
def test_the_catalogue_compiles(compiled, locale):
    out, result = compiled
    assert result.returncode == 0, result.stdout + result.stderr
    mo = out / locale / "LC_MESSAGES" / "messages.mo"
    assert mo.exists(), f"no {mo.name} for {locale} (is the catalogue marked fuzzy?)\n{result.stderr}"
    with mo.open("rb") as f:
        translations = gettext.GNUTranslations(f)
    for message in _catalog(locale):
        if message.id and message.string and not message.fuzzy and not message.pluralizable:
            if message.context:  # pgettext: the same English word in another sense
                assert translations.pgettext(message.context, message.id) == message.string
            else:
                assert translations.gettext(message.id) == message.string


def test_the_app_serves_hindi_from_the_catalogue(compiled):
    """A page asked for in Hindi comes out in Hindi (the sign-in page needs no database)."""
    from callcenter import create_app

    out, _result = compiled
    app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI="sqlite://",
                     BABEL_TRANSLATION_DIRECTORIES=str(out))
    html = app.test_client().get("/login", headers={"Accept-Language": "hi"}).get_data(as_text=True)
    assert '<html lang="hi">' in html
    assert "लॉग इन" in html
    assert "Sign in" not in html
