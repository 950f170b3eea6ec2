"""The architecture, held against the code: the engine's imports form no circle (imports
inside functions count: they only hide a circle), pages reach data through engine
services only, and no engine module grows past the size a reader can hold.

See README, "Architecture", for the layers these tests keep."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENGINE = REPO / "coding"
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _engine_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ENGINE.rglob("*.py") if "migrations" not in p.parts}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The engine modules ``path`` imports anywhere in its body (a package counts as its
    ``__init__``; ``from pkg import mod`` as the module)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}
    return {m for m in found if m in modules and m != name}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_the_engine_has_no_import_circle():
    modules = _engine_modules()
    # A package's __init__ is entered by every import of its modules; count it only for
    # what it imports itself, and let a module's import of its own package not count.
    graph = {m: {t for t in _imports(p, modules) if not m.startswith(t + ".")} for m, p in modules.items()}
    assert _circles(graph) == []


def test_the_circle_finder_finds_a_circle():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_pages_reach_data_only_through_the_engine():
    """No page builds a query or opens an ORM session: an engine service is the only way
    to the data, so the access and blind rules always apply."""
    offenders = []
    for path in [REPO / "app.py", *sorted((REPO / "app_pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                offenders.append(f"{path.name}:{node.lineno} imports from {node.module}")
            elif isinstance(node, ast.Import) and any(a.name.startswith("sqlalchemy") for a in node.names):
                offenders.append(f"{path.name}:{node.lineno} imports sqlalchemy")
            elif isinstance(node, ast.ImportFrom) and (node.module or "") == "coding.store.models":
                names = [a.name for a in node.names]
                offenders.append(f"{path.name}:{node.lineno} imports rows {names} from the store")
    assert offenders == []


def test_no_engine_module_is_over_the_size_a_reader_can_hold():
    big = {m: n for m, p in _engine_modules().items()
           if (n := len(p.read_text().splitlines())) > MAX_LINES and "migrations" not in p.parts}
    assert big == {}


def test_each_sub_package_says_what_it_owns():
    for init in ENGINE.rglob("__init__.py"):
        if "migrations" in init.parts:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 40, f"{init.relative_to(REPO)} needs a docstring: what it owns, what it may import"
