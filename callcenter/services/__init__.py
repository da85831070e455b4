"""The transactions. Views, the API and jobs call these; nothing else writes to the database.

Each public function is one transaction: it commits on success (with its audit record) and
rolls back on any error.
"""
