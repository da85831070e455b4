"""Awareness broadcasts: audiences, drafts, approval, sending through the outbox."""
