"""Suggestions as a service: emergent themes, codes for a passage, more like a code, keyphrases, actions.

The blind rule (DESIGN.md, Suggestions): everything a member's suggestions are
computed from is what that member may see, and by default only their *own*
codings: which units count as coded, which coded text describes a code (for
the nearest-code lookup and the recommender). A lead may choose the layer
``all`` (every coder's codings) or ``consensus``; a coder gets ``own`` only, so
another coder's work never changes a coder's suggestions, in a blind round or out.

Processing lives in :mod:`coding.suggest.processing` (re-exported here). Units built from
its cache are kept per document set (ids, names, text hashes, pipelines), and
each member's trained code model per (project, member, layer, units, exactly the
spans and codes it learnt from), in small in-process LRU caches: a warm
suggestion answers in milliseconds, and any change to the member's codings
retrains. Accepts and rejects are ``suggestion.accept`` / ``suggestion.reject``
events (``model``: 'codes' on the coding page, 'more' for find-more, 'themes'),
from which :func:`suggestion_precision` is computed; a reject also keeps that
span from being offered for that code again. Keyphrases use the text only.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.team.access import Action, can, require
from coding.codebook.tree import check_code_name, code_tree, bump_version
from coding.work.codings import PROVENANCE_SUGGESTED, apply_codes
from coding.work.codings import BrowserSelection, coding_dict, resolve_selection
from coding.errors import CodebookError, CodingError, NotFoundError, PermissionDeniedError
from coding.team.events import log_event
from coding.text.offsets import check_span
from coding.team.members import Member
from coding.store.models import Attribute, Code, Coding, Document, Event, NlpCache, Project, SpeakerTurn
from coding.team.visibility import visibility

UNITS = ("sentence", "turn")
LAYERS = ("own", "all", "consensus")


# --- processing cache (coding/suggest/processing.py) ------------------------------------------

from coding.suggest.processing import ProcessReport, _analyses, _pipeline_names, process_documents, processing_status  # noqa: E402,F401


# --- units and what the member has coded ----------------------------------------------

@dataclass(frozen=True)
class UnitInfo:
    document_id: str
    document: str
    start: int
    end: int
    speaker: str | None


def _layer_query(s: Session, member: Member, layer: str, *what):
    """The select of what shapes ``member``'s suggestions: own (coders always), all visible, consensus."""
    if layer not in LAYERS:
        raise CodingError(f"layer {layer!r} is not one of {', '.join(LAYERS)}")
    view = visibility(s, member)  # reloads the member
    if layer != "own" and not view.is_lead:
        raise PermissionDeniedError(f"{member.name!r} is a coder: suggestions learn from their own codings only "
                                    "(the 'own' layer); the other layers are for leads")
    q = select(*(what or (Coding,))).where(view.codings())
    if layer == "own":
        q = q.where(Coding.coder_id == member.id, Coding.layer == "coder")
    elif layer == "consensus":
        q = q.where(Coding.layer == "consensus")
    else:
        q = q.where(Coding.layer == "coder")
    return q


def _layer_codings(s: Session, member: Member, layer: str):
    """The codings that shape ``member``'s suggestions: own (coders always), all visible, consensus."""
    return list(s.scalars(_layer_query(s, member, layer)))


def _layer_spans(s: Session, member: Member, layer: str):
    """As :func:`_layer_codings`, only ``(document_id, start, end, code_id)`` rows (cheaper)."""
    return s.execute(_layer_query(s, member, layer, Coding.document_id, Coding.start, Coding.end,
                                  Coding.code_id)).all()


# Two caches, module-level, bounded, shared by the threads of one process. Units depend only
# on the documents' texts (sha256), names and pipelines; a trained model on the member, the
# layer, the units and exactly the spans and codes it learnt from (so any new, removed or
# changed coding retrains it, and one member's model is never another's).
_LOCK = threading.Lock()
_UNIT_CACHE: OrderedDict[tuple, tuple] = OrderedDict()
_MODEL_CACHE: OrderedDict[tuple, tuple] = OrderedDict()
UNIT_CACHE_SIZE, MODEL_CACHE_SIZE = 8, 12  # a model over 150k words holds tens of MB


def _cache_get(cache: OrderedDict, key):
    with _LOCK:
        value = cache.get(key)
        if value is not None:
            cache.move_to_end(key)
        return value


def _cache_put(cache: OrderedDict, key, value, size: int):
    with _LOCK:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > size:
            cache.popitem(last=False)
    return value


