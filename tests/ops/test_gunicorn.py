"""The app under real gunicorn with two workers and the project's gunicorn.conf.py: /metrics adds up what every
worker counted (Prometheus' multiprocess mode), and the access log leaves out the load balancer's probes."""
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, answer.read().decode()


@pytest.fixture
def served(fresh_database_url, tmp_path):
    """gunicorn (2 workers) on a database migrated with `flask db upgrade`, metrics on, multiprocess mode. Sync
    workers: one busy worker cannot take the next connection, so concurrent requests reach both (a threaded
    worker may accept them all)."""
    env = {**os.environ, "DATABASE_URL": fresh_database_url, "SECRET_KEY": secrets.token_hex(32),
           "FLASK_APP": "app", "METRICS_ENABLED": "1", "READY_REQUIRES_SCHEDULER": "0",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"), "PUBLIC_URL": "http://127.0.0.1:5000"}
    env.pop("SAMPARK_TEST_DATABASE_URL", None)
    (tmp_path / "prometheus").mkdir()
    migrated = subprocess.run([BIN / "flask", "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    (tmp_path / "prometheus" / "counter_99999.db").write_bytes(b"left by a run before")  # emptied at start
    port, log, errors = _free_port(), tmp_path / "access.log", tmp_path / "error.log"
    server = subprocess.Popen(
        [BIN / "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-w", "2", "-k", "sync",
         "-b", f"127.0.0.1:{port}", "--access-logfile", str(log), "--error-logfile", str(errors),
         "app:create_app()"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # (a busy machine imports the app slowly)
        while True:
            try:
                if _get(base + "/healthz")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("gunicorn did not start: " + errors.read_text())
                time.sleep(0.2)
        yield base, log, tmp_path / "prometheus"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _count(text, endpoint):
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "sampark_request_duration_seconds_count" and s.labels.get("endpoint") == endpoint:
                return s.value
    return 0


def test_every_workers_requests_are_counted_and_probes_not_logged(served):
    base, log, directory = served
    before = _count(_get(base + "/metrics")[1], "ops.healthz")  # the fixture's probes while it started
    asked = 0
    with ThreadPoolExecutor(8) as pool:
        for _ in range(25):  # until both workers have answered some (the kernel spreads new connections)
            statuses = list(pool.map(lambda _: _get(base + "/healthz")[0], range(40)))
            assert statuses == [200] * 40
            asked += 40
            if len(list(directory.glob("histogram_*.db"))) >= 2:
                break
    assert len(list(directory.glob("histogram_*.db"))) >= 2, "one worker answered everything"
    assert not (directory / "counter_99999.db").exists()
    assert _get(base + "/readyz")[0] == 200
    assert _get(base + "/login")[0] == 200

    status, text = _get(base + "/metrics")
    assert status == 200
    assert _count(text, "ops.healthz") - before == asked  # the sum over both workers, not one worker's share
    assert "sampark_outbox_messages" in text

    for _ in range(50):  # (a worker writes its access line just after the answer is sent)
        logged = log.read_text()
        if "GET /metrics" in logged:
            break
        time.sleep(0.1)
    assert "GET /login" in logged and "GET /metrics" in logged
    assert "/healthz" not in logged and "/readyz" not in logged
