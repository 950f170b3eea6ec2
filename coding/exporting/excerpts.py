"""Coded excerpts: the one query every retrieve view, matrix and export reads.

:func:`excerpts` applies the blind rule of :mod:`coding.team.visibility` exactly as the
coding page does (a coder in an open blind round gets only their own codings, of
any layer), then the filters. Each :class:`Excerpt` quotes the stored text
between its offsets, nothing else, says where a reader finds it (speaker turns with
their numbers and timestamp, or paragraphs in a document without turns) and carries
the attribution the project's template builds (:mod:`coding.exporting.attribution`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from coding.team.access import Action, require
from coding.codebook.tree import SEP, CodeTree, code_tree
from coding.exporting.attribution import (  # noqa: F401 (importable from here as before)
    DEFAULT_TEMPLATE, missing_warnings, project_template, render_attribution, set_attribution_template,
    template_fields)
from coding.work.codings import PROVENANCES
from coding.errors import CodingError, NotFoundError
from coding.team.members import Member
from coding.store.models import Assignment, Attribute, Coder, Coding, Document, Project, Round, SpeakerTurn
from coding.team.visibility import visibility

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
    turns: tuple[int, int] | None = None       # first and last speaker turn it covers, numbered from 1
    paragraphs: tuple[int, int] | None = None  # first and last paragraph, for a document without turns

    @property
    def location(self) -> str:
        """Where a reader finds the quote: "turn 4, Docker, 00:12:31", "turns 4–6, Interviewer
        and Docker", "paragraph 3" (no offsets: those are for data formats)."""
        if self.turns:
            a, b = self.turns
            out = f"turn {a}" if a == b else f"turns {a}–{b}"
            if self.speakers:
                out += ", " + " and ".join(self.speakers)
            return out + (f", {self.timestamp}" if self.timestamp else "")
        if self.paragraphs:
            a, b = self.paragraphs
            return f"paragraph {a}" if a == b else f"paragraphs {a}–{b}"
        return ""

    def record(self) -> dict:
        """The stable JSON shape (CLI ``--json``): document, code, coder, layer, start, end,
        text, attribution, then the rest."""
        return {"document": self.document, "code": self.code, "code_levels": list(self.code_levels),
                "coder": self.coder, "layer": self.layer, "provenance": self.provenance,
                "start": self.start, "end": self.end, "text": self.text, "attribution": self.attribution,
                "location": self.location, "turns": list(self.turns) if self.turns else None,
                "paragraphs": list(self.paragraphs) if self.paragraphs else None,
                "speakers": list(self.speakers), "timestamp": self.timestamp,
                "attributes": dict(self.attributes), "memo": self.memo, "coding_id": self.coding_id}


def turn_label(turns: tuple[int, int] | None) -> str:
    """The ``{turn}`` field: "4" or "4–6"."""
    if not turns:
        return ""
    return str(turns[0]) if turns[0] == turns[1] else f"{turns[0]}–{turns[1]}"