def clear_caches() -> None:
    """Forget every cached unit list and trained model (tests, benches)."""
    with _LOCK:
        _UNIT_CACHE.clear()
        _MODEL_CACHE.clear()


def _unit_key(s: Session, project: Project, unit: str) -> tuple:
    if unit not in UNITS:
        raise CodingError(f"unit {unit!r} is not one of {', '.join(UNITS)}")
    rows = s.execute(select(Document.id, Document.name, Document.sha256, Document.language)
                     .where(Document.project_id == project.id).order_by(Document.name)).all()
    names = _pipeline_names(r.language for r in rows)
    return (project.id, unit, tuple((r.id, r.name, r.sha256, names[r.language]) for r in rows))


def _all_processed(s: Session, key: tuple) -> bool:
    wanted = {(sha, pipe) for _, _, sha, pipe in key[2]}
    have = set(s.execute(select(NlpCache.sha256, NlpCache.pipeline)
                         .where(NlpCache.sha256.in_({sha for sha, _ in wanted}))).all())
    return wanted <= have


def _cached_units(s: Session, project: Project, unit: str) -> tuple[tuple, tuple]:
    """(key, units) for the project, built from the processing cache once per document set
    (while every document's cache row is there: a missing one is refused by name)."""
    key = _unit_key(s, project, unit)
    got = _cache_get(_UNIT_CACHE, key) if _all_processed(s, key) else None
    if got is None:
        docs = list(s.scalars(select(Document).where(Document.project_id == project.id).order_by(Document.name)))
        names = _pipeline_names(d.language for d in docs)
        key = (project.id, unit, tuple((d.id, d.name, d.sha256, names[d.language]) for d in docs))
        got = _cache_put(_UNIT_CACHE, key, tuple(_build_units(s, project, docs, unit)), UNIT_CACHE_SIZE)
    return key, got


def _units(s: Session, project: Project, unit: str):
    """(documents, (Unit, UnitInfo) for every sentence or turn of every document), from the cache;
    the interviewer's turns are left out."""
    _, units = _cached_units(s, project, unit)
    docs = list(s.scalars(select(Document).where(Document.project_id == project.id).order_by(Document.name)))
    return docs, list(units)


def _build_units(s: Session, project: Project, docs: list[Document], unit: str):
    from coding.nlp.themes import Unit, add_context, is_interviewer

    analyses = _analyses(s, docs)
    turns: dict[str, list[SpeakerTurn]] = {}
    for t in s.scalars(select(SpeakerTurn).join(Document, Document.id == SpeakerTurn.document_id)
                       .where(Document.project_id == project.id).order_by(SpeakerTurn.position)):
        turns.setdefault(t.document_id, []).append(t)
    out = []
    for d in docs:
        a = analyses[d.id]
        dturns = turns.get(d.id, [])
        sents = [(s_, e_, tuple(t), tuple(p)) for (s_, e_), t, p in zip(a["sents"], a["terms"], a["phrases"])]

        def speaker_at(pos: int) -> SpeakerTurn | None:
            return next((t for t in dturns if t.start <= pos < t.end), None)

        if unit == "sentence" or not dturns:
            for s_, e_, t, p in sents:
                turn = speaker_at(s_)
                if turn is not None and e_ <= turn.speech_start:
                    continue  # a timestamp or speaker label on its own ("[00:00:12]")
                if turn is not None and s_ < turn.speech_start < e_:
                    s_ = turn.speech_start  # "Teacher: We planned..." starts at "We": the label is not said
                out.append((Unit(d.id, s_, e_, t, p), UnitInfo(d.id, d.name, s_, e_, turn.speaker if turn else None)))
        else:
            for turn in dturns:
                inside = [x for x in sents if turn.start <= x[0] < turn.end]
                if not inside:
                    continue
                start = max(turn.speech_start, inside[0][0]) if turn.speech_start < turn.end else inside[0][0]
                end = inside[-1][1]
                u = Unit(d.id, start, end, tuple(w for x in inside for w in x[2]), tuple(w for x in inside for w in x[3]))
                out.append((u, UnitInfo(d.id, d.name, start, end, turn.speaker)))
    # each unit's context: its turn and the interviewer's question before it (coding.nlp.themes)
    with_context = add_context([u for u, _ in out], [(t.document_id, t.start, t.end, is_interviewer(t.speaker))
                                                     for d in docs for t in turns.get(d.id, [])])
    out = [(u, info) for u, (_, info) in zip(with_context, out)]
    # the interviewer's questions are not the participants' data
    return [x for x in out if not is_interviewer(x[1].speaker)]


