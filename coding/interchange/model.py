"""What a REFI-QDA project or codebook holds, read into plain objects (no database).

Every object keeps its element ``path`` (e.g. ``/Project/Sources/TextSource[2]``) so a
problem found later can name where it is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from coding.codebook.walk import walk_tree


@dataclass
class RUser:
    guid: str
    name: str
    path: str


@dataclass
class RCode:
    guid: str
    name: str
    codable: bool
    colour: str | None
    description: str
    path: str
    children: list[RCode] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class RCoding:
    guid: str
    code: str
    user: str | None
    created: datetime | None
    path: str
    notes: list[str] = field(default_factory=list)


@dataclass
class RSelection:
    guid: str
    start: int
    end: int
    user: str | None
    path: str
    codings: list[RCoding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    description: str = ""  # a memo on the selection's codings (QualCoder, MAXQDA write it here)


@dataclass
class RValue:
    variable: str
    value: str


@dataclass
class RSource:
    guid: str
    name: str
    path: str
    plain_path: str | None = None
    rich_path: str | None = None
    content: str | None = None
    created: datetime | None = None
    user: str | None = None
    selections: list[RSelection] = field(default_factory=list)
    codings: list[RCoding] = field(default_factory=list)  # the whole source coded
    notes: list[str] = field(default_factory=list)
    values: list[RValue] = field(default_factory=list)
    description: str = ""  # QualCoder writes a source's memo here


@dataclass
class RNote:
    guid: str
    name: str
    user: str | None
    content: str | None
    plain_path: str | None
    created: datetime | None
    path: str


@dataclass
class RVariable:
    guid: str
    name: str
    path: str


@dataclass
class RCase:
    guid: str
    name: str
    path: str
    values: list[RValue] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


@dataclass
class RSet:
    """A set of sources and/or codes; ``notes`` are member notes (not representable here)."""

    guid: str
    name: str
    description: str
    path: str
    codes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class RefiFile:
    """A parsed ``.qdpx`` project (or a ``.qdc`` codebook: only ``codes`` and ``sets``)."""

    name: str
    origin: str
    kind: str  # "project" or "codebook"
    creating_user: str | None = None
    users: list[RUser] = field(default_factory=list)
    codes: list[RCode] = field(default_factory=list)
    variables: list[RVariable] = field(default_factory=list)
    cases: list[RCase] = field(default_factory=list)
    sources: list[RSource] = field(default_factory=list)
    notes: list[RNote] = field(default_factory=list)
    project_notes: list[str] = field(default_factory=list)
    sets: list[RSet] = field(default_factory=list)
    # GUIDs of sources the workbench cannot represent (pictures, PDFs, audio, video)
    media: set[str] = field(default_factory=set)
    # what the workbench cannot represent: kind -> count (never silently dropped)
    unsupported: Counter = field(default_factory=Counter)
    # schema and structure problems, each naming its element path
    problems: list[str] = field(default_factory=list)

    def walk_codes(self):
        """Every code, a parent before its children (no recursion)."""
        return (step.node for step in walk_tree(self.codes, lambda c: c.children))
