"""Coded excerpts: the one query every retrieve view, matrix and export reads.

:func:`excerpts` applies the blind rule of :mod:`coding.team.visibility` exactly as the
coding page does (a coder in an open blind round gets only their own codings, of
any layer), then the filters. Each :class:`Excerpt` quotes the stored text
between its offsets, nothing else, and carries the attribution the project's
template builds from the document's participant attributes.
"""

from __future__ import annotations

import bisect
import string
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from coding.team.access import Action, require
from coding.codebook.tree import SEP, CodeTree, code_tree
from coding.work.codings import PROVENANCES
from coding.errors import CodingError, NotFoundError
from coding.team.events import log_event
from coding.team.members import Member
from coding.store.models import Assignment, Attribute, Coder, Coding, Document, Project, Round, SpeakerTurn
from coding.team.visibility import visibility

DEFAULT_TEMPLATE = "({role} - {school})"
LAYERS = ("coder", "consensus")


@dataclass(frozen=True)
class Excerpt:
    """One coding as exports show it. ``text`` is ``document text[start:end]``."""

    coding_id: str
    document: str
    document_id: str
    code: str                      # the code's path, levels joined by "/"
    code_levels: tuple[str, ...]   # the path split into its levels
    code_id: str
    coder: str                     # who made it (for consensus: the lead who decided)
    layer: str                     # coder | consensus
    provenance: str
    start: int
    end: int
    text: str
    speakers: tuple[str, ...]      # speakers of the turns it covers, in text order
    timestamp: str | None          # of the turn it starts in, when the transcript has one
    attributes: Mapping[str, str] = field(default_factory=dict)
    memo: str = ""
    attribution: str = ""

    def record(self) -> dict:
        """The stable JSON shape (CLI ``--json``): document, code, coder, layer, start, end,
        text, attribution, then the rest."""
        return {"document": self.document, "code": self.code, "code_levels": list(self.code_levels),
                "coder": self.coder, "layer": self.layer, "provenance": self.provenance,
                "start": self.start, "end": self.end, "text": self.text, "attribution": self.attribution,
                "speakers": list(self.speakers), "timestamp": self.timestamp,
                "attributes": dict(self.attributes), "memo": self.memo, "coding_id": self.coding_id}


# --- the attribution template ---------------------------------------------------------

def template_fields(template: str) -> list[str]:
    """The attribute names a template uses, in order. Only plain ``{name}`` fields are
    allowed: no format specs, conversions, indexing or attribute access."""
    if len(template) > 300:
        raise CodingError("the attribution template is over 300 characters: shorten it")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise CodingError(f"the attribution template {template!r} is not valid ({exc}): write attributes as "
                          "{name} and a literal brace as {{ or }}") from None
    names = []
    for _, name, spec, conv in parts:
        if name is None:
            continue
        if not name.strip() or spec or conv:
            raise CodingError(f"the attribution template {template!r} has a field {{{name}{'!' + conv if conv else ''}"
                              f"{':' + spec if spec else ''}}} that is not a plain attribute name: write it as "
                              "{role}, {school} (the attribute columns of the project)")
        names.append(name.strip())
    return names


def render_attribution(template: str, attributes: Mapping[str, str], *, document: str) -> str:
    """The template with each ``{name}`` replaced by the document's attribute value.
    Substituted literally (never ``str.format``), so no field can reach an object."""
    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        key = name.strip()
        if key not in attributes:
            have = ", ".join(sorted(attributes)) or "none"
            raise CodingError(
                f"the attribution template {template!r} names the attribute {key!r}, which document "
                f"{document!r} does not have (its attributes: {have}): add a {key!r} column to the attributes "
                "CSV and import it, or change the project's attribution template")
        out.append(attributes[key])
    return "".join(out)


def set_attribution_template(s: Session, project: Project, member: Member, template: str) -> str:
    """Store the project's attribution template (a lead's setting), checked first and logged as
    ``project.attribution`` (before, after). Empty: back to the default."""
    m = require(s, member, Action.EDIT_CODEBOOK, project)
    template = (template or "").strip() or DEFAULT_TEMPLATE  # empty: back to the default
    names = template_fields(template)
    have = set(s.scalars(select(Attribute.name).join(Document).where(Document.project_id == project.id)))
    if have and (unknown := [n for n in names if n not in have]):
        raise CodingError(f"the attribution template {template!r} names {', '.join(map(repr, unknown))}, which no "
                          f"document of {project.name!r} has (attributes: {', '.join(sorted(have))}): correct the "
                          "template, or import an attributes CSV with that column first")
    before = project_template(project)
    if template != before:
        project.attribution_template = template
        log_event(s, project.id, m, "project.attribution", "project", project.id, before=before, after=template)
        s.flush()
    return template