def _coded_by(units, codings) -> list[set[str]]:
    by_doc: dict[str, list[Coding]] = {}
    for c in codings:
        by_doc.setdefault(c.document_id, []).append(c)
    return [{c.code_id for c in by_doc.get(u.document_id, []) if c.start < u.end and u.start < c.end}
            for u, _ in units]


def _name_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[^\W\d_]{3,}", text.lower())]


# --- emergent themes ------------------------------------------------------------------

@dataclass(frozen=True)
class Quote:
    document_id: str
    document: str
    start: int
    end: int
    text: str
    speaker: str | None
    attribution: str

    def as_dict(self) -> dict:
        return {"document": self.document, "document_id": self.document_id, "start": self.start, "end": self.end,
                "text": self.text, "speaker": self.speaker, "attribution": self.attribution}


@dataclass(frozen=True)
class ThemeView:
    rank: int
    label: tuple[str, ...]
    units: int
    documents: int
    participants: int
    quotes: tuple[Quote, ...]
    nearest_code: str | None  # the code's path
    nearest_code_id: str | None
    nearest_score: float
    cohesion: float

    @property
    def title(self) -> str:
        return ", ".join(self.label)

    def draft_definition(self) -> str:
        return (f"Passages about {', '.join(self.label)} (drafted from a suggested theme: "
                f"{self.units} units in {self.documents} documents).")

    def as_dict(self) -> dict:
        return {"rank": self.rank, "label": list(self.label), "units": self.units, "documents": self.documents,
                "participants": self.participants, "quotes": [q.as_dict() for q in self.quotes],
                "nearest_code": self.nearest_code, "nearest_score": round(self.nearest_score, 3),
                "cohesion": round(self.cohesion, 3)}


def _attributions(s: Session, project: Project, docs) -> dict[str, str]:
    from coding.exporting.excerpts import project_template, render_attribution

    attrs: dict[str, dict[str, str]] = {d.id: {} for d in docs}
    for a in s.scalars(select(Attribute).where(Attribute.document_id.in_(list(attrs)))):
        attrs[a.document_id][a.name] = a.value
    out = {}
    for d in docs:
        try:
            out[d.id] = render_attribution(project_template(project), attrs[d.id], document=d.name)
        except CodingError:  # a template naming a missing column: show the attributes as they are
            out[d.id] = "(" + " - ".join(v for _, v in sorted(attrs[d.id].items()) if v) + ")" if attrs[d.id] else ""
    return out


def dismissed_labels(s: Session, project: Project, member: Member) -> list[list[str]]:
    """Labels of the themes ``member`` dismissed (remembered in the event log)."""
    m = require(s, member, Action.READ_CODINGS, project)
    rows = s.scalars(select(Event.payload).where(Event.project_id == project.id, Event.actor_id == m.id,
                                                 Event.action == "suggestion.dismiss"))
    return [json.loads(p).get("label") or [] for p in rows]


