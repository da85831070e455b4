"""Check-in link tokens out of the outbox: the text of a check-in SMS already sent (or settled) keeps a
placeholder instead of its token

Links are looked up by the token's hash (checkin_link.token_hash), so a link already sent keeps working until it
expires at its day's end, whatever the outbox keeps; only the outbox's copy of the token goes. Messages still
queued (at most a day's) keep theirs until the provider takes them, when the sender masks it
(services/outbox/messages.py); from now on a new one holds a seed, and its token is made only when it is sent.
The masking cannot be undone (downgrade leaves the texts as they are).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 22:10:00.000000

"""
from datetime import datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

PLACEHOLDER = "…"
SETTLED = ("sent", "delivered", "failed", "cancelled")
BATCH = 5000

messages = sa.table("outbound_message", sa.column("id", sa.Integer), sa.column("status", sa.String),
                    sa.column("template", sa.String), sa.column("body", sa.Text), sa.column("params", sa.JSON),
                    sa.column("created_at", sa.DateTime))


def upgrade():
    conn = op.get_bind()
    stale = datetime.utcnow() - timedelta(days=2)  # queued that long ago: its link has expired anyway
    after = 0
    while True:
        rows = conn.execute(
            sa.select(messages.c.id, messages.c.body, messages.c.params)
            .where(messages.c.id > after, messages.c.template == "checkin_link",
                   sa.or_(messages.c.status.in_(SETTLED), messages.c.created_at < stale))
            .order_by(messages.c.id).limit(BATCH)).all()
        if not rows:
            return
        after = rows[-1].id
        for row in rows:
            token = (row.params or {}).get("token")
            if token and token != PLACEHOLDER:
                conn.execute(messages.update().where(messages.c.id == row.id).values(
                    body=row.body.replace(token, PLACEHOLDER), params={**row.params, "token": PLACEHOLDER}))


def downgrade():
    pass  # a masked token is gone for good (its link still opens, by hash, until it expires)