def attribute(template: str, e: Excerpt, missing: set[str] | None = None) -> str:
    """The template filled in for excerpt ``e`` (its document's attributes, name, speakers, turns)."""
    return render_attribution(template, e.attributes, document=e.document, speaker=" and ".join(e.speakers),
                              turn=turn_label(e.turns), missing=missing)


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
             text_search: str | None = None, template: str | None = None,
             warnings: list[str] | None = None) -> list[Excerpt]:
    """The coded excerpts ``member`` may see, filtered, in codebook then document then text order.

    ``codes``: code paths (or ids), with their descendants unless ``include_descendants`` is
    False. ``layer``: "coder" (every coder's own layer), "consensus", "all", or one member's
    coder layer ("coder:NAME" or "NAME"). ``documents``: names, ids or rows. ``attributes``:
    {name: [values]}, a document must hold one of the values of each name. ``round``: codings
    of that round's assignments. ``provenance``: typed, suggested, adjudicated, imported.
    ``text_search``: case-insensitive, in the quoted text. ``template``: the attribution
    template (default: the project's); a field a document lacks is left out of its
    attributions and, when ``warnings`` is a list, a warning naming it is appended to it.
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

    docs = {d.id: (d.name, d.text, d.source_format) for d in s.execute(
        select(Document.id, Document.name, Document.text, Document.source_format).where(Document.id.in_(doc_ids)))}
    turns: dict[str, list] = {d: [] for d in doc_ids}
    for t in s.execute(select(SpeakerTurn.document_id, SpeakerTurn.start, SpeakerTurn.end, SpeakerTurn.speaker,
                              SpeakerTurn.timestamp, SpeakerTurn.position)
                       .where(SpeakerTurn.document_id.in_(doc_ids))
                       .order_by(SpeakerTurn.document_id, SpeakerTurn.start)):
        turns[t.document_id].append(t)
    turn_starts = {d: [t.start for t in ts] for d, ts in turns.items()}
    paragraphs: dict[str, list[int]] = {}
    names = dict(s.execute(select(Coder.id, Coder.name).where(Coder.project_id == project.id)).all())
    order = {info.id: i for i, info in enumerate(tree.infos)}
    needle = text_search.casefold() if text_search else None
    attributions: dict[tuple, str] = {}
    per_quote = bool({"speaker", "turn"} & set(template_fields(template)))
    lacking: dict[str, set[str]] = {}
    paths: dict[str, str] = {}
    levels: dict[str, tuple[str, ...]] = {}

    out = []
    for r in rows:
        doc_name, doc_text, source_format = docs[r.document_id]
        quote = doc_text[r.start:r.end]
        if needle and needle not in quote.casefold():
            continue
        if r.code_id not in levels:
            info = tree.info.get(r.code_id)
            paths[r.code_id] = info.path if info else "?"
            levels[r.code_id] = tuple(paths[r.code_id].split(SEP))
        path = paths[r.code_id]
        speakers, stamp, turn_span = _covered(turns[r.document_id], turn_starts[r.document_id], r.start, r.end)
        para_span = None
        if turn_span is None:
            if r.document_id not in paragraphs:
                paragraphs[r.document_id] = paragraph_starts(doc_text, source_format)
            para_span = _paragraphs(paragraphs[r.document_id], r.start, r.end)
        key = (r.document_id, speakers, turn_span) if per_quote else (r.document_id,)
        if key not in attributions:
            missing: set[str] = set()
            attributions[key] = render_attribution(template, attrs[r.document_id], document=doc_name,
                                                   speaker=" and ".join(speakers), turn=turn_label(turn_span),
                                                   missing=missing)
            for name in missing:
                lacking.setdefault(name, set()).add(doc_name)
        out.append(Excerpt(
            coding_id=r.id, document=doc_name, document_id=r.document_id, code=path,
            code_levels=levels[r.code_id], code_id=r.code_id, coder=names.get(r.coder_id, "?"),
            layer=r.layer, provenance=r.provenance, start=r.start, end=r.end, text=quote,
            speakers=speakers, timestamp=stamp, attributes=attrs[r.document_id], memo=r.memo or "",
            attribution=attributions[key], turns=turn_span, paragraphs=para_span))
    if warnings is not None:
        warnings.extend(missing_warnings(lacking))
    out.sort(key=lambda e: (order.get(e.code_id, len(order)), e.document.casefold(), e.start, e.end,
                            e.layer, e.coder))
    return out


def _covered(turns: list, starts: list[int], start: int, end: int
             ) -> tuple[tuple[str, ...], str | None, tuple[int, int] | None]:
    """Speakers of the turns overlapping [start, end), the timestamp of the first one, and the
    first and last turn numbers (from 1; None when it touches no turn)."""
    i = max(bisect.bisect_right(starts, start) - 1, 0)
    speakers: list[str] = []
    stamp = None
    first = last = None
    while i < len(turns) and turns[i].start < end:
        t = turns[i]
        if t.end > start:
            if first is None:
                stamp, first = t.timestamp, t.position + 1
            last = t.position + 1
            if t.speaker not in speakers:
                speakers.append(t.speaker)
        i += 1
    return tuple(speakers), stamp, (first, last) if first is not None else None


_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")
_LINE = re.compile(r"\n\s*")


def paragraph_starts(text: str, source_format: str = "txt") -> list[int]:
    """Where each paragraph begins. A Word document's paragraphs are the stored text's
    non-blank lines; plain text's are blocks between blank lines (its lines when it has none)."""
    pattern = _LINE if source_format == "docx" or not _BLANK_LINE.search(text) else _BLANK_LINE
    out = [0, *(m.end() for m in pattern.finditer(text) if m.end() < len(text))]
    if len(out) > 1 and not text[:out[1]].strip():  # blank lines before the first paragraph
        out.pop(0)
    return out


def _paragraphs(starts: list[int], start: int, end: int) -> tuple[int, int]:
    return max(1, bisect.bisect_right(starts, start)), max(1, bisect.bisect_right(starts, max(start, end - 1)))


def excerpt_context(s: Session, project: Project, member: Member, excerpt: Excerpt,
                    chars: int = 300) -> tuple[str, str, str]:
    """(before, quote, after): up to ``chars`` characters of stored text either side."""
    require(s, member, Action.READ_PROJECT, project)
    doc = s.get(Document, excerpt.document_id)
    if doc is None or doc.project_id != project.id:
        raise NotFoundError(f"document {excerpt.document!r} is gone: reload the page")
    t = doc.text
    return t[max(0, excerpt.start - chars):excerpt.start], t[excerpt.start:excerpt.end], t[excerpt.end:excerpt.end + chars]