def emergent_themes(s: Session, project: Project, member: Member, *, unit: str = "sentence",
                    layer: str = "own", method: str | None = None, limit: int = 20,
                    include_dismissed: bool = False) -> list[ThemeView]:
    """Ranked candidate themes from the units ``member`` has not coded (see the module doc)."""
    from coding.nlp.themes import METHOD, find_themes, is_interviewer, jaccard

    m = require(s, member, Action.READ_CODINGS, project)
    docs, units = _units(s, project, unit)
    coded = _coded_by(units, _layer_spans(s, m, layer))
    tree = code_tree(s, project)
    # what the member's (layer's) coded text says about each code, plus its name and definition
    profiles: dict[str, list[str]] = {}
    for (u, _), cs in zip(units, coded):
        for cid in cs:
            profiles.setdefault(cid, []).extend(u.features)
    for info in tree.infos:
        c = tree.by_id[info.id]
        if info.codable and getattr(c, "status", "active") == "active":
            profiles.setdefault(info.id, []).extend(_name_words(f"{c.name} {c.definition}"))
    # Themes per document language, each contrasted with what the member (layer) has coded in that
    # language (coded English says nothing about Spanish words), interleaved by rank in proportion
    # to each language's share of the uncoded units.
    lang_of = {d.id: d.language for d in docs}
    free: dict[str, list[int]] = {}
    background: dict[str, list[list[str]]] = {}
    for i, cs in enumerate(coded):
        lang = lang_of[units[i][0].document_id]
        if cs:
            background.setdefault(lang, []).append(list(units[i][0].features))
        else:
            free.setdefault(lang, []).append(i)
    n_free = sum(len(v) for v in free.values())
    ranked = []
    for lang, idx in sorted(free.items()):
        found = find_themes([units[i][0] for i in idx], method=method or METHOD, code_profiles=profiles,
                            background=background.get(lang), limit=max(limit * 2, limit + 10))
        ranked += [((r + 1) * n_free / len(idx), lang, t, idx) for r, t in enumerate(found)]
    ranked.sort(key=lambda x: (x[0], x[1]))
    dismissed = [] if include_dismissed else dismissed_labels(s, project, m)
    texts = {d.id: d.text for d in docs}
    attribution = _attributions(s, project, docs)
    out: list[ThemeView] = []
    for _, _, t, idx in ranked:
        if any(jaccard(t.label, d) >= 0.5 for d in dismissed):
            continue
        infos = [units[idx[i]][1] for i in t.members]
        parts = {(x.document_id, x.speaker) for x in infos if x.speaker and not is_interviewer(x.speaker)}
        quotes = tuple(Quote(q.document_id, q.document, q.start, q.end, texts[q.document_id][q.start:q.end],
                             q.speaker, attribution.get(q.document_id, ""))
                       for q in (units[idx[i]][1] for i in t.quotes))
        near_id, near_score = t.nearest_code if t.nearest_code else (None, 0.0)
        out.append(ThemeView(len(out) + 1, tuple(t.label), len(t.members), len({x.document_id for x in infos}),
                             len(parts) or len({x.document_id for x in infos}), quotes,
                             tree.info[near_id].path if near_id in tree.info else None,
                             near_id if near_id in tree.info else None, near_score, t.cohesion))
        if len(out) == limit:
            break
    return out


# --- actions --------------------------------------------------------------------------

def dismiss_theme(s: Session, project: Project, member: Member, label: list[str], *, unit: str = "sentence") -> None:
    """Remember that ``member`` dismissed the theme ``label`` (it stops appearing for them)."""
    m = require(s, member, Action.READ_CODINGS, project)
    log_event(s, project.id, m, "suggestion.dismiss", "project", project.id, label=list(label), unit=unit)


def create_code_from_theme(s: Session, project: Project, member: Member, name: str, *,
                           parent_id: str | None = None, definition: str = "", example: str = "") -> Code:
    """A lead adds the code to the codebook; a coder (who does not edit the codebook) proposes
    it, usable at once in their own codings (see :mod:`coding.codebook.proposals`)."""
    from coding.codebook.proposals import create_code_while_coding

    code = create_code_while_coding(s, project, member, name, parent_id=parent_id, definition=definition.strip())
    if example.strip() and not code.example:
        code.example = example.strip()
    return code


def proposed_codes(s: Session, project: Project, member: Member) -> list[Code]:
    """Open proposals this member may see (a coder: their own)."""
    from coding.codebook.proposals import proposals

    ids = [p["id"] for p in proposals(s, project, member)]
    return [s.get(Code, i) for i in ids]


def decide_proposed_code(s: Session, project: Project, member: Member, code_id: str, accept: bool) -> Code | None:
    """A lead accepts a proposal (it joins the codebook) or rejects it (it goes, with the
    codings made with it, recorded in the event log)."""
    from coding.codebook.proposals import accept_proposal, reject_proposal

    if accept:
        return accept_proposal(s, project, member, code_id)
    reject_proposal(s, project, member, code_id)
    return None


def apply_to_quotes(s: Session, project: Project, member: Member, code_id: str,
                    quotes: list[tuple[str, int, int]], *, suggestion: str = "") -> list[Coding]:
    """Code each ``(document_id, start, end)`` with ``code_id`` as ``member`` (provenance
    'suggested'), and log the accept with what was suggested."""
    made: list[Coding] = []
    for doc_id, start, end in quotes:
        doc = s.get(Document, doc_id)
        if doc is None or doc.project_id != project.id:
            raise NotFoundError(f"document {doc_id!r} is not in {project.name!r}: compute the suggestions again")
        made += apply_codes(s, project, member, doc, [code_id], start, end, provenance=PROVENANCE_SUGGESTED)
    if made:
        from coding.work.codings import coding_dict

        log_event(s, project.id, member, "suggestion.accept", "document", made[0].document_id,
                  codings=[coding_dict(c) for c in made], suggestion=suggestion, model="themes")
    return made


