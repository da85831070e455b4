"""Migration 0018 takes the check-in link tokens out of the outbox's settled (or stale) messages; queued ones
keep theirs until sent."""
from datetime import datetime, timedelta

from flask_migrate import upgrade
from sqlalchemy import text

from callcenter import create_app
from callcenter.extensions import db

from ..test_migrations import empty_database_url  # noqa: F401  (a fixture)

TOKENS = {"sent": "SentTokenAAAAAAA", "queued": "QueuedTokenBBBBB", "old_queued": "OldQueuedTokenCC"}


def _message(conn, key, status, token, created_at):
    conn.execute(text(
        "INSERT INTO outbound_message (idempotency_key, kind, to_phone, template, params, language, body, status, "
        "tries, next_attempt_at, last_error, created_at) VALUES (:key, 'sms', '+919826012345', 'checkin_link', "
        ":params, 'en', :body, :status, 0, :at, '', :at)"),
        {"key": key, "params": f'{{"token": "{token}"}}', "body": f"Tell us: https://x.example/c/{token} now",
         "status": status, "at": created_at})


def test_settled_and_stale_messages_lose_their_token(empty_database_url):  # noqa: F811
    app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=empty_database_url)
    now = datetime.utcnow()
    with app.app_context():
        try:
            upgrade(revision="0017")
            with db.engine.begin() as conn:
                _message(conn, "a", "sent", TOKENS["sent"], now)
                _message(conn, "b", "queued", TOKENS["queued"], now)
                _message(conn, "c", "queued", TOKENS["old_queued"], now - timedelta(days=3))
            upgrade(revision="0018")
            with db.engine.connect() as conn:
                rows = dict(conn.execute(text("SELECT idempotency_key, body FROM outbound_message")).all())
            assert TOKENS["sent"] not in rows["a"] and "/c/… now" in rows["a"]
            assert TOKENS["old_queued"] not in rows["c"]
            assert TOKENS["queued"] in rows["b"]  # sent later, masked by the sender then
        finally:
            db.engine.dispose()
