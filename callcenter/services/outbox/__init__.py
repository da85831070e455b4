"""The durable outbox: every SMS and call is a row here first, and is handed to the provider at most once.

The life of a message (models/messaging.OutboxStatus):

    queued ──claim (committed)──▶ sending ──provider took it──▶ sent ──status callback──▶ delivered / failed
      ▲                              │ retryable error (back-off) ─┘ queued   │ permanent error ─▶ failed
      │                              │ outcome unknown, or the sender died ──▶ unknown
      └──── the provider has no record of it ◀── reconcile ─────────────────────┘ (found ─▶ sent)

- Enqueue is set-based and idempotent: a unique idempotency key per message ("checkin:<patient>:<day>").
- A sender claims rows (queued → sending, claimed_at) and commits BEFORE calling the provider; on
  PostgreSQL FOR UPDATE SKIP LOCKED lets several senders share the work, and the conditional UPDATE
  makes a row theirs alone on every database.
- A message whose hand-off outcome is unknown is never sent again blindly: the provider's records are
  searched (gateway.find); found → sent; certainly absent → queued again; cannot tell → left 'unknown'
  for a status callback (its URL names the message) or a person on the outbox page.
- Sending is rate-limited (a token bucket on an injectable clock) and stops (cancelled) for patients
  no longer followed up, invalid numbers and SMS opt-outs, and for check-ins whose window has closed.
"""
