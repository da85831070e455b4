"""API resources: one blueprint per module, registered under /api/v1 by init_api()."""
from . import auth, escalations, patients, tasks

BLUEPRINTS = [auth.blp, patients.blp, tasks.blp, escalations.blp]
