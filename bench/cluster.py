"""A PostgreSQL cluster of the bench's own: initdb into a temporary directory, started on a free port, stopped
and deleted afterwards. The fault runs restart it mid-load; the shared server on 5432 is never touched.

    with Cluster() as pg:
        url = pg.create_database("bench_load")
        pg.restart(mode="immediate", down_seconds=3)

Run as root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
"""
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from . import proctree

BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, settings=None, directory=None):
        """A new cluster (made by start()), or the one in `directory` (to stop it)."""
        self.settings = settings or {}
        self.port = free_port()
        self.dir = Path(directory) if directory else None
        self.as_postgres = os.geteuid() == 0

    # ── life ──────────────────────────────────────────────────────────────────────────────────────────────
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.destroy()

    def _run(self, *args, check=True, timeout=120):
        command = [str(BIN / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=timeout)

    def start(self):
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="sampark-bench-pg-"))
            proctree.started().watch("cluster", self.dir)
            if self.as_postgres:
                entry = pwd.getpwnam("postgres")
                os.chown(self.dir, entry.pw_uid, entry.pw_gid)
            self._run("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--locale=C.UTF-8")
            options = {"listen_addresses": "'127.0.0.1'", "port": self.port,
                       "unix_socket_directories": f"'{self.dir}'", **self.settings}
            with open(self.dir / "data" / "postgresql.auto.conf", "a") as conf:
                conf.writelines(f"{k} = {v}\n" for k, v in options.items())
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"), "-w", "start")
        return self

    def stop(self, mode="fast"):
        """mode: fast (clients disconnected, a clean shutdown) or immediate (as if the machine lost power: the
        next start recovers from the WAL)."""
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", mode, "-w", "stop", check=False)

    def restart(self, mode="immediate", down_seconds=3.0):
        """Down for `down_seconds` (clients see refused connections meanwhile), then up again."""
        self.stop(mode)
        time.sleep(down_seconds)
        self.start()

    def destroy(self):
        if self.dir is None:
            return
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
        proctree.watch("uncluster", self.dir)
        self.dir = None

    # ── use ───────────────────────────────────────────────────────────────────────────────────────────────
    @property
    def server_url(self):
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def url(self, database):
        return f"{self.server_url}/{database}"

    def postmaster_pid(self):
        try:
            return int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError, TypeError):
            return None

    def cpu_seconds(self):
        """CPU time of the whole server: the postmaster, its live children, and the children it has reaped."""
        pid = self.postmaster_pid()
        return proctree.cpu_seconds(pid) if pid else 0.0
