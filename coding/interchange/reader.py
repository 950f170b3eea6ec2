"""A REFI-QDA project (``project.qde`` inside a ``.qdpx``) or codebook (``.qdc``) read into
:mod:`.model` objects: pure, no database.

Elements are matched by local name (namespaces differ between tools and versions).
Sources, selections and codings the workbench cannot represent (pictures, PDFs, audio,
video, links, graphs) are counted by kind in ``unsupported``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from xml.etree.ElementTree import Element

from coding.codebook.walk import MAX_DEPTH, depth_message, walk_tree
from coding.interchange.errors import RefiError
from coding.interchange.model import (
    RCase,
    RCode,
    RCoding,
    RefiFile,
    RNote,
    RSelection,
    RSet,
    RSource,
    RUser,
    RValue,
    RVariable,
)

MEDIA = {"PictureSource": ("PictureSelection",), "PDFSource": ("PDFSelection",),
         "AudioSource": ("AudioSelection", "Transcript"), "VideoSource": ("VideoSelection", "Transcript")}


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def kids(el: Element, path: str, *names: str) -> Iterator[tuple[Element, str]]:
    """Children named ``names`` (all if none) with their element paths (1-based per name)."""
    seen: dict[str, int] = {}
    for ch in el:
        if not isinstance(ch.tag, str):
            continue
        n = local(ch.tag)
        seen[n] = seen.get(n, 0) + 1
        if not names or n in names:
            yield ch, f"{path}/{n}[{seen[n]}]"


def child(el: Element, path: str, name: str) -> tuple[Element, str] | tuple[None, None]:
    return next(kids(el, path, name), (None, None))


def text_of(el: Element, path: str, name: str) -> str | None:
    ch, _ = child(el, path, name)
    return None if ch is None else (ch.text or "")


def when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def guid(value: str | None) -> str:
    """GUIDs compare case-insensitively and may come in braces."""
    return (value or "").strip().strip("{}").lower()


def _refs(el: Element, path: str, name: str) -> list[str]:
    return [guid(r.get("targetGUID")) for r, _ in kids(el, path, name)]


class _Reader:
    def __init__(self, out: RefiFile):
        self.out = out

    def problem(self, path: str, what: str) -> None:
        self.out.problems.append(f"{path}: {what}")

    def int_attr(self, el: Element, path: str, name: str) -> int | None:
        raw = el.get(name)
        try:
            return int(raw)
        except (TypeError, ValueError):
            self.problem(path, f"attribute {name}={raw!r} is not a whole number")
            return None

    def code(self, el: Element, path: str) -> RCode:
        codable = (el.get("isCodable") or "true").strip().lower() in ("true", "1")
        return RCode(guid(el.get("guid")), (el.get("name") or "").strip(), codable, el.get("color"),
                     (text_of(el, path, "Description") or "").strip(), path, notes=_refs(el, path, "NoteRef"))

    def codes(self, book: Element, path: str) -> None:
        """The code tree, read without recursion (its depth was checked by :func:`check_depth`)."""
        codes_el, cpath = child(book, path, "Codes")
        if codes_el is None:
            return
        made: dict[int, RCode] = {}  # id((element, path)) -> its code
        for step in walk_tree(list(kids(codes_el, cpath, "Code")), lambda ep: list(kids(*ep, "Code"))):
            c = made[id(step.node)] = self.code(*step.node)
            (made[id(step.parent)].children if step.parent is not None else self.out.codes).append(c)

    def coding(self, el: Element, path: str) -> RCoding | None:
        ref, _ = child(el, path, "CodeRef")
        if ref is None:
            self.problem(path, "has no CodeRef (the code it applies)")
            return None
        return RCoding(guid(el.get("guid")), guid(ref.get("targetGUID")), guid(el.get("creatingUser")) or None,
                       when(el.get("creationDateTime")), path, notes=_refs(el, path, "NoteRef"))

    def values(self, el: Element, path: str) -> list[RValue]:
        out = []
        for vv, vpath in kids(el, path, "VariableValue"):
            ref, _ = child(vv, vpath, "VariableRef")
            val = next((c.text or "" for c, _ in kids(vv, vpath) if local(c.tag).endswith("Value")), "")
            if ref is not None:
                out.append(RValue(guid(ref.get("targetGUID")), val.strip()))
        return out

    def text_source(self, el: Element, path: str) -> RSource:
        src = RSource(guid(el.get("guid")), (el.get("name") or "").strip(), path,
                      plain_path=el.get("plainTextPath"), rich_path=el.get("richTextPath"),
                      content=text_of(el, path, "PlainTextContent"), created=when(el.get("creationDateTime")),
                      user=guid(el.get("creatingUser")) or None, notes=_refs(el, path, "NoteRef"),
                      values=self.values(el, path), description=(text_of(el, path, "Description") or ""))
        for sel, spath in kids(el, path, "PlainTextSelection"):
            start, end = self.int_attr(sel, spath, "startPosition"), self.int_attr(sel, spath, "endPosition")
            if start is None or end is None:
                continue
            rs = RSelection(guid(sel.get("guid")), start, end, guid(sel.get("creatingUser")) or None, spath,
                            notes=_refs(sel, spath, "NoteRef"), description=(text_of(sel, spath, "Description") or ""))
            rs.codings = [c for c in (self.coding(ch, p) for ch, p in kids(sel, spath, "Coding")) if c]
            src.selections.append(rs)
        src.codings = [c for c in (self.coding(ch, p) for ch, p in kids(el, path, "Coding")) if c]
        return src

    def media(self, el: Element, path: str, kind: str) -> None:
        u = self.out.unsupported
        self.out.media.add(guid(el.get("guid")))
        u[f"{kind} (sources)"] += 1
        for sub in MEDIA[kind]:
            for sel, spath in kids(el, path, sub):
                u[f"{sub}s"] += 1
                u[f"codings on {sub}s"] += sum(1 for _ in kids(sel, spath, "Coding"))
        u[f"codings of whole {kind}s"] += sum(1 for _ in kids(el, path, "Coding"))

    def sets(self, el: Element, path: str) -> None:
        """``Sets``: a project's members use ``targetGUID``; a codebook's ``MemberCode`` uses ``guid``."""
        def members(s: Element, p: str, name: str) -> list[str]:
            return [guid(m.get("targetGUID") or m.get("guid")) for m, _ in kids(s, p, name)]

        for s, p in kids(el, path, "Set"):
            self.out.sets.append(RSet(guid(s.get("guid")), (s.get("name") or "").strip(),
                                      (text_of(s, p, "Description") or "").strip(), p,
                                      members(s, p, "MemberCode"), members(s, p, "MemberSource"),
                                      members(s, p, "MemberNote")))

    def project(self, root: Element) -> None:
        path = "/Project"
        o = self.out
        users, upath = child(root, path, "Users")
        if users is not None:
            o.users = [RUser(guid(u.get("guid")), (u.get("name") or u.get("id") or "").strip(), p)
                       for u, p in kids(users, upath, "User")]
        book, bpath = child(root, path, "CodeBook")
        if book is not None:
            self.codes(book, bpath)
        variables, vpath = child(root, path, "Variables")
        if variables is not None:
            o.variables = [RVariable(guid(v.get("guid")), (v.get("name") or "").strip(), p)
                           for v, p in kids(variables, vpath, "Variable")]
        cases, cpath = child(root, path, "Cases")
        if cases is not None:
            for c, p in kids(cases, cpath, "Case"):
                case = RCase(guid(c.get("guid")), (c.get("name") or "").strip(), p, self.values(c, p),
                             _refs(c, p, "SourceRef"))
                o.unsupported["case selections (SelectionRef)"] += len(_refs(c, p, "SelectionRef"))
                o.unsupported["case codes (CodeRef)"] += len(_refs(c, p, "CodeRef"))
                o.cases.append(case)
        sources, spath = child(root, path, "Sources")
        if sources is not None:
            for s, p in kids(sources, spath):
                kind = local(s.tag)
                if kind == "TextSource":
                    o.sources.append(self.text_source(s, p))
                elif kind in MEDIA:
                    self.media(s, p, kind)
                else:
                    o.unsupported[f"{kind} elements"] += 1
        notes, npath = child(root, path, "Notes")
        if notes is not None:
            for n, p in kids(notes, npath, "Note"):
                o.notes.append(RNote(guid(n.get("guid")), (n.get("name") or "").strip(),
                                     guid(n.get("creatingUser")) or None, text_of(n, p, "PlainTextContent"),
                                     n.get("plainTextPath"), when(n.get("creationDateTime")), p))
                sels = sum(1 for _ in kids(n, p, "PlainTextSelection"))
                if sels:
                    o.unsupported["selections inside notes"] += sels
        sets, spath = child(root, path, "Sets")
        if sets is not None:
            self.sets(sets, spath)
        for name, what in (("Links", "Link"), ("Graphs", "Graph")):
            el, p = child(root, path, name)
            if el is not None:
                o.unsupported[f"{what}s"] += sum(1 for _ in kids(el, p, what))
        o.project_notes = _refs(root, path, "NoteRef")


def check_depth(root: Element, where: str) -> None:
    """Refuse a file whose codes nest past :data:`~coding.codebook.walk.MAX_DEPTH` levels, or whose
    elements nest deeper than any REFI-QDA file needs, before anything that recurses per
    level (the schema validator) reads it. Walks the elements without recursion."""
    above: dict[int, tuple[str, int]] = {}  # id(element) -> (path and level of the code at or above it)
    for step in walk_tree([root], list):
        el = step.node
        path, level = above[id(step.parent)] if step.parent is not None else ("", 0)
        if isinstance(el.tag, str) and local(el.tag) == "Code":
            name = (el.get("name") or "").strip() or "(unnamed)"
            path, level = (f"{path}/{name}" if path else name), level + 1
            if level > MAX_DEPTH:
                raise RefiError(depth_message(where, path, fix="move its sub-codes up a level in the tool it "
                                                               "came from and export again"))
        elif step.depth > MAX_DEPTH + 10:
            raise RefiError(f"{where}: elements nest more than {MAX_DEPTH + 10} levels deep (at "
                            f"<{local(str(el.tag))}>), which no REFI-QDA file needs; the file was refused")
        above[id(el)] = (path, level)


def read_project(root: Element) -> RefiFile:
    """A ``project.qde`` root (``Project``) as a :class:`RefiFile`."""
    out = RefiFile(name=(root.get("name") or "").strip(), origin=root.get("origin") or "", kind="project",
                   creating_user=guid(root.get("creatingUserGUID")) or None)
    if local(root.tag) != "Project":
        out.problems.append(f"/{local(root.tag)}: the root element is not Project")
        return out
    _Reader(out).project(root)
    return out


def read_codebook(root: Element) -> RefiFile:
    """A ``.qdc`` root (``CodeBook``) as a :class:`RefiFile` holding codes and sets of codes."""
    out = RefiFile(name="", origin=root.get("origin") or "", kind="codebook")
    if local(root.tag) != "CodeBook":
        out.problems.append(f"/{local(root.tag)}: the root element is not CodeBook")
        return out
    r = _Reader(out)
    r.codes(root, "/CodeBook")
    sets, p = child(root, "/CodeBook", "Sets")
    if sets is not None:
        r.sets(sets, p)
    return out
