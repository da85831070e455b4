"""/healthz and /readyz: for a load balancer, fast and plain.

Neither redirects, sets a cookie, needs CSRF (GET only) or counts against a rate limit; neither looks up a user.
/healthz touches nothing: the process answers. /readyz asks the database (services/core/readiness.py).
"""
from flask import Blueprint, Response, jsonify

from ..auth.access import public
from ..extensions import limiter
from ..services.core import readiness

bp = Blueprint("ops", __name__)
PROBES = frozenset({"ops.healthz", "ops.readyz"})


@bp.get("/healthz")
@limiter.exempt
@public("a load balancer's probe: the process is up (no data)")
def healthz():
    return Response("ok", mimetype="text/plain")


@bp.get("/readyz")
@limiter.exempt
@public("a load balancer's probe: database, migrations and scheduler, each as one word (no data)")
def readyz():
    results, ready = readiness.checks()
    response = jsonify(status="ready" if ready else "not ready", checks=results)
    response.status_code = 200 if ready else 503
    return response
