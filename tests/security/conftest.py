"""The access matrix reports how many cells it asked (pytest's summary, at the end of the run)."""
from .test_access_matrix import CELLS


def pytest_terminal_summary(terminalreporter):
    if CELLS["count"]:
        terminalreporter.write_line(f"access matrix: {CELLS['count']} cells asked")
