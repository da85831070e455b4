"""Settings read from the environment, with safe defaults.

Clinical thresholds here are only the *defaults*; an administrator can change each one
at run time (stored in the database, see callcenter/services/settings.py).
"""
import os
from pathlib import Path

from callcenter.rules.adjustable import SETTINGS as ADJUSTABLE

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _env_int(name, default):
    return int(os.environ.get(name, default))


def _local_http(url):
    """Plain HTTP on this machine: development, where a Secure cookie would never be sent back."""
    return url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]"))


def _env_role_minutes(name):
    """"volunteer=60,doctor=45" → {"volunteer": 60, "doctor": 45}."""
    pairs = (p.split("=", 1) for p in os.environ.get(name, "").split(",") if "=" in p)
    return {role.strip(): int(minutes) for role, minutes in pairs}


def database_url(url):
    # Heroku-style and plain psycopg URLs both work; we use the psycopg 3 driver.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    # Signs sessions: required and strong unless SAMPARK_ENV=development (callcenter/secret_key.py checks it at
    # start). Production is the default; development without a key uses a random one kept in SECRET_KEY_FILE.
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SAMPARK_ENV = os.environ.get("SAMPARK_ENV", "production")
    SECRET_KEY_FILE = Path(os.environ.get("SECRET_KEY_FILE", INSTANCE_DIR / "secret_key"))
    SQLALCHEMY_DATABASE_URI = database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'sampark.db'}"))
    # hide_parameters: a failed statement's message (the error log) and SQL echo never carry its values: phone
    # numbers, names and search terms stay out of every log (DPDP).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    # PostgreSQL connections per process (each gunicorn worker and each scheduler has its own pool): at most
    # DB_POOL_SIZE + DB_MAX_OVERFLOW at once, waiting DB_POOL_TIMEOUT s for a free one; a new connection gives up
    # after DB_CONNECT_TIMEOUT s (a database that does not answer must not hold a worker's threads for minutes).
    # docs/DEPLOY.md sizes them against PostgreSQL's max_connections.
    DB_POOL_SIZE = _env_int("DB_POOL_SIZE", 5)
    DB_MAX_OVERFLOW = _env_int("DB_MAX_OVERFLOW", 10)
    DB_POOL_TIMEOUT = _env_int("DB_POOL_TIMEOUT", 30)
    DB_CONNECT_TIMEOUT = _env_int("DB_CONNECT_TIMEOUT", 10)
    TIMEZONE = os.environ.get("TIMEZONE", "Asia/Kolkata")
    # Where people open Sampark and their check-in SMS links, e.g. https://sampark.example.gov.in. Required in
    # production (callcenter/public_urls.py refuses to start without it); development and tests use this machine.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "").strip()

    # Behind a reverse proxy: how many proxies set X-Forwarded-* (werkzeug ProxyFix); 0 = none.
    TRUST_PROXY_HOPS = _env_int("TRUST_PROXY_HOPS", 0)

    # Messaging (SMS and calls): "console" stores and shows every message; "twilio" sends them.
    MESSAGING_BACKEND = os.environ.get("MESSAGING_BACKEND", "console")
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")  # empty: every webhook is refused
    TWILIO_SMS_FROM = os.environ.get("TWILIO_SMS_FROM", "")
    TWILIO_CALL_FROM = os.environ.get("TWILIO_CALL_FROM", "")
    # The public base URL Twilio calls (and signs), e.g. https://sampark.example.gov.in; default PUBLIC_URL.
    WEBHOOK_BASE_URL = os.environ.get("WEBHOOK_BASE_URL", "")
    TWILIO_HTTP_TIMEOUT = _env_int("TWILIO_HTTP_TIMEOUT", 30)  # seconds; keep well under the reconcile delay
    # Per channel, a backend other than MESSAGING_BACKEND (empty: MESSAGING_BACKEND), e.g. SMS through Exotel
    # while the IVR stays on Twilio. Click-to-call (a volunteer bridged to a patient) needs console or exotel.
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "")
    IVR_BACKEND = os.environ.get("IVR_BACKEND", "")
    CLICK_TO_CALL_BACKEND = os.environ.get("CLICK_TO_CALL_BACKEND", "")
    # Exotel (callcenter/gateway/exotel.py; docs/TELEPHONY.md): API key and token (HTTP Basic), account SID,
    # the region's host (Mumbai: api.in.exotel.com), the centre's ExoPhone (caller ID), the DLT entity id and
    # registered header (sender id), and each Sampark SMS template's DLT template id as name=id,name=id.
    EXOTEL_API_KEY = os.environ.get("EXOTEL_API_KEY", "")
    EXOTEL_API_TOKEN = os.environ.get("EXOTEL_API_TOKEN", "")
    EXOTEL_ACCOUNT_SID = os.environ.get("EXOTEL_ACCOUNT_SID", "")
    EXOTEL_SUBDOMAIN = os.environ.get("EXOTEL_SUBDOMAIN", "api.in.exotel.com")
    EXOTEL_API_BASE = os.environ.get("EXOTEL_API_BASE", "")  # default https://<subdomain>; tests point it at a fake
    EXOTEL_CALLER_ID = os.environ.get("EXOTEL_CALLER_ID", "")  # the centre's ExoPhone (e.g. 0771XXXXXXX)
    EXOTEL_DLT_ENTITY_ID = os.environ.get("EXOTEL_DLT_ENTITY_ID", "")
    EXOTEL_SMS_HEADER = os.environ.get("EXOTEL_SMS_HEADER", "")  # the DLT-registered sender id, e.g. SMPARK
    EXOTEL_DLT_TEMPLATE_IDS = os.environ.get("EXOTEL_DLT_TEMPLATE_IDS", "")  # checkin_link=1107...,help_ambulance=…
    EXOTEL_IVR_APP_ID = os.environ.get("EXOTEL_IVR_APP_ID", "")  # the Exotel flow (app) of the IVR check-in
    # Exotel does not sign its callbacks: every callback URL carries this secret (long and random).
    EXOTEL_CALLBACK_SECRET = os.environ.get("EXOTEL_CALLBACK_SECRET", "")
    EXOTEL_HTTP_TIMEOUT = _env_int("EXOTEL_HTTP_TIMEOUT", 30)
    CALL_RECORDING = os.environ.get("CALL_RECORDING", "0") == "1"  # click-to-call recordings: off by default
    # Click-to-call rings the user's profile mobile; a desk phone for users without one (e.g. the control room's).
    CLICK_TO_CALL_DESK_PHONE = os.environ.get("CLICK_TO_CALL_DESK_PHONE", "")
    # Daily check-ins (local time): enqueued at the window's start; any not sent by its end are dropped.
    CHECKIN_WINDOW_START = os.environ.get("CHECKIN_WINDOW_START", "09:00")
    CHECKIN_WINDOW_END = os.environ.get("CHECKIN_WINDOW_END", "12:00")
    # The outbox sender (callcenter/services/outbox.py): messages per second, retries, reconciliation.
    # 300,000 daily check-ins in the 3-hour window need 300000 / 10800 s = 28 a second: 30 leaves a little
    # room. Keep it within what the provider accepts (README, "The outbox rate"); the sender warns when
    # the queue cannot drain before the window closes.
    OUTBOX_RATE_PER_SECOND = float(os.environ.get("OUTBOX_RATE_PER_SECOND", 30))
    OUTBOX_SEND_INTERVAL_SECONDS = _env_int("OUTBOX_SEND_INTERVAL_SECONDS", 30)
    OUTBOX_PASS_SECONDS = _env_int("OUTBOX_PASS_SECONDS", 25)  # a scheduled pass stops before the next
    OUTBOX_MAX_TRIES = _env_int("OUTBOX_MAX_TRIES", 5)
    OUTBOX_RETRY_SECONDS = _env_int("OUTBOX_RETRY_SECONDS", 60)  # doubled after each failed try
    # A message still "sending" this long after its claim lost its sender: it is reconciled.
    OUTBOX_RECONCILE_AFTER_MINUTES = _env_int("OUTBOX_RECONCILE_AFTER_MINUTES", 10)
    # Escalation deadlines (jobs/escalation_deadlines.py): how often overdue escalations are looked for, and
    # the language of the SMS to the districts' duty officers ("hi" or "en").
    ESCALATION_DEADLINES_INTERVAL_SECONDS = _env_int("ESCALATION_DEADLINES_INTERVAL_SECONDS", 60)
    DASHBOARD_SNAPSHOT_INTERVAL_SECONDS = _env_int("DASHBOARD_SNAPSHOT_INTERVAL_SECONDS", 60)  # see PERFORMANCE.md
    # The daily report's PDF is printed by headless Chromium (Debian's package).
    CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    DUTY_SMS_LANGUAGE = os.environ.get("DUTY_SMS_LANGUAGE", "hi")

    # Sign-in sessions. Cookies are Secure (sent over HTTPS only) unless SESSION_COOKIE_SECURE=0, or in
    # development (SAMPARK_ENV=development, or PUBLIC_URL plain HTTP on this machine: 127.0.0.1, localhost).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0" if (
        os.environ.get("SAMPARK_ENV") == "development"
        or _local_http(os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000"))) else "1") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_DURATION = 12 * 3600
    # A session ends after this long whatever happens (a shift), and after SESSION_IDLE_MINUTES without a
    # request (a page that updates itself counts); per-role overrides, e.g. "volunteer=60,doctor=45".
    # No idle limit may exceed SESSION_IDLE_MAX_MINUTES.
    PERMANENT_SESSION_LIFETIME = _env_int("SESSION_LIFETIME_HOURS", 12) * 3600
    # The session cookie is written only when the session changes (auth/sessions.py notes activity at most
    # every 30 s). Rewritten on every request, a page's background poll answered just after a form's save would
    # put back the cookie from before it, and the save's "Saved." message (kept in the cookie) would be lost.
    SESSION_REFRESH_EACH_REQUEST = False
    SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 30)
    SESSION_IDLE_MINUTES_BY_ROLE = _env_role_minutes("SESSION_IDLE_MINUTES_BY_ROLE")
    SESSION_IDLE_MAX_MINUTES = 8 * 60
    API_TOKEN_HOURS = _env_int("API_TOKEN_HOURS", 12)
    # Two-factor sign-in (TOTP): required for these roles, optional for the others.
    TWO_FACTOR_REQUIRED_ROLES = [r.strip() for r in os.environ.get(
        "TWO_FACTOR_REQUIRED_ROLES", "admin,nodal_officer,control_room").split(",") if r.strip()]
    TWO_FACTOR_ISSUER = os.environ.get("TWO_FACTOR_ISSUER", "Sampark")
    # Sign-in attempts per client address (all usernames together), on POST /login, the two-factor step and
    # POST /api/v1/auth/token. Generous: a call centre's staff may share one address.
    SIGN_IN_RATE_LIMIT = os.environ.get("SIGN_IN_RATE_LIMIT", "60 per minute; 600 per hour")

    # Languages
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    LANGUAGES = {"en": "English", "hi": "हिन्दी"}

    # Static assets are served from the installed Bootstrap-Flask package, never a CDN.
    BOOTSTRAP_SERVE_LOCAL = True
    WTF_CSRF_TIME_LIMIT = None  # a volunteer's call screen may stay open for a long call

    # JSON API / OpenAPI document (flask-smorest)
    API_TITLE = "Sampark API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    # What one SMS segment costs the district, in paise (a broadcast's estimate: segments × phones × this).
    SMS_SEGMENT_PAISE = _env_int("SMS_SEGMENT_PAISE", 20)
    # A page's background poll (the desk console, every 5 s) writes its view record when the patients it shows
    # change, and again at least this often while they stay the same (services/records/shown.py).
    AUDIT_POLL_REPEAT_SECONDS = _env_int("AUDIT_POLL_REPEAT_SECONDS", 300)
    # An administrator's settings are read from the database at most this often per process (each request
    # asked before: one query on every request of the call loop). A change made in this process holds at once;
    # the other workers and the scheduler see it within this many seconds. 0: read on every request.
    SETTINGS_CACHE_SECONDS = _env_int("SETTINGS_CACHE_SECONDS", 5)
    # Phone numbers refused as placeholders besides one digit repeated and runs like 1234567890 (comma-separated
    # 10-digit numbers, e.g. an office number a district's line lists used for patients without a phone).
    PLACEHOLDER_PHONES = [n.strip()[-10:] for n in os.environ.get("PLACEHOLDER_PHONES", "").split(",") if n.strip()]
    # Defaults for the settings an administrator can change, declared in callcenter/rules/adjustable.py; an
    # environment variable named as the setting in capitals (SPO2_EMERGENCY_BELOW, FEVER_F …) replaces one.
    SETTING_DEFAULTS = {setting.key: setting.from_environment(os.environ) for setting in ADJUSTABLE}
    # The daily jobs (local time) and the two call slots; see jobs/scheduler.py.
    CALL_LIST_TIME = os.environ.get("CALL_LIST_TIME", "07:00")
    RELEASE_REVIEW_TIME = os.environ.get("RELEASE_REVIEW_TIME", "07:15")
    # The dashboard's closed-day counts (before the morning list; until then yesterday is counted live).
    DAILY_FIGURES_TIME = os.environ.get("DAILY_FIGURES_TIME", "06:30")
    # The retention job (anonymises closed records past the `retention_days` setting): at night, when quiet.
    RETENTION_TIME = os.environ.get("RETENTION_TIME", "02:30")
    FIRST_SLOT_TIME = os.environ.get("FIRST_SLOT_TIME", "08:00")
    SECOND_SLOT_TIME = os.environ.get("SECOND_SLOT_TIME", "15:00")
    SCHEDULER_MISFIRE_GRACE_HOURS = _env_int("SCHEDULER_MISFIRE_GRACE_HOURS", 12)
    # A running job's process refreshes its heartbeat every JOB_HEARTBEAT_SECONDS; a run quiet for
    # JOB_STALE_SECONDS (or whose process is gone, on the same host) is taken over. Every scheduler re-checks
    # the day's jobs (catch-up) and shows its own heartbeat every CATCH_UP_INTERVAL_SECONDS; a daily run that
    # failed is retried so, up to JOB_MAX_TRIES in all (then it waits for "Run now" on the Jobs page).
    JOB_HEARTBEAT_SECONDS = _env_int("JOB_HEARTBEAT_SECONDS", 5)
    JOB_STALE_SECONDS = _env_int("JOB_STALE_SECONDS", 30)
    CATCH_UP_INTERVAL_SECONDS = _env_int("CATCH_UP_INTERVAL_SECONDS", 20)
    JOB_MAX_TRIES = _env_int("JOB_MAX_TRIES", 3)

    # Inbound check-ins (callcenter/checkins/): the IVR's voice, and the link form's limit per IP address
    # (generous: mobile networks put many phones behind one address). Limiter storage: memory:// per
    # process; e.g. redis://host:6379 to share the counts between gunicorn workers.
    IVR_VOICE = os.environ.get("IVR_VOICE", "Polly.Aditi")  # speaks Hindi (hi-IN) and Indian English (en-IN)
    CHECKIN_LINK_RATE_LIMIT = os.environ.get("CHECKIN_LINK_RATE_LIMIT", "60 per minute")
    RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "1") == "1"
    # memory:// (the zero-setup default) counts per process; in production set a Redis URL, e.g.
    # redis://127.0.0.1:6379/0, so that every worker and instance shares the counts (sign-in limits too).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True

    # Line-list imports (callcenter/services/imports.py): the largest file and row count accepted, and
    # where uploads wait (for the column mapping and the real run after a check) before they are deleted.
    IMPORT_MAX_BYTES = _env_int("IMPORT_MAX_BYTES", 25 * 1024 * 1024)
    # No request body may be larger (the form around the file needs a little more): a bigger upload is
    # stopped before it is read, with a 413 page that names the limit (callcenter/errors.py).
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", IMPORT_MAX_BYTES + 256 * 1024)
    IMPORT_MAX_ROWS = _env_int("IMPORT_MAX_ROWS", 200_000)
    IMPORT_UPLOAD_DIR = os.environ.get("IMPORT_UPLOAD_DIR", str(INSTANCE_DIR / "imports"))
    IMPORT_UPLOAD_HOURS = _env_int("IMPORT_UPLOAD_HOURS", 24)
    # Uploads larger than this are imported in the background by the scheduler's import_queue job (checked
    # every IMPORT_QUEUE_INTERVAL_SECONDS); a run whose worker showed no sign of life (its heartbeat) for
    # IMPORT_WORKER_DEAD_SECONDS has stopped: its page says so, and it is taken again, IMPORT_MAX_ATTEMPTS times
    # at most. Smaller ones (a few thousand rows) are imported at once.
    IMPORT_INLINE_MAX_BYTES = _env_int("IMPORT_INLINE_MAX_BYTES", 512 * 1024)
    IMPORT_QUEUE_INTERVAL_SECONDS = _env_int("IMPORT_QUEUE_INTERVAL_SECONDS", 10)
    IMPORT_WORKER_DEAD_SECONDS = _env_int("IMPORT_WORKER_DEAD_SECONDS", 60)
    IMPORT_MAX_ATTEMPTS = _env_int("IMPORT_MAX_ATTEMPTS", 3)
    # A row whose date of sample is more days before the import than this is refused (a mistyped year).
    IMPORT_SAMPLE_MAX_DAYS = _env_int("IMPORT_SAMPLE_MAX_DAYS", 60)

    # Health and metrics for a load balancer and Prometheus (callcenter/ops/, docs/DEPLOY.md). /readyz answers
    # 200 only when the database answers within READY_DB_TIMEOUT_MS, its migrations are this code's, and (unless
    # READY_REQUIRES_SCHEDULER=0) a scheduler checked in lately.
    READY_REQUIRES_SCHEDULER = os.environ.get("READY_REQUIRES_SCHEDULER", "1") == "1"
    READY_DB_TIMEOUT_MS = _env_int("READY_DB_TIMEOUT_MS", 2000)
    # Prometheus metrics, off unless METRICS_ENABLED=1: then GET /metrics answers callers from METRICS_ALLOW
    # (comma-separated addresses or networks) and callers with "Authorization: Bearer METRICS_TOKEN" (when set);
    # `flask scheduler` serves its jobs' metrics on METRICS_SCHEDULER_ADDR:METRICS_SCHEDULER_PORT (0: not at all).
    METRICS_ENABLED = os.environ.get("METRICS_ENABLED", "0") == "1"
    METRICS_ALLOW = os.environ.get("METRICS_ALLOW", "127.0.0.0/8,::1")
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
    METRICS_SCHEDULER_ADDR = os.environ.get("METRICS_SCHEDULER_ADDR", "127.0.0.1")
    METRICS_SCHEDULER_PORT = _env_int("METRICS_SCHEDULER_PORT", 9101)


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast for tests; production uses scrypt
    READY_REQUIRES_SCHEDULER = False  # no scheduler runs beside the suite; tests/ops asks for it where it tests it
    METRICS_ENABLED = False  # whatever the environment says; tests/ops turns it on in apps of its own
    SESSION_COOKIE_SECURE = REMEMBER_COOKIE_SECURE = False  # the test client and browser use plain HTTP
    PUBLIC_URL = "http://127.0.0.1:5000"  # whatever the environment says: the links tests expect
    # Tests choose their database in tests/conftest.py (a temporary SQLite file by default,
    # PostgreSQL when SAMPARK_TEST_DATABASE_URL is set).
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("SAMPARK_TEST_DATABASE_URL", "sqlite://"))
