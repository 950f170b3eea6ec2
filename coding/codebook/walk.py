"""The one tree walker, and how deep a codebook may nest.

Python stops a recursion at about a thousand frames, so walking a codebook by recursion
ended a 600-level YAML codebook or a .qdpx with 500 nested codes in ``RecursionError``.
Every walk over a code tree (a file being read, the stored tree, an export) goes through
:func:`walk_tree`, which keeps its own stack.

:data:`MAX_DEPTH` bounds how deep a codebook may nest, whichever way it comes in (YAML,
REFI-QDA, edits): the REFI-QDA schema validator and XML writer recurse once or more per
level, and a code's path grows with its depth. Real codebooks nest a handful of levels.
Pure: no store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

#: The most levels a codebook may nest (top-level codes are level 1).
MAX_DEPTH = 100

T = TypeVar("T")


@dataclass(frozen=True)
class Step(Generic[T]):
    """One node met by :func:`walk_tree`."""

    node: T
    parent: T | None  # None for a top-level node
    depth: int        # 0 for a top-level node
    index: int        # its position among its siblings


def walk_tree(roots: Iterable[T], children: Callable[[T], Iterable[T]]) -> Iterator[Step[T]]:
    """Every node under ``roots``, depth first, a parent before its children, siblings in
    order, without recursion (any depth).

    ``children(node)`` is asked only after ``node`` was yielded, so a caller can check a node
    (its type, its depth) before its children are read. A node met a second time (shared or
    cyclic data) is not walked again, so a corrupt tree cannot loop forever."""
    seen: dict[int, T] = {}  # by identity; holding the node keeps its id from being reused
    stack: list[tuple[Iterator[tuple[int, T]], T | None, int]] = [(enumerate(roots), None, 0)]
    while stack:
        siblings, parent, depth = stack[-1]
        nxt = next(siblings, None)
        if nxt is None:
            stack.pop()
            continue
        index, node = nxt
        if id(node) in seen:
            continue
        seen[id(node)] = node
        yield Step(node, parent, depth, index)
        stack.append((enumerate(children(node)), node, depth + 1))


def too_deep(depth: int) -> bool:
    """Whether a node at ``depth`` (0: top level) nests past :data:`MAX_DEPTH` levels."""
    return depth >= MAX_DEPTH


def short_path(path: str, sep: str = "/") -> str:
    """A long code path shortened for a message: its first two and last two levels."""
    parts = path.split(sep)
    return path if len(parts) <= 5 else sep.join([*parts[:2], "…", *parts[-2:]])


def depth_message(where: str, path: str, *, fix: str) -> str:
    """The one wording of a refusal for nesting past :data:`MAX_DEPTH`."""
    return (f"{where}: code '{short_path(path)}' is nested more than {MAX_DEPTH} levels deep, the most a "
            f"codebook may nest; {fix}")
