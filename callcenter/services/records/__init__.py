"""The patient record: registration, the record and its timeline, transfers, villages."""