def reject_code_suggestion(s: Session, project: Project, member: Member, document: Document, code_id: str,
                           start: int, end: int, *, suggestion: str = "", model: str = "codes") -> None:
    """Log that ``member`` rejected ``code_id`` for ``[start, end)`` (``model``: where it was
    suggested, 'codes' or 'more'); the span is not offered for that code again."""
    m = require(s, member, Action.WRITE_OWN_CODINGS, project, document)
    check_span(document.length, start, end, where=f"document {document.name!r}")
    log_event(s, project.id, m, "suggestion.reject", "document", document.id, suggestion=suggestion,
              model=model, code_id=code_id, start=start, end=end)


# --- existing codes for a passage ----------------------------------------------------

@dataclass(frozen=True)
class CodeHint:
    code_id: str
    path: str
    score: float
    evidence: Quote

    def as_dict(self) -> dict:
        return {"code": self.path, "code_id": self.code_id, "score": round(self.score, 3),
                "evidence": self.evidence.as_dict()}


@dataclass(frozen=True)
class _Trained:
    """A model learnt from one member's layer, with the units it was learnt over."""

    model: object
    units: tuple                      # (Unit, UnitInfo) of every sentence of the project
    coded: tuple                      # the layer's codes per unit (frozensets)
    train: tuple[int, ...]            # the units the model learnt from, in its example order
    texts: tuple[str, ...]            # each unit's text
    by_doc: dict[str, tuple[int, ...]]
    scores: dict = field(default_factory=dict, compare=False)  # code id -> {unit: (score, rank)}


def _trained(s: Session, project: Project, member: Member, layer: str) -> _Trained:
    """The member's model for ``layer`` (cached: see the caches above); refused with how many
    coded units there are and how many are needed while there are too few."""
    from coding.nlp.recommend import CodeModel, NotEnoughData

    ukey, units = _cached_units(s, project, "sentence")
    spans = _layer_spans(s, member, layer)
    fingerprint = hashlib.sha256(repr(sorted(tuple(r) for r in spans)).encode()).hexdigest()
    key = (project.id, member.id, layer, ukey, fingerprint)
    got = _cache_get(_MODEL_CACHE, key)
    if got is not None:
        return got
    coded = tuple(frozenset(c) for c in _coded_by(units, spans))
    train = tuple(i for i, cs in enumerate(coded) if cs)
    texts = _unit_texts(s, units)
    tree = code_tree(s, project)
    code_texts = {i.id: f"{tree.by_id[i.id].name} {tree.by_id[i.id].definition or ''}" for i in tree.infos}
    try:
        model = CodeModel([units[i][0].features for i in train], [sorted(coded[i]) for i in train],
                          texts=[texts[i] for i in train], code_texts=code_texts)
    except NotEnoughData as exc:
        raise CodingError(f"no code suggestions yet: {exc}; keep coding") from None
    by_doc: dict[str, list[int]] = {}
    for i, (u, _) in enumerate(units):
        by_doc.setdefault(u.document_id, []).append(i)
    return _cache_put(_MODEL_CACHE, key, _Trained(model, units, coded, train, texts,
                                                  {d: tuple(v) for d, v in by_doc.items()}), MODEL_CACHE_SIZE)


def _unit_texts(s: Session, units) -> tuple[str, ...]:
    docs = {d: s.get(Document, d).text for d in {u.document_id for u, _ in units}}
    return tuple(docs[u.document_id][u.start:u.end] for u, _ in units)


def _quote(s: Session, info: UnitInfo, attribution: str = "") -> Quote:
    text = s.get(Document, info.document_id).text
    return Quote(info.document_id, info.document, info.start, info.end, text[info.start:info.end],
                 info.speaker, attribution)


