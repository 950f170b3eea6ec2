"""DESIGN.md, Layers: the engine never imports streamlit; the UI never writes HTML."""

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_engine_never_imports_streamlit():
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "coding").rglob("*.py") if "streamlit" in _imports(p)]
    assert offenders == []


def test_ui_never_renders_raw_html():
    pattern = re.compile(r"unsafe_allow_html\s*=\s*True|st\.html\(|innerHTML|insertAdjacentHTML|outerHTML")
    files = [REPO / "app.py", *(REPO / "app_pages").rglob("*.py")]
    offenders = [str(p.relative_to(REPO)) for p in files if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
