"""No module of the application imports one that imports it back, directly or around a loop, counting imports
made inside functions too (a late import only hides a cycle). Read from the source, nothing is imported."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("callcenter", "jobs")


@pytest.fixture
def _fresh_database():
    """No database here: override conftest's autouse fixture of the same name."""
    yield


def _modules():
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            modules[name] = (path, name if is_package else name.rpartition(".")[0])
    return modules


def _target(name, modules):
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph():
    """module → the application modules it imports (a name imported from a package counts as the submodule
    when there is one)."""
    modules = _modules()
    graph = {}
    for name, (path, package) in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges.update(_target(alias.name, modules) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                source = ".".join([*base, *([node.module] if node.module else [])])
                for alias in node.names:
                    full = f"{source}.{alias.name}"
                    edges.add(full if full in modules else _target(source, modules))
        graph[name] = {e for e in edges if e and e != name}
    return graph


def cycles(graph):
    """The strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_the_application():
    graph = import_graph()
    assert "callcenter.services.calls.calls" in graph["callcenter.queue.views"]
    assert "callcenter.services.desks.escalations" in graph["callcenter.services.calls.calls"]


def test_a_loop_is_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert cycles(import_graph()) == []
