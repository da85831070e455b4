"""API resources (filled in per resource module)."""
BLUEPRINTS = []
