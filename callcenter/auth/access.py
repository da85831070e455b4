"""Access decorators: every view names the roles it serves."""
import functools

from flask import abort
from flask_login import current_user, login_required


def roles_required(*roles):
    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        wrapper.roles = roles
        return wrapper
    return decorator