def suggest_codes(s: Session, project: Project, member: Member, document: Document, start: int, end: int, *,
                  layer: str = "own", top: int = 5) -> list[CodeHint]:
    """Up to ``top`` codes for ``[start, end)`` of ``document``, learned from ``member``'s own
    coded units (a lead may choose a layer), each with the nearest coded unit as evidence.
    A code the layer already has on text overlapping the span is not suggested again.
    Refused with the reason while there is too little data; empty when the span holds no
    content words of a participant (e.g. the interviewer's question)."""
    m = require(s, member, Action.READ_CODINGS, project, document)
    if document.project_id != project.id:
        raise NotFoundError(f"document {document.name!r} is not in {project.name!r}")
    tr = _trained(s, project, m, layer)
    query = [w for i in tr.by_doc.get(document.id, ())
             if tr.units[i][0].start < end and start < tr.units[i][0].end for w in tr.units[i][0].features]
    if not query:
        return []
    tree = code_tree(s, project)
    here = set(s.scalars(_layer_query(s, m, layer, Coding.code_id).where(
        Coding.document_id == document.id, Coding.start < end, Coding.end > start)))
    out = []
    for hint in tr.model.suggest(query, top=top + 5 + len(here), text=document.text[start:end]):
        info = tree.info.get(hint.code_id)
        if info is None or not info.codable or not info.visible_to(m.id, m.is_lead) or hint.code_id in here:
            continue  # deleted, made a folder, another coder's proposal, or already on this text
        out.append(CodeHint(hint.code_id, info.path, hint.score, _quote(s, tr.units[tr.train[hint.evidence]][1])))
        if len(out) == top:
            break
    return out


def accept_code_suggestion(s: Session, project: Project, member: Member, sel: BrowserSelection, code_id: str, *,
                           document_id: str, suggestion: str = "") -> list[Coding]:
    """Code exactly the browser selection ``sel`` with ``code_id`` (provenance 'suggested'),
    checked as a typed coding is (:func:`coding.work.codings.resolve_selection`: a stale selection is
    refused), and log the accept. Nothing is logged when the member had that coding already."""
    from coding.work.codings import apply_to_selection

    m = require(s, member, Action.WRITE_OWN_CODINGS, project)
    made = apply_to_selection(s, project, m, sel, [code_id], document_id=document_id,
                              provenance=PROVENANCE_SUGGESTED)
    if made:
        log_event(s, project.id, m, "suggestion.accept", "document", made[0].document_id,
                  codings=[coding_dict(c) for c in made], suggestion=suggestion, model="codes")
    return made


def reject_for_selection(s: Session, project: Project, member: Member, sel: BrowserSelection, code_id: str, *,
                         document_id: str, suggestion: str = "") -> None:
    """Log that ``member`` rejected ``code_id`` for the browser selection ``sel`` (checked)."""
    doc, start, end = resolve_selection(s, project, sel, document_id=document_id)
    _codable(s, project, code_id)
    reject_code_suggestion(s, project, member, doc, code_id, start, end, suggestion=suggestion)


def _codable(s: Session, project: Project, code_id: str):
    info = code_tree(s, project).info.get(code_id)
    if info is None:
        raise NotFoundError(f"code {code_id!r} is not in the codebook of {project.name!r} (merged or deleted?): "
                            "reload the page")
    if not info.codable:
        raise CodingError(f"'{info.path}' is a folder, not a codable code: pick one of its children")
    return info


@dataclass(frozen=True)
class Precision:
    """Accepted and rejected suggestions of one member (from the event log)."""

    accepted: int
    rejected: int

    @property
    def value(self) -> float | None:
        n = self.accepted + self.rejected
        return self.accepted / n if n else None

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "rejected": self.rejected,
                "precision": None if self.value is None else round(self.value, 3)}


def suggestion_precision(s: Session, project: Project, member: Member, *, of: str | None = None,
                         model: str | None = "codes") -> Precision:
    """Live precision, accepted / (accepted + rejected), of the suggestions member ``of`` (a
    member id; default the acting member) decided on. ``model``: 'codes' (the coding page),
    'more' (find more like a code), 'themes', or None for all. A quote accepted from a theme
    counts once per coding made. Coders see only their own; leads anyone's."""
    m = require(s, member, Action.READ_CODINGS, project)
    target = of or m.id
    if target != m.id and not can(m, Action.MEASURE_SUGGESTIONS):
        raise PermissionDeniedError(f"{m.name!r} is a coder: only their own suggestion precision is shown to them")
    accepted = rejected = 0
    for action, payload in s.execute(select(Event.action, Event.payload).where(
            Event.project_id == project.id, Event.actor_id == target,
            Event.action.in_(("suggestion.accept", "suggestion.reject")))):
        p = json.loads(payload)
        if model is not None and p.get("model") != model:
            continue
        if action == "suggestion.accept":
            accepted += len(p.get("codings") or [])
        else:
            rejected += 1
    return Precision(accepted, rejected)


