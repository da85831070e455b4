"""The session-signing key: production (the default) refuses to start without a strong SECRET_KEY; tests and
SAMPARK_ENV=development run without one; bin/start makes a random key once in instance/."""
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from callcenter import create_app
from callcenter.secret_key import KNOWN_WEAK, InsecureSecretKey, instance_key, weakness

ROOT = Path(__file__).resolve().parents[1]
STRONG = secrets.token_hex(32)


def make(tmp_path, **config):
    config.setdefault("PUBLIC_URL", "https://sampark.example.gov.in")  # production needs it too (test_public_url.py)
    return create_app("config.Config", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'app.db'}",
                      SECRET_KEY_FILE=tmp_path / "instance" / "secret_key", **config)


def test_production_is_the_default_and_refuses_to_start_without_a_key(tmp_path):
    said = subprocess.run([sys.executable, "-c", "import config; print(config.Config.SAMPARK_ENV, "
                           "config.Config.SECRET_KEY)"], cwd=ROOT, env=clean_env(), capture_output=True, text=True)
    assert said.stdout.split() == ["production", "None"], said
    with pytest.raises(InsecureSecretKey) as refused:
        make(tmp_path, SECRET_KEY=None, SAMPARK_ENV="production")
    message = str(refused.value)
    assert "SECRET_KEY is not set" in message
    assert 'python3 -c "import secrets; print(secrets.token_hex(32))"' in message
    assert not (tmp_path / "instance" / "secret_key").exists()  # production never invents a key


@pytest.mark.parametrize("key", ["dev-only-change-me", "test-secret", "changeme", "short-but-random-9f3a",
                                 "a" * 64, "ab" * 40, b"dev-only-change-me"])
def test_known_short_and_repetitive_keys_are_refused(tmp_path, key):
    with pytest.raises(InsecureSecretKey):
        make(tmp_path, SECRET_KEY=key, SAMPARK_ENV="production")


def test_the_old_public_default_cannot_sign_a_session_any_more(tmp_path):
    """The finding: with "dev-only-change-me" anyone could sign an administrator's session cookie."""
    assert weakness("dev-only-change-me") and "dev-only-change-me" in KNOWN_WEAK
    with pytest.raises(InsecureSecretKey):
        make(tmp_path, SECRET_KEY="dev-only-change-me")


def test_a_strong_key_starts_the_app(tmp_path):
    app = make(tmp_path, SECRET_KEY=STRONG, SAMPARK_ENV="production")
    assert app.config["SECRET_KEY"] == STRONG
    assert weakness(STRONG) is None


def test_development_without_a_key_makes_one_once_in_instance(tmp_path):
    first = make(tmp_path, SECRET_KEY=None, SAMPARK_ENV="development")
    second = make(tmp_path, SECRET_KEY=None, SAMPARK_ENV="development")
    key_file = tmp_path / "instance" / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text().strip()
    assert weakness(first.config["SECRET_KEY"]) is None
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # readable by its owner only
    assert list(key_file.parent.iterdir()) == [key_file]   # no temporary file left behind


def test_an_emptied_key_file_is_refused_not_used(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("\n")
    with pytest.raises(InsecureSecretKey, match="delete it"):
        instance_key(key_file)


def test_tests_run_on_the_test_configuration(app):
    assert app.testing and app.config["SECRET_KEY"] == "test-secret"  # TESTING: the check stands aside


# ── The shell commands of the README and the scheduler, in each mode ────────────────────────────────

def clean_env(**env):
    """This process's environment without anything that says which mode or key (the machine may set some)."""
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("SECRET_KEY", "SECRET_KEY_FILE", "SAMPARK_ENV", "DATABASE_URL", "FLASK_APP",
                                "PUBLIC_URL")}
    environment.update(PYTHONPATH=str(ROOT), **env)
    return environment


def flask(args, tmp_path, **env):
    environment = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", IMPORT_UPLOAD_DIR=str(tmp_path / "up"),
                            SECRET_KEY_FILE=str(tmp_path / "instance" / "secret_key"), **env)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_cli_in_production_needs_the_key_and_runs_with_one(tmp_path):
    refused = flask(["db", "upgrade"], tmp_path)
    assert refused.returncode != 0
    assert "SECRET_KEY is not set" in refused.stderr + refused.stdout
    assert "secrets.token_hex(32)" in refused.stderr + refused.stdout
    for args in (["db", "upgrade"], ["make-call-lists"], ["send-outbox", "--max-seconds", "1"],
                 ["scheduler", "--help"]):
        done = flask(args, tmp_path, SECRET_KEY=STRONG, PUBLIC_URL="https://sampark.example.gov.in")
        assert done.returncode == 0, (args, done.stdout, done.stderr)


def test_cli_in_development_runs_without_a_key(tmp_path):
    for args in (["db", "upgrade"], ["make-call-lists"]):
        done = flask(args, tmp_path, SAMPARK_ENV="development")
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    assert weakness((tmp_path / "instance" / "secret_key").read_text().strip()) is None


def test_bin_start_makes_the_key_once_and_passes_it_on(tmp_path):
    """bin/start's own line: a fresh machine gets a strong key in instance/, the same one every time."""
    line = next(ln for ln in (ROOT / "bin" / "start").read_text().splitlines() if "instance_key(" in ln)
    command = line.split("$(", 1)[1].rsplit(")", 1)[0].replace(".venv/bin/python", sys.executable)
    env = clean_env(SECRET_KEY_FILE=str(tmp_path / "instance" / "secret_key"))
    keys = [subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True).stdout.strip() for _ in range(2)]
    assert keys[0] == keys[1] and weakness(keys[0]) is None