def project_template(project: Project) -> str:
    return project.attribution_template or DEFAULT_TEMPLATE


# --- the query ------------------------------------------------------------------------

def _code_ids(tree: CodeTree, codes: Iterable[str], include_descendants: bool) -> set[str]:
    ids: set[str] = set()
    for c in codes:
        info = tree.info.get(c) or tree.resolve(c)
        ids.add(info.id)
        if include_descendants:
            ids.update(tree.descendants(info.id))
    return ids


def _layer_clause(s: Session, project: Project, layer: str):
    if layer in ("all", None):
        return None
    if layer in LAYERS:
        return Coding.layer == layer
    name = layer.removeprefix("coder:")
    coder_id = s.scalar(select(Coder.id).where(Coder.project_id == project.id, Coder.name == name))
    if coder_id is None:
        raise NotFoundError(f"layer {layer!r} is neither 'coder', 'consensus', 'all' nor a member of "
                            f"{project.name!r}: give a member's name (e.g. coder:ana)")
    return and_(Coding.layer == "coder", Coding.coder_id == coder_id)


def _round_clause(s: Session, project: Project, round_: str | Round):
    rnd = round_ if isinstance(round_, Round) else s.scalar(
        select(Round).where(Round.project_id == project.id, Round.name == round_))
    if rnd is None or rnd.project_id != project.id:
        raise NotFoundError(f"no round {round_!r} in {project.name!r}: see the rounds on the Project page")
    # A coder's coding belongs to the round when that coder was assigned that document
    # in it; a consensus coding when its document was in the round.
    assigned = exists().where(Assignment.round_id == rnd.id, Assignment.document_id == Coding.document_id)
    return (Coding.layer == "consensus") & assigned | (
        (Coding.layer == "coder") & assigned.where(Assignment.coder_id == Coding.coder_id))


def _document_ids(s: Session, project: Project, documents: Iterable) -> set[str]:
    ids = set()
    for d in documents:
        if isinstance(d, Document):
            if d.project_id != project.id:
                raise NotFoundError(f"document {d.name!r} is not in {project.name!r}")
            ids.add(d.id)
            continue
        found = s.scalar(select(Document.id).where(Document.project_id == project.id,
                                                   (Document.name == d) | (Document.id == d)))
        if found is None:
            raise NotFoundError(f"no document named {d!r} in {project.name!r}; list them with "
                                f"`python -m coding documents {project.name}`")
        ids.add(found)
    return ids