# --- find more passages like a code ----------------------------------------------------

@dataclass(frozen=True)
class Passage:
    """An uncoded sentence the model scores high for a code; ``rank`` is the code's place among
    all codes for it (1: the model's first choice)."""

    code_id: str
    path: str
    score: float
    rank: int
    quote: Quote

    def as_dict(self) -> dict:
        return {"code": self.path, "score": round(self.score, 3), "rank": self.rank, **self.quote.as_dict()}


def _dismissed_spans(s: Session, project: Project, member: Member, code_id: str) -> dict[str, list[tuple[int, int]]]:
    """Spans where ``member`` rejected ``code_id`` (on the coding page or in 'find more')."""
    out: dict[str, list[tuple[int, int]]] = {}
    for doc_id, payload in s.execute(select(Event.object_id, Event.payload).where(
            Event.project_id == project.id, Event.actor_id == member.id, Event.action == "suggestion.reject")):
        p = json.loads(payload)
        if p.get("code_id") == code_id:
            out.setdefault(doc_id, []).append((p["start"], p["end"]))
    return out


def _code_scores(tr: _Trained, code_id: str, candidates) -> dict[int, tuple[float, int]]:
    """(score, rank) of ``code_id`` for each candidate unit (computed once per model and unit)."""
    known = tr.scores.setdefault(code_id, {})
    todo = [i for i in candidates if i not in known]
    if todo and code_id in tr.model.code_ids:
        j = tr.model.code_ids.index(code_id)
        P, _, _ = tr.model.scores([list(tr.units[i][0].features) for i in todo], [tr.texts[i] for i in todo])
        ranks = (P > P[:, [j]]).sum(axis=1) + 1
        for n, i in enumerate(todo):
            known[i] = (float(P[n, j]), int(ranks[n]))
    return {i: known.get(i, (0.0, 0)) for i in candidates}


def more_like_code(s: Session, project: Project, member: Member, code_id: str, *, document: Document | None = None,
                   top: int = 10, layer: str = "own") -> list[Passage]:
    """The ``top`` sentences of ``document`` (or of the whole project) that ``member``'s layer has
    not coded at all, ranked by the model's score for ``code_id``, with quotes. Sentences where
    the member rejected or dismissed this code are not offered again; neither are the
    interviewer's, nor sentences of fewer than three content words."""
    from coding.nlp.recommend import MIN_EXAMPLES
    from coding.nlp.themes import MIN_TERMS

    m = require(s, member, Action.READ_CODINGS, project, *([document] if document is not None else []))
    if document is not None and document.project_id != project.id:
        raise NotFoundError(f"document {document.name!r} is not in {project.name!r}")
    info = _codable(s, project, code_id)
    tr = _trained(s, project, m, layer)
    examples = sum(code_id in tr.coded[i] for i in tr.train)
    if examples < MIN_EXAMPLES:
        raise CodingError(f"'{info.path}' has {examples} coded sentence(s) in {'your' if layer == 'own' else 'the'} "
                          f"codings; finding more like it needs {MIN_EXAMPLES}: code a few more with it first")
    dismissed = _dismissed_spans(s, project, m, code_id)
    pool = tr.by_doc.get(document.id, ()) if document is not None else range(len(tr.units))
    candidates = [i for i in pool if not tr.coded[i] and len(tr.units[i][0].terms) >= MIN_TERMS
                  and not any(a < tr.units[i][0].end and tr.units[i][0].start < b
                              for a, b in dismissed.get(tr.units[i][0].document_id, ()))]
    scores = _code_scores(tr, code_id, candidates)
    best = sorted((i for i in candidates if scores[i][0] > 0), key=lambda i: (-scores[i][0], i))[:top]
    docs = [s.get(Document, d) for d in {tr.units[i][1].document_id for i in best}]
    attribution = _attributions(s, project, docs)
    return [Passage(code_id, info.path, scores[i][0], scores[i][1],
                    _quote(s, tr.units[i][1], attribution.get(tr.units[i][1].document_id, ""))) for i in best]


def _project_document(s: Session, project: Project, document_id: str) -> Document:
    doc = s.get(Document, document_id)
    if doc is None or doc.project_id != project.id:
        raise NotFoundError(f"document {document_id!r} is not in {project.name!r} (deleted?): find the passages again")
    return doc


