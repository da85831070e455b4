"""Sampark: a COVID call-centre patient follow-up system."""
from flask import Flask, current_app, g, has_request_context, request, session
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from .extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate


def create_app(config_object="config.Config", **overrides):
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config_object)
    app.config.update(overrides)
    from .secret_key import check as check_secret_key
    check_secret_key(app)  # refuses to start with a missing or weak SECRET_KEY outside tests and development
    from .public_urls import check as check_public_url
    check_public_url(app)  # and without PUBLIC_URL: check-in links would point at 127.0.0.1
    if app.config.get("TRUST_PROXY_HOPS"):
        hops = app.config["TRUST_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)
    register_extensions(app)
    register_metrics(app)  # its request hook goes first, so that a request's time includes the others
    register_input_checks(app)  # before the blueprints: their <int:…> routes take its bounded converter
    register_blueprints(app)
    register_access_policy(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def select_locale():
    """The signed-in user's language; before sign-in the session's choice, then the browser's."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]  # shell commands and jobs
    if g.get("api_user") is not None:  # bearer-token requests (callcenter/api/v1/security.py)
        return g.api_user.language
    if current_user and current_user.is_authenticated:
        return current_user.language
    languages = current_app.config["LANGUAGES"]
    return session.get("lang") if session.get("lang") in languages else \
        request.accept_languages.best_match(list(languages), default="en")


def register_extensions(app):
    from pathlib import Path
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    if uri.startswith("sqlite:"):
        # SQLite has one writer at a time; others wait for it, by default only 5 s, which a busy machine
        # (the scheduler's import beside two web workers) can exceed: "database is locked".
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {"timeout": 30, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    elif uri.startswith("postgresql"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = postgres_engine_options(app.config)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"),
                     render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)  # limits are per view (the public check-in link); none by default
    babel.init_app(app, locale_selector=select_locale)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    from flask_babel import lazy_gettext as _l
    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "warning"

    # A session's id is "<user id>:<session epoch>": ending a user's sessions bumps the epoch (auth/sessions.py).
    from .services.core import accounts
    login_manager.user_loader(accounts.user_for_session)


def postgres_engine_options(config):
    """The pool's size and timeouts from DB_POOL_SIZE … (config.py); SQLALCHEMY_ENGINE_OPTIONS given
    explicitly win."""
    options = {"pool_size": config["DB_POOL_SIZE"], "max_overflow": config["DB_MAX_OVERFLOW"],
               "pool_timeout": config["DB_POOL_TIMEOUT"], **(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})}
    options["connect_args"] = {"connect_timeout": config["DB_CONNECT_TIMEOUT"], **options.get("connect_args", {})}
    return options


def register_blueprints(app):
    from .admin.views import bp as admin_bp
    from .api.v1 import init_api
    from .auth.views import bp as auth_bp
    from .broadcasts.views import bp as broadcasts_bp
    from .checkins.views import bp as checkins_bp
    from .dashboard.views import bp as dashboard_bp
    from .desks.views import bp as desks_bp
    from .intake.views import bp as intake_bp
    from .ops.views import bp as ops_bp
    from .queue.views import bp as queue_bp
    from .records.views import bp as records_bp

    for bp in (auth_bp, queue_bp, desks_bp, intake_bp, records_bp, checkins_bp, dashboard_bp, admin_bp, ops_bp,
               broadcasts_bp):
        app.register_blueprint(bp)
    init_api(app)


def register_metrics(app):
    from .ops import metrics
    metrics.init_app(app)  # nothing at all unless METRICS_ENABLED


def register_input_checks(app):
    from .input_checks import register
    register(app)


def register_security_headers(app):
    from .access_log import register as register_access_log
    from .security_headers import register
    register(app)
    register_access_log(app)  # request lines logged without tokens or query strings


def register_access_policy(app):
    from .auth.access import enforce
    app.before_request(enforce)


def register_errorhandlers(app):
    from .errors import register
    register(app)


def register_template_helpers(app):
    from .templating import register
    register(app)


def register_commands(app):
    from .commands import register
    from .ops.commands import register as register_operations
    register(app)
    register_operations(app)  # check-integrity, backup, restore-drill
