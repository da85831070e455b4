"""Real processes for the multi-instance test: gunicorn instances and `flask scheduler`s as deployed, each in a
process group of its own (so gunicorn's workers go with their master), all stopped when the test ends, and sent
SIGTERM by the kernel should the test process itself be killed outright (Linux's parent-death signal)."""
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(database_url, **settings):
    """Production settings (not the test ones) on `database_url`, one random key for every process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAMPARK_", "FLASK_"))}
    env.update({"SAMPARK_ENV": "production", "SECRET_KEY": app_env.key, "DATABASE_URL": database_url,
                "FLASK_APP": "app", "PUBLIC_URL": "http://127.0.0.1:5000", "PYTHONUNBUFFERED": "1"})
    env.update({k: str(v) for k, v in settings.items()})
    return env


app_env.key = secrets.token_urlsafe(48)
PR_SET_PDEATHSIG = 1


def _end_with_parent():
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Processes:
    def __init__(self, log_dir):
        self.log_dir, self.procs = Path(log_dir), []

    def start(self, name, args, env):
        with open(self.log_dir / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, preexec_fn=_end_with_parent)
        proc.name = name
        self.procs.append(proc)
        return proc

    def log(self, proc):
        return (self.log_dir / f"{proc.name}.log").read_text(errors="replace")

    def scheduler(self, name, env):
        return self.start(name, [str(BIN / "flask"), "--app", "app", "scheduler"], env)

    def gunicorn(self, name, env, workers=2, threads=4):
        port = free_port()
        proc = self.start(name, [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                                 "--worker-class", "gthread", "--threads", str(threads), "--graceful-timeout", "5",
                                 "app:create_app()"], env)
        proc.url = f"http://127.0.0.1:{port}"
        return proc

    def wait_answering(self, proc, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert proc.poll() is None, self.log(proc)
            try:
                with urllib.request.urlopen(proc.url + "/login", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"{proc.name} did not answer within {timeout} s:\n{self.log(proc)}")

    @staticmethod
    def kill(proc, sig=signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            self.kill(proc)  # the group's stragglers, if any
            proc.wait()
