"""The app as it is deployed, started by the bench: gunicorn instances (as bin/start runs it) and `flask scheduler`
processes, each a process of its own on one database, with a random SECRET_KEY shared by all (a session made
by one instance is good on the others, as behind a load balancer)."""
import os
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path

from . import proctree
from .cluster import free_port

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "bench" / "out" / "logs"
VENV_BIN = Path(sys.executable).parent


def app_env(database_url, **extra):
    """The environment of an app process: production settings (not development), this database, a strong
    random key, sign-in limits out of the way of N volunteers signing in from one address."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAMPARK_", "FLASK_"))}
    env.update({
        "SAMPARK_ENV": "production",
        "SECRET_KEY": app_env.key,
        "DATABASE_URL": database_url,
        "FLASK_APP": "app",
        "PUBLIC_URL": "http://127.0.0.1:5000",  # plain HTTP on this machine: cookies without Secure
        "SIGN_IN_RATE_LIMIT": "100000 per minute",
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


app_env.key = secrets.token_urlsafe(48)


def _log(name):
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    return LOG_DIR / f"{name}.log"


class Instance:
    def __init__(self, proc, port, log_path):
        self.proc, self.port, self.log_path = proc, port, log_path

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self):
        return proctree.cpu_seconds(self.proc.pid)


def start_instance(env, workers=2, threads=8, name="instance", port=None):
    """One gunicorn instance (bin/start's settings: gthread workers); returns once it answers."""
    port = port or free_port()
    log_path = _log(f"{name}-{port}")
    proc = proctree.started().start(
        [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--worker-class", "gthread", "--threads", str(threads), "--timeout", "120", "app:create_app()"],
        env=env, log_path=log_path, cwd=ROOT)
    instance = Instance(proc, port, log_path)
    proctree.wait_until(lambda: _answers(instance), timeout=60, what=f"gunicorn on port {port} (log: {log_path})")
    return instance


def _answers(instance):
    if instance.proc.poll() is not None:
        raise RuntimeError(f"gunicorn exited with {instance.proc.returncode}; see {instance.log_path}")
    try:
        with urllib.request.urlopen(f"{instance.url}/login", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def flask(env, *args, name="flask"):
    """A `flask --app app …` process (e.g. "scheduler", or "send-outbox"), logging to bench/out/logs/."""
    return proctree.started().start([str(VENV_BIN / "flask"), "--app", "app", *args], env=env,
                                    log_path=_log(name), cwd=ROOT)


def run_flask(env, *args, timeout=600):
    """Run a `flask` command to its end; returns the CompletedProcess (output captured)."""
    return subprocess.run([str(VENV_BIN / "flask"), "--app", "app", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
