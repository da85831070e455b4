"""Shared by every area: the transaction decorator, errors, the audit log, settings, accounts."""