def excerpts(s: Session, project: Project, member: Member, *,
             codes: Collection[str] | None = None, include_descendants: bool = True,
             layer: str = "coder", documents: Iterable | None = None,
             attributes: Mapping[str, Collection[str]] | None = None,
             round: str | Round | None = None, provenance: str | Collection[str] | None = None,
             text_search: str | None = None, template: str | None = None) -> list[Excerpt]:
    """The coded excerpts ``member`` may see, filtered, in codebook then document then text order.

    ``codes``: code paths (or ids), with their descendants unless ``include_descendants`` is
    False. ``layer``: "coder" (every coder's own layer), "consensus", "all", or one member's
    coder layer ("coder:NAME" or "NAME"). ``documents``: names, ids or rows. ``attributes``:
    {name: [values]}, a document must hold one of the values of each name. ``round``: codings
    of that round's assignments. ``provenance``: typed, suggested, adjudicated, imported.
    ``text_search``: case-insensitive, in the quoted text. ``template``: the attribution
    template (default: the project's); naming an attribute a document lacks is an error.
    """
    m = require(s, member, Action.READ_CODINGS, project)
    tree = code_tree(s, project)
    template = project_template(project) if template is None else template
    template_fields(template)

    q = (select(Coding.id, Coding.document_id, Coding.code_id, Coding.coder_id, Coding.layer,
                Coding.provenance, Coding.start, Coding.end, Coding.memo)
         .where(visibility(s, m).codings()))
    if (clause := _layer_clause(s, project, layer)) is not None:
        q = q.where(clause)
    if codes:
        q = q.where(Coding.code_id.in_(sorted(_code_ids(tree, codes, include_descendants))))
    if documents is not None:
        q = q.where(Coding.document_id.in_(sorted(_document_ids(s, project, documents))))
    if round is not None:
        q = q.where(_round_clause(s, project, round))
    if provenance:
        wanted = {provenance} if isinstance(provenance, str) else set(provenance)
        bad = wanted - set(PROVENANCES)
        if bad:
            raise CodingError(f"unknown provenance {', '.join(sorted(bad))}: use {', '.join(PROVENANCES)}")
        q = q.where(Coding.provenance.in_(sorted(wanted)))
    rows = s.execute(q).all()
    if not rows:
        return []

    doc_ids = sorted({r.document_id for r in rows})
    attrs: dict[str, dict[str, str]] = {d: {} for d in doc_ids}
    for doc_id, name, value in s.execute(select(Attribute.document_id, Attribute.name, Attribute.value)
                                         .where(Attribute.document_id.in_(doc_ids))):
        attrs[doc_id][name] = value
    if attributes:
        wanted_attrs = {k: {str(v) for v in vs} for k, vs in attributes.items()}
        keep = {d for d in doc_ids if all(attrs[d].get(k) in vs for k, vs in wanted_attrs.items())}
        rows = [r for r in rows if r.document_id in keep]
        doc_ids = sorted(keep)
    if not rows:
        return []

    docs = {d.id: (d.name, d.text) for d in s.execute(
        select(Document.id, Document.name, Document.text).where(Document.id.in_(doc_ids)))}
    turns: dict[str, list] = {d: [] for d in doc_ids}
    for t in s.execute(select(SpeakerTurn.document_id, SpeakerTurn.start, SpeakerTurn.end, SpeakerTurn.speaker,
                              SpeakerTurn.timestamp)
                       .where(SpeakerTurn.document_id.in_(doc_ids))
                       .order_by(SpeakerTurn.document_id, SpeakerTurn.start)):
        turns[t.document_id].append(t)
    turn_starts = {d: [t.start for t in ts] for d, ts in turns.items()}
    names = dict(s.execute(select(Coder.id, Coder.name).where(Coder.project_id == project.id)).all())
    order = {info.id: i for i, info in enumerate(tree.infos)}
    needle = text_search.casefold() if text_search else None
    attributions: dict[str, str] = {}

    out = []
    for r in rows:
        doc_name, doc_text = docs[r.document_id]
        quote = doc_text[r.start:r.end]
        if needle and needle not in quote.casefold():
            continue
        if r.document_id not in attributions:
            attributions[r.document_id] = render_attribution(template, attrs[r.document_id], document=doc_name)
        info = tree.info.get(r.code_id)
        path = info.path if info else "?"
        speakers, stamp = _covered(turns[r.document_id], turn_starts[r.document_id], r.start, r.end)
        out.append(Excerpt(
            coding_id=r.id, document=doc_name, document_id=r.document_id, code=path,
            code_levels=tuple(path.split(SEP)), code_id=r.code_id, coder=names.get(r.coder_id, "?"),
            layer=r.layer, provenance=r.provenance, start=r.start, end=r.end, text=quote,
            speakers=speakers, timestamp=stamp, attributes=dict(attrs[r.document_id]), memo=r.memo or "",
            attribution=attributions[r.document_id]))
    out.sort(key=lambda e: (order.get(e.code_id, len(order)), e.document.casefold(), e.start, e.end,
                            e.layer, e.coder))
    return out


def _covered(turns: list, starts: list[int], start: int, end: int) -> tuple[tuple[str, ...], str | None]:
    """Speakers of the turns overlapping [start, end) and the timestamp of the first one."""
    i = max(bisect.bisect_right(starts, start) - 1, 0)
    speakers: list[str] = []
    stamp = None
    first = True
    while i < len(turns) and turns[i].start < end:
        t = turns[i]
        if t.end > start:
            if first:
                stamp, first = t.timestamp, False
            if t.speaker not in speakers:
                speakers.append(t.speaker)
        i += 1
    return tuple(speakers), stamp


def excerpt_context(s: Session, project: Project, member: Member, excerpt: Excerpt,
                    chars: int = 300) -> tuple[str, str, str]:
    """(before, quote, after): up to ``chars`` characters of stored text either side."""
    require(s, member, Action.READ_PROJECT, project)
    doc = s.get(Document, excerpt.document_id)
    if doc is None or doc.project_id != project.id:
        raise NotFoundError(f"document {excerpt.document!r} is gone: reload the page")
    t = doc.text
    return t[max(0, excerpt.start - chars):excerpt.start], t[excerpt.start:excerpt.end], t[excerpt.end:excerpt.end + chars]