def code_passage(s: Session, project: Project, member: Member, code_id: str, document_id: str, start: int,
                 end: int, *, suggestion: str = "") -> list[Coding]:
    """Code a passage offered by :func:`more_like_code` (provenance 'suggested') and log the accept."""
    m = require(s, member, Action.WRITE_OWN_CODINGS, project)
    doc = _project_document(s, project, document_id)
    made = apply_codes(s, project, m, doc, [code_id], start, end, provenance=PROVENANCE_SUGGESTED)
    if made:
        log_event(s, project.id, m, "suggestion.accept", "document", doc.id,
                  codings=[coding_dict(c) for c in made], suggestion=suggestion, model="more")
    return made


def dismiss_passage(s: Session, project: Project, member: Member, code_id: str, document_id: str, start: int,
                    end: int, *, suggestion: str = "") -> None:
    """Log that the passage does not fit ``code_id``: it is not offered for that code again."""
    doc = _project_document(s, project, document_id)
    _codable(s, project, code_id)
    reject_code_suggestion(s, project, member, doc, code_id, start, end, suggestion=suggestion, model="more")


# --- keyphrases per document or participant group ----------------------------------------

@dataclass(frozen=True)
class Keyphrase:
    text: str
    score: float        # z-score of the log-odds ratio against the rest
    count: int          # in the group
    rest: int           # in the other groups
    example: Quote      # the first sentence of the group holding it

    def as_dict(self) -> dict:
        return {"text": self.text, "score": round(self.score, 2), "count": self.count, "rest": self.rest,
                "example": self.example.as_dict()}


@dataclass(frozen=True)
class KeyphraseGroup:
    group: str
    documents: int
    sentences: int
    phrases: tuple[Keyphrase, ...]

    def as_dict(self) -> dict:
        return {"group": self.group, "documents": self.documents, "sentences": self.sentences,
                "phrases": [k.as_dict() for k in self.phrases]}


def keyphrase_groupings(s: Session, project: Project, member: Member) -> list[str]:
    """What keyphrases can be grouped by: 'document', then every attribute name in the project."""
    require(s, member, Action.READ_PROJECT, project)
    names = s.scalars(select(Attribute.name).join(Document, Document.id == Attribute.document_id)
                      .where(Document.project_id == project.id).distinct())
    return ["document", *sorted(set(names))]


def keyphrases(s: Session, project: Project, member: Member, *, by: str = "document",
               top: int = 10) -> list[KeyphraseGroup]:
    """The terms and phrases that set each group apart from the rest (log-odds ratio with an
    informative Dirichlet prior, :mod:`coding.nlp.keyphrases`), over the participants'
    sentences from the processing cache. Groups: each document, or each value of the
    attribute ``by`` (documents without it are left out). The text is the same for every
    member and no coding is used, so nobody's work changes anybody's keyphrases."""
    from coding.nlp.keyphrases import log_odds, without_overlaps

    require(s, member, Action.READ_PROJECT, project)
    if top < 1:
        raise CodingError(f"top must be at least 1 (got {top})")
    groupings = keyphrase_groupings(s, project, member)
    if by not in groupings:
        raise CodingError(f"cannot group keyphrases by {by!r}: use one of {', '.join(groupings)}")
    _, units = _cached_units(s, project, "sentence")
    docs = list(s.scalars(select(Document).where(Document.project_id == project.id)))
    if by == "document":
        group_of = {d.id: d.name for d in docs}
    else:
        group_of = dict(s.execute(select(Attribute.document_id, Attribute.value).where(
            Attribute.document_id.in_([d.id for d in docs]), Attribute.name == by, Attribute.value != "")).all())
    counts: dict[str, Counter] = {}
    members: dict[str, list[int]] = {}
    for i, (u, _) in enumerate(units):
        g = group_of.get(u.document_id)
        if g is not None:
            counts.setdefault(g, Counter()).update(u.features)
            members.setdefault(g, []).append(i)
    total = sum(counts.values(), Counter())
    attribution = _attributions(s, project, docs)
    out = []
    for g in sorted(counts):
        chosen = without_overlaps(log_odds(counts[g], total - counts[g]), top)
        phrases = []
        for k in chosen:
            at = next(i for i in members[g] if k.feature in units[i][0].features)
            info = units[at][1]
            phrases.append(Keyphrase(k.feature, k.z, k.count, k.rest, _quote(s, info, attribution.get(info.document_id, ""))))
        out.append(KeyphraseGroup(g, len({units[i][0].document_id for i in members[g]}), len(members[g]), tuple(phrases)))
    return out
