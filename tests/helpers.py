"""Helpers shared by test modules (not tests themselves)."""
import threading

from callcenter.extensions import db


def run_in_threads(app, n, work):
    """Run work(i) in n threads at once, each with its own app context and session."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def runner(i):
        with app.app_context():
            try:
                barrier.wait()
                results[i] = work(i)
            except Exception as exc:  # reported below, with the thread's index
                errors.append((i, exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors
