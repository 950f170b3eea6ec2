"""Codebooks: the tree, computed paths, and the plain-text YAML format.

YAML format (see README, "Codebook format")::

    codebook: Title
    description: Free text
    codes:
      - name: Parent            # no "/" in names; unique among siblings
        id: 0b0e...             # optional UUID, written on export so identity round-trips
        codable: false          # folder-only parent
        colour: "#1b6ca8"
        definition: ...
        inclusion: ...
        exclusion: ...
        example: ...
        status: proposed        # optional: a coder's proposal awaiting a lead (default: active)
        proposed_by: tom        # optional, with status proposed: the member who proposed it
        children: [...]

A code's path is its ancestors' names joined by "/", computed from ``parent_id``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coding.team.access import Action, require, require_or_setup
from coding.errors import CodebookError, NotFoundError
from coding.team.events import log_event
from coding.team.members import Member
from coding.store.models import Code, Coder, Coding, Project
from coding.codebook.walk import MAX_DEPTH, depth_message, short_path, too_deep, walk_tree
from coding.codebook.yamltext import dump_yaml, load_yaml
from coding.team.visibility import code_visible, visibility

SEP = "/"
TEXT_FIELDS = ("definition", "inclusion", "exclusion", "example")
NODE_KEYS = {"name", "id", "codable", "colour", "color", "children", "status", "proposed_by", *TEXT_FIELDS}
STATUSES = ("active", "proposed")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOUR = "#888888"


@dataclass
class CodeNode:
    """One node of a codebook read from a file (not yet stored)."""

    name: str
    codable: bool = True
    colour: str = DEFAULT_COLOUR
    definition: str = ""
    inclusion: str = ""
    exclusion: str = ""
    example: str = ""
    id: str | None = None
    status: str = "active"            # 'proposed': a coder's proposal (kept by export and import)
    proposed_by: str | None = None    # the proposer's member name
    children: list[CodeNode] = field(default_factory=list)


@dataclass
class CodebookFile:
    title: str
    description: str
    codes: list[CodeNode]


# --- validation -----------------------------------------------------------------

#: The longest code name the database holds (codes.name).
MAX_CODE_NAME = Code.__table__.c.name.type.length


def check_code_name(name: Any, where: str) -> str:
    """``name`` stripped, or a CodebookError saying which rule it breaks: empty, a '/'
    (it separates path levels), or longer than :data:`MAX_CODE_NAME` (with its length)."""
    if not isinstance(name, str) or not name.strip():
        raise CodebookError(f"{where}: field 'name' is missing or empty; give every code a name")
    name = name.strip()
    if SEP in name:
        shown = name if len(name) <= 60 else name[:59] + "…"
        raise CodebookError(f"{where}: name {shown!r} contains '/', which separates the levels of a code's path; "
                            "use another character (e.g. '-') or make it a sub-code")
    if len(name) > MAX_CODE_NAME:
        raise CodebookError(f"{where}: name {name[:40] + '…'!r} is {len(name)} characters, over the "
                            f"{MAX_CODE_NAME}-character limit for a code name; shorten it")
    return name


def check_colour(colour: Any, where: str) -> str:
    if not isinstance(colour, str) or not COLOUR_RE.match(colour):
        raise CodebookError(f"{where}: field 'colour' is {colour!r}; write it as \"#rrggbb\" (e.g. \"#1b6ca8\")")
    return colour.lower()


def _parse_node(raw: Any, parent_path: str, index: int, source: str) -> CodeNode:
    where0 = f"{source}: code #{index + 1} under {parent_path or 'the top level'}"
    if not isinstance(raw, dict):
        raise CodebookError(f"{where0}: expected a mapping with 'name', got {type(raw).__name__}")
    name = check_code_name(raw.get("name"), where0)
    path = f"{parent_path}{SEP}{name}" if parent_path else name
    where = f"{source}: code '{path}'"
    unknown = set(raw) - NODE_KEYS
    if unknown:
        raise CodebookError(
            f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}; "
            f"allowed: {', '.join(sorted(NODE_KEYS - {'color'}))}"
        )
    node = CodeNode(name=name)
    codable = raw.get("codable", True)
    if not isinstance(codable, bool):
        raise CodebookError(f"{where}: field 'codable' is {codable!r}; write true or false")
    node.codable = codable
    colour = raw.get("colour", raw.get("color", DEFAULT_COLOUR))
    node.colour = check_colour(colour, where)
    for f in TEXT_FIELDS:
        value = raw.get(f) or ""
        if not isinstance(value, str):
            raise CodebookError(f"{where}: field '{f}' must be text, got {type(value).__name__}")
        setattr(node, f, value.strip())
    node.status = raw.get("status") or "active"
    if node.status not in STATUSES:
        raise CodebookError(f"{where}: field 'status' is {node.status!r}; write active or proposed")
    if raw.get("proposed_by") is not None:
        node.proposed_by = str(raw["proposed_by"]).strip() or None
    if raw.get("id") is not None:
        try:
            node.id = str(uuid.UUID(str(raw["id"])))
        except ValueError:
            raise CodebookError(f"{where}: field 'id' {raw['id']!r} is not a UUID; remove it or fix it") from None
    if not isinstance(raw.get("children") or [], list):
        raise CodebookError(f"{where}: field 'children' must be a list of codes")
    return node  # its children: read by _parse_nodes, which walks the tree without recursion


def _parse_nodes(raws: list, parent_path: str, source: str) -> list[CodeNode]:
    """The codes of a file and their children, any depth read without recursion; nesting
    past :data:`~coding.codebook.walk.MAX_DEPTH` levels is refused."""
    top: list[CodeNode] = []
    parsed: dict[int, tuple[CodeNode, str, set[str]]] = {}  # id(raw) -> (node, path, its children's names)
    names_top: set[str] = set()
    for step in walk_tree(raws, lambda raw: raw.get("children") or []):
        parent, above, taken = (parsed[id(step.parent)] if step.parent is not None
                                else (None, parent_path, names_top))
        node = _parse_node(step.node, above, step.index, source)
        path = f"{above}{SEP}{node.name}" if above else node.name
        if too_deep(step.depth):
            raise CodebookError(depth_message(source, path, fix="move its sub-codes up a level and import again"))
        if node.name.casefold() in taken:
            raise CodebookError(f"{source}: code '{path}' appears twice among its siblings; merge or rename one")
        taken.add(node.name.casefold())
        (parent.children if parent is not None else top).append(node)
        parsed[id(step.node)] = (node, path, set())
    return top


def parse_codebook(text: str, source: str = "codebook") -> CodebookFile:
    """Validate a YAML codebook; errors name the file, the code path and the field."""
    try:
        raw = load_yaml(text)  # safe_load's result, without its recursion
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise CodebookError(f"{source}:{line} is not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("codes"), list):
        raise CodebookError(f"{source}: expected a mapping with a 'codes' list at the top level (see README, Codebook format)")
    nodes = _parse_nodes(raw["codes"], "", source)
    ids = [n.id for n in walk_nodes(nodes) if n.id]
    if len(ids) != len(set(ids)):
        raise CodebookError(f"{source}: the same 'id' is used by two codes; each code needs its own")
    return CodebookFile(str(raw.get("codebook") or ""), str(raw.get("description") or "").strip(), nodes)


def load_codebook_file(path: str | Path) -> CodebookFile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CodebookError(f"{path}: no such file; check the path") from None
    except UnicodeDecodeError:
        raise CodebookError(f"{path}: is not UTF-8 text; save the codebook as UTF-8") from None
    return parse_codebook(text, str(path))


def walk_nodes(nodes: Iterable[CodeNode]) -> Iterable[CodeNode]:
    """Every node, a parent before its children (no recursion)."""
    return (step.node for step in walk_tree(nodes, lambda n: n.children))


# --- the stored tree --------------------------------------------------------------

@dataclass(frozen=True)
class CodeInfo:
    """A stored code with its computed path and depth (for listing and lookups)."""

    id: str
    parent_id: str | None
    name: str
    path: str
    depth: int
    codable: bool
    colour: str
    definition: str
    inclusion: str
    exclusion: str
    example: str
    status: str = "active"            # 'proposed': a coder's proposal awaiting a lead
    proposed_by: str | None = None    # member id of the proposer

    def visible_to(self, member_id: str, is_lead: bool) -> bool:
        """A proposed code is shown to the coder who proposed it and to leads only
        (the rule is :func:`coding.team.visibility.code_visible`)."""
        return code_visible(self.status, self.proposed_by, member_id, is_lead)


class CodeTree:
    """A project's codebook as an in-memory tree, ordered depth-first."""

    def __init__(self, codes: Iterable[Code]):
        codes = list(codes)
        self.by_id = {c.id: c for c in codes}
        self.children: dict[str | None, list[Code]] = {}
        for c in sorted(codes, key=lambda c: (c.position, c.name.casefold())):
            self.children.setdefault(c.parent_id, []).append(c)
        self.infos: list[CodeInfo] = []
        paths: dict[str, str] = {}
        for step in walk_tree(self.children.get(None, []), lambda c: self.children.get(c.id, [])):
            c = step.node
            path = paths[c.id] = f"{paths[c.parent_id]}{SEP}{c.name}" if step.parent is not None else c.name
            self.infos.append(CodeInfo(c.id, c.parent_id, c.name, path, step.depth, c.codable, c.colour,
                                       c.definition, c.inclusion, c.exclusion, c.example,
                                       c.status or "active", c.proposed_by))
        self.by_path = {i.path: i for i in self.infos}
        self.info = {i.id: i for i in self.infos}

    def descendants(self, code_id: str) -> list[str]:
        """Ids of every code under ``code_id`` (never ``code_id`` itself, even in corrupt,
        cyclic data: the walker meets each code once)."""
        def kids(c_id: str) -> list[Code]:
            return [ch for ch in self.children.get(c_id, []) if ch.id != code_id]
        return [step.node.id for step in walk_tree(kids(code_id), lambda c: kids(c.id))]

    def height(self, code_id: str) -> int:
        """Levels from ``code_id`` down to its deepest sub-code (1: no sub-codes)."""
        depth = self.info[code_id].depth if code_id in self.info else 0
        below = (self.info[d].depth - depth for d in self.descendants(code_id) if d in self.info)
        return 1 + max(below, default=0)

    def resolve(self, path: str) -> CodeInfo:
        """The code at an exact path (segments compared whole, never by prefix)."""
        key = SEP.join(part.strip() for part in path.strip().strip(SEP).split(SEP))
        if key in self.by_path:
            return self.by_path[key]
        folded = {p.casefold(): i for p, i in self.by_path.items()}
        if key.casefold() in folded:
            return folded[key.casefold()]
        raise NotFoundError(
            f"no code at path {path!r}; list the paths with `python -m coding codes NAME`"
        )


def code_tree(s: Session, project: Project) -> CodeTree:
    """Every code of the project, proposals of every member included: for the engine's own
    bookkeeping. What a member is shown comes from :func:`visible_code_tree`."""
    return CodeTree(s.scalars(select(Code).where(Code.project_id == project.id)))


def visible_code_tree(s: Session, project: Project, member: Member) -> CodeTree:
    """The codebook as ``member`` may see it: without codes other coders proposed that no
    lead accepted yet (the rule of :mod:`coding.team.visibility`)."""
    m = require(s, member, Action.READ_PROJECT, project)
    return CodeTree(s.scalars(select(Code).where(visibility(s, m).codes())))


def check_nesting(tree: CodeTree, parent_id: str | None, code_id: str | None = None, name: str = "") -> None:
    """Refuse an edit that would put a code (``code_id`` with its sub-codes, or a new code
    ``name``) under ``parent_id`` more than :data:`~coding.codebook.walk.MAX_DEPTH` levels deep."""
    above = tree.info[parent_id].depth + 1 if parent_id in tree.info else 0
    levels = above + (tree.height(code_id) if code_id else 1)
    if levels > MAX_DEPTH:
        what = tree.info[code_id].name if code_id in tree.info else name
        where = tree.info[parent_id].path if parent_id in tree.info else "the top level"
        raise CodebookError(f"cannot put '{what}' under '{short_path(where)}': that would nest codes {levels} levels "
                            f"deep, more than the {MAX_DEPTH} levels a codebook may nest; pick a parent higher up")


def bump_version(project: Project) -> None:
    project.codebook_version = (project.codebook_version or 1) + 1


def import_codebook(s: Session, project: Project, book: CodebookFile, *,
                    member: Member | None = None) -> dict[str, int]:
    """Merge a codebook into the project: a code matching by id, else by path, is updated;
    others are created. Idempotent. Returns counts of created/updated. ``member`` must be a
    lead; only a project with no member yet is set up without one."""
    member = require_or_setup(s, member, Action.EDIT_CODEBOOK, project)

    lock_codebook(s, project)  # serialised with other codebook edits (PostgreSQL)
    tree = code_tree(s, project)
    counts = {"created": 0, "updated": 0}
    proposers = dict(s.execute(select(Coder.name, Coder.id).where(Coder.project_id == project.id)).all())
    if book.title:
        project.codebook_title = book.title
    if book.description:
        project.codebook_description = book.description

    # Parents before children, without recursion; a code nested past MAX_DEPTH is refused
    # (the file readers refuse it first, naming the file).
    placed: dict[int, tuple[Code, str]] = {}  # id(node) -> (its stored code, its path)
    for step in walk_tree(book.codes, lambda node: node.children):
        n, pos = step.node, step.index
        parent, parent_path = placed[id(step.parent)] if step.parent is not None else (None, "")
        path = f"{parent_path}{SEP}{n.name}" if parent_path else n.name
        if too_deep(step.depth):
            raise CodebookError(depth_message("the codebook being imported", path,
                                              fix="move its sub-codes up a level and import again"))
        existing = tree.by_id.get(n.id) if n.id else None
        if existing is None and path in tree.by_path:
            existing = tree.by_id[tree.by_path[path].id]
        if existing is None:
            # A UUID already used in another project (the same file imported twice)
            # gets a fresh one: primary keys are global.
            reuse = n.id and s.get(Code, n.id) is None
            existing = Code(project_id=project.id, **({"id": n.id} if reuse else {}))
            if n.status == "proposed":  # a proposal stays one (a stored code keeps its own status)
                existing.status, existing.proposed_by = "proposed", proposers.get(n.proposed_by or "")
            s.add(existing)
            counts["created"] += 1
        else:
            counts["updated"] += 1
        existing.parent_id = parent.id if parent else None
        existing.position = pos
        existing.name = n.name
        existing.codable = n.codable
        existing.colour = n.colour
        for f in TEXT_FIELDS:
            setattr(existing, f, getattr(n, f))
        s.flush()
        placed[id(n)] = (existing, path)
    if counts["updated"]:  # a matched code keeps its stored sub-codes: they may now nest too deep
        deepest = max(code_tree(s, project).infos, key=lambda i: i.depth)
        if too_deep(deepest.depth):
            raise CodebookError(depth_message("the codebook being imported", deepest.path,
                                              fix="the codes it moves keep their sub-codes; move some up a level "
                                                  "and import again"))
    bump_version(project)
    log_event(s, project.id, member, "codebook.import", "project", project.id, **counts)
    return counts


def export_codebook(s: Session, project: Project, member: Member) -> str:
    """The project's codebook as ``member`` may see it, as YAML (ids included so re-import
    keeps identity; a proposal written with ``status: proposed`` and its proposer)."""
    tree = visible_code_tree(s, project, member)
    names = dict(s.execute(select(Coder.id, Coder.name).where(Coder.project_id == project.id)).all())

    def node(c: Code) -> dict[str, Any]:
        d: dict[str, Any] = {"name": c.name, "id": c.id, "codable": c.codable, "colour": c.colour}
        for f in TEXT_FIELDS:
            if getattr(c, f):
                d[f] = getattr(c, f)
        if c.status == "proposed":
            d["status"] = "proposed"
            if c.proposed_by in names:
                d["proposed_by"] = names[c.proposed_by]
        return d

    top: list[dict[str, Any]] = []
    made: dict[str, dict[str, Any]] = {}
    for step in walk_tree(tree.children.get(None, []), lambda c: tree.children.get(c.id, [])):
        d = made[step.node.id] = node(step.node)  # "children", added below, comes last
        (made[step.parent.id].setdefault("children", []) if step.parent is not None else top).append(d)
    doc = {
        "codebook": project.codebook_title or project.name,
        "description": project.codebook_description,
        "codes": top,
    }
    return dump_yaml(doc)  # safe_dump's text, without its recursion


def coding_counts(s: Session, project: Project) -> dict[str, int]:
    """Number of codings (every layer) per code id, for the whole team: no blind rule, so
    only for the CLI's operator. Pages use :func:`coding.work.counts.visible_coding_counts`."""
    rows = s.execute(
        select(Coding.code_id, func.count()).where(Coding.project_id == project.id)
        .group_by(Coding.code_id)
    )
    return dict(rows.all())


def lock_codebook(s: Session, project: Project) -> Project:
    """Lock the project row for this transaction and return it freshly loaded.
    Everything that changes the codebook (edits, imports) takes this lock first.

    Every codebook edit takes this lock first, so edits of one project are serialised
    (PostgreSQL; SQLite's write transactions are serialised anyway) and each one sees
    the tree the previous one committed. ``FOR NO KEY UPDATE`` does not block coders,
    whose inserts take only a key-share lock on the project row."""
    locked = s.scalars(
        select(Project).where(Project.id == project.id).with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if locked is None:
        raise NotFoundError(f"project {project.name!r} no longer exists; reload the page")
    return locked
