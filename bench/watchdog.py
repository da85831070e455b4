"""Stops what a bench process started when the bench itself dies without cleaning up (killed with -9: no atexit).

The bench starts one watchdog (bench/proctree.py) in a session of its own and tells it, on its stdin, each
process group and PostgreSQL cluster it starts ("group 1234", "cluster /tmp/…") and each one it has stopped
("ungroup 1234", "uncluster /tmp/…"). When the stdin closes (the bench ended, however), whatever is still listed
is stopped: the process groups killed, the clusters stopped and deleted.
"""
import os
import signal
import sys

from .cluster import Cluster


def main():
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl+C meant for the bench; the bench's end is the cue
    groups, clusters = set(), set()
    for line in sys.stdin:
        verb, _, arg = line.strip().partition(" ")
        if verb == "group":
            groups.add(int(arg))
        elif verb == "ungroup":
            groups.discard(int(arg))
        elif verb == "cluster":
            clusters.add(arg)
        elif verb == "uncluster":
            clusters.discard(arg)
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for directory in clusters:
        Cluster(directory=directory).destroy()


if __name__ == "__main__":
    main()
