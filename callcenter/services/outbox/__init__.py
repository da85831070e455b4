"""The durable outbox: every SMS and call the system makes."""
