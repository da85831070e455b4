"""Which process holds a piece of work, and whether that process is still alive.

A process is named "host:pid:start" (start: when the kernel started it, from /proc, so a pid reused after a
restart is not mistaken for the old process). On the same host the answer is certain (the process exists or
not); a process on another host can only be judged by how recently it showed a sign of life (a heartbeat).
"""
import os
import socket
import threading
from functools import cache


def _stat(pid):
    """(state, start time in clock ticks since boot) from /proc (Linux), or None where it is not there."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            # the command name (field 2) may hold spaces and brackets: count fields after its closing ')'
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], fields[19]
    except (OSError, IndexError):
        return None


def _start_ticks(pid):
    stat = _stat(pid)
    return stat[1] if stat else ""


@cache
def _this(pid):
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def this_process():
    """This process's name (a forked worker gets its own: the pid is part of the cache key)."""
    return _this(os.getpid())


def on_this_host(owner):
    return bool(owner) and owner.split(":", 1)[0] == socket.gethostname()


def alive_here(owner):
    """Whether `owner` (a name from this host) is a running process: same pid, same start time."""
    try:
        _host, pid, start = owner.rsplit(":", 2)
        pid = int(pid)
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        pass
    except ValueError:  # not a name this module wrote
        return False
    stat = _stat(pid)
    if stat is None:
        return not start  # no /proc here: existing is all we can know
    state, started = stat
    return state not in ("Z", "X") and (not start or started == start)  # a zombie has ended already


class Beating:
    """`with Beating(every, beat, name):` calls beat() every `every` seconds on a thread of this process until
    the block ends: the sign of life of a long piece of work (a job run, a background import) that its own
    transaction cannot give while it runs."""

    def __init__(self, every, beat, name):
        self.every, self.beat = every, beat
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()

    def _run(self):
        while not self.done.wait(self.every):
            self.beat()


def write_beat(engine, statement):
    """One heartbeat UPDATE on a connection of its own (PostgreSQL), waiting at most 2 s for the row: a beat
    behind a lock is missed, it never holds the work up."""
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
        connection.execute(statement)
