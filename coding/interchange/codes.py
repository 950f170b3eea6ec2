"""Codebook fields between REFI-QDA and the workbench (pure).

REFI-QDA gives a code one ``Description``; the workbench has a definition and
inclusion, exclusion and example fields. On export they are written into the
description under labelled paragraphs, which import reads back, so the fields
round-trip and other tools still show all of them.
"""

from __future__ import annotations

import re
import uuid

from coding.codebook.tree import DEFAULT_COLOUR, CodeNode
from coding.codebook.walk import walk_tree
from coding.interchange.model import RCode

LABELS = (("inclusion", "Inclusion criteria:"), ("exclusion", "Exclusion criteria:"), ("example", "Example:"))
_SECTION = re.compile(r"\n\n(" + "|".join(re.escape(label) for _, label in LABELS) + r") ")
_SHORT = re.compile(r"^#([0-9a-fA-F])([0-9a-fA-F])([0-9a-fA-F])$")
_LONG = re.compile(r"^#[0-9a-fA-F]{6}$")
# Deterministic GUIDs for things the workbench has no row for (selections, notes of
# codings, cases, variables, the consensus layer's pseudo-user): the same data gives
# the same GUIDs, so export -> import -> export is identical.
NAMESPACE = uuid.UUID("5b2f7c1e-8a0d-4c3e-9f61-2d7a4e0b9c15")


def derived_guid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(parts)))


def description(definition: str, inclusion: str, exclusion: str, example: str) -> str:
    values = {"inclusion": inclusion, "exclusion": exclusion, "example": example}
    parts = [definition] + [f"{label} {values[f]}" for f, label in LABELS if values[f]]
    return "\n\n".join(p for p in parts if p).strip()


def split_description(text: str) -> dict[str, str]:
    """The four text fields from a description written by :func:`description`; a
    description without those labels is all definition."""
    out = {"definition": "", "inclusion": "", "exclusion": "", "example": ""}
    pieces = _SECTION.split("\n\n" + text.strip()) if text.strip() else [""]
    out["definition"] = pieces[0].strip()
    by_label = {label: f for f, label in LABELS}
    for label, body in zip(pieces[1::2], pieces[2::2], strict=False):
        out[by_label[label]] = (out[by_label[label]] + "\n\n" + body.strip()).strip()
    return out


def colour(value: str | None) -> str:
    v = (value or "").strip()
    m = _SHORT.match(v)
    if m:
        v = "#" + "".join(ch * 2 for ch in m.groups())
    return v.lower() if _LONG.match(v) else DEFAULT_COLOUR


def to_nodes(codes: list[RCode], warnings: list[str], force_codable: set[str]) -> list[CodeNode]:
    """REFI codes as codebook nodes: names made valid (no '/', unique among siblings, at
    most 200 characters) with a warning for each change. Walks the tree without recursion."""
    nodes: list[CodeNode] = []
    top_names: set[str] = set()
    made: dict[int, tuple[CodeNode, set[str]]] = {}  # id(REFI code) -> (its node, its children's names)
    for step in walk_tree(codes, lambda rc: rc.children):
        c = step.node
        parent, seen = made[id(step.parent)] if step.parent is not None else (None, top_names)
        name = c.name or "(unnamed)"
        if "/" in name:
            name = name.replace("/", "∕")
            warnings.append(f"{c.path}: code name {c.name!r} has '/', which separates code paths here; "
                            f"stored as {name!r}")
        name = name[:200]
        base, n = name, 2
        while name.casefold() in seen:
            name = f"{base[:190]} ({n})"
            n += 1
        if name != base:
            warnings.append(f"{c.path}: a sibling is already named {base!r}; stored as {name!r}")
        seen.add(name.casefold())
        fields = split_description(c.description)
        codable = c.codable or c.guid in force_codable
        if codable and not c.codable:
            warnings.append(f"{c.path}: code {name!r} is a folder (isCodable=false) but has codings in the file; "
                            "stored as codable so they are kept")
        node = CodeNode(name=name, codable=codable, colour=colour(c.colour), id=c.guid or None, **fields)
        (parent.children if parent is not None else nodes).append(node)
        made[id(c)] = (node, set())
    return nodes
