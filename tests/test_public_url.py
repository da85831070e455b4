"""Issue 17: check-in SMS links are built from PUBLIC_URL. Production (the default) refuses to start without it,
instead of texting patients links to http://127.0.0.1:5000; development and tests use this machine's address."""
import secrets
from pathlib import Path

import pytest

from callcenter import create_app, public_urls
from callcenter.public_urls import MissingPublicUrl

from .test_secret_key import clean_env, flask

ROOT = Path(__file__).resolve().parents[1]
STRONG = secrets.token_hex(32)


def make(tmp_path, **config):
    return create_app("config.Config", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'app.db'}",
                      SECRET_KEY=STRONG, SECRET_KEY_FILE=tmp_path / "instance" / "secret_key", **config)


def test_production_refuses_to_start_without_a_public_url(tmp_path):
    with pytest.raises(MissingPublicUrl) as refused:
        make(tmp_path, PUBLIC_URL="", SAMPARK_ENV="production")
    message = str(refused.value)
    assert "PUBLIC_URL is not set" in message and "check-in links" in message
    assert "PUBLIC_URL=https://sampark.example.gov.in" in message


@pytest.mark.parametrize("url", ["sampark.example.gov.in", "ftp://sampark.example.gov.in", "https://",
                                 "https://sampark.example.gov.in/?x=1"])
def test_production_refuses_an_address_links_cannot_be_built_on(tmp_path, url):
    with pytest.raises(MissingPublicUrl, match="not an http:// or https:// address"):
        make(tmp_path, PUBLIC_URL=url, SAMPARK_ENV="production")


def test_production_links_use_the_public_url(tmp_path):
    app = make(tmp_path, PUBLIC_URL="https://sampark.example.gov.in/", SAMPARK_ENV="production")
    with app.app_context():
        assert public_urls.link_base().startswith("https://sampark.example.gov.in/")
        assert "127.0.0.1" not in public_urls.link_base()


def test_development_falls_back_to_this_machine(tmp_path):
    app = make(tmp_path, PUBLIC_URL="", SAMPARK_ENV="development")
    assert app.config["PUBLIC_URL"] == "http://127.0.0.1:5000"


def test_the_scheduler_and_commands_refuse_without_it_and_say_why(tmp_path):
    refused = flask(["scheduler", "--help"], tmp_path, SECRET_KEY=STRONG)
    assert refused.returncode != 0
    assert "PUBLIC_URL is not set" in refused.stderr + refused.stdout
    done = flask(["scheduler", "--help"], tmp_path, SECRET_KEY=STRONG, PUBLIC_URL="https://sampark.example.gov.in")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PUBLIC_URL" not in clean_env()  # the machine's own setting played no part


def test_the_readme_and_deploy_guide_set_it():
    readme = (ROOT / "README.md").read_text()
    production = readme.split("## Running it for real", 1)[1].split("## Tests", 1)[0]
    assert "| `PUBLIC_URL` |" in production and "PUBLIC_URL=https://" in production
    assert "PUBLIC_URL=https://" in (ROOT / "docs" / "DEPLOY.md").read_text()
