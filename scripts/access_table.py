"""Print the access table: every public engine function that takes an acting member, and
the action(s) of :class:`coding.team.access.Action` it requires (read from its source, so the
table is generated from the code, never kept by hand). Run: python scripts/access_table.py"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.team.test_access_paths import FUNCTIONS  # noqa: E402  the same introspection the test walks

ACTION = re.compile(r"Action\.([A-Z_]+)")


def main() -> None:
    from coding.team.access import Action

    names = {q.rsplit(".", 1)[1]: q for q, _ in FUNCTIONS}
    print("| function | requires |\n|---|---|")
    for qualname, fn in FUNCTIONS:
        src = inspect.getsource(fn)
        body = src.split('"""', 2)[-1] if src.count('"""') >= 2 else src
        found = set(ACTION.findall(body))
        module = sys.modules[fn.__module__]
        todo, seen = [body], set()
        while todo:  # the module's private helpers it calls, and theirs
            for helper in set(re.findall(r"\b(_[a-z]\w*)\(", todo.pop())) - seen:
                seen.add(helper)
                h = getattr(module, helper, None)
                if inspect.isfunction(h):
                    src_h = inspect.getsource(h)
                    found |= set(ACTION.findall(src_h))
                    todo.append(src_h)
        actions = sorted({Action[a].value for a in found})
        via = sorted({n for n in names if n != fn.__name__ and re.search(rf"\b{n}\(", body)})
        what = "; ".join(actions) if actions else ""
        if via:
            what = (what + "; " if what else "") + "via " + ", ".join(via)
        print(f"| `{qualname.removeprefix('coding.')}` | {what or '?'} |")


if __name__ == "__main__":
    main()
