"""Processes the bench starts (gunicorn instances, schedulers, senders): each in a process group of its own, all
stopped when the bench ends, however it ends; and the CPU time of a process and its children, from /proc."""
import atexit
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # fields from the state on (field 3 of proc(5) is index 0)


def children(pid):
    """Live processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(entry.name)
            if fields and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_seconds(pid, reaped=True):
    """User + system CPU of `pid` and its live descendants; with `reaped`, also of descendants that have
    exited and been waited for (a gunicorn worker restarted, a PostgreSQL backend whose client went away)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS + sum(cpu_seconds(child, reaped=False) for child in children(pid))


def machine_ticks():
    """(busy, total) CPU ticks of the whole machine since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Started:
    """Every process started through here, stopped at exit (normal, exception, SIGTERM or Ctrl+C); and should this
    process be killed outright, by its watchdog (bench/watchdog.py), which also stops the bench's clusters."""

    def __init__(self):
        self.procs = []
        self.watchdog = subprocess.Popen([sys.executable, "-m", "bench.watchdog"], stdin=subprocess.PIPE, text=True,
                                         cwd=Path(__file__).resolve().parent.parent, start_new_session=True)
        atexit.register(self.stop_all)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def watch(self, verb, what):
        """Tell the watchdog (see bench/watchdog.py)."""
        if self.watchdog.poll() is None:
            self.watchdog.stdin.write(f"{verb} {what}\n")
            self.watchdog.stdin.flush()

    def _on_signal(self, signum, frame):
        self.stop_all()
        raise SystemExit(128 + signum)

    def start(self, args, env, log_path=None, cwd=None):
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        if log_path:
            out.close()
        self.procs.append(proc)
        self.watch("group", proc.pid)
        return proc

    def kill(self, proc, sig=signal.SIGKILL):
        """Signal the process's whole group (a gunicorn master and its workers; a flask command)."""
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, proc, timeout=10):
        if proc in self.procs:
            self.procs.remove(proc)
        if proc.poll() is None:
            self.kill(proc, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill(proc, signal.SIGKILL)  # anything of its group left behind
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.watch("ungroup", proc.pid)

    def stop_all(self):
        while self.procs:
            self.stop(self.procs[-1])


_started = None


def started():
    """The bench process's one registry (made on first use)."""
    global _started
    if _started is None:
        _started = Started()
    return _started


def watch(verb, what):
    """Tell the watchdog, if this process has started one."""
    if _started is not None:
        _started.watch(verb, what)


def wait_until(check, timeout, interval=0.2, what="a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    raise TimeoutError(f"gave up waiting for {what} after {timeout} s")
