"""What every suggestion is computed from: units, the member's layer, the trained model, quotes.

Units (sentences or speaker turns, the interviewer's left out) are built from the processing
cache (:mod:`coding.suggest.processing`); which of them count as coded, and which coded text
trains the member's code model, is the member's *layer* (own, all, consensus: the blind rule,
see :mod:`coding.suggest.suggestions`). Units per document set and models per (project,
member, layer, units, spans) are kept in two small in-process LRU caches.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.codebook.tree import code_tree
from coding.errors import CodingError, PermissionDeniedError
from coding.team.members import Member
from coding.store.models import Attribute, Coding, Document, NlpCache, Project, SpeakerTurn
from coding.team.visibility import visibility
from coding.suggest.processing import _analyses, _pipeline_names

UNITS = ("sentence", "turn")
LAYERS = ("own", "all", "consensus")


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


def _closing(units, docs) -> set[int]:
    """Indexes of the units that close an interview politely (:func:`coding.nlp.fillers.closing_units`)."""
    from coding.nlp.fillers import closing_units
    from coding.nlp.themes import is_interviewer

    last: dict[str, int] = {}
    for d in docs:
        asked = [t for t in d.turns if is_interviewer(t.speaker)]
        # the interviewer's last word, when it asks nothing ("Thank you very much"), ends the interview;
        # an answer to a last question is data
        if asked and "?" not in d.text[asked[-1].start:asked[-1].end]:
            last[d.id] = asked[-1].start
    return closing_units([u for u, _ in units], last)


# --- quotes -------------------------------------------------------------------------

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


def _quote(s: Session, info: UnitInfo, attribution: str = "") -> Quote:
    text = s.get(Document, info.document_id).text
    return Quote(info.document_id, info.document, info.start, info.end, text[info.start:info.end],
                 info.speaker, attribution)


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


# --- the member's trained code model ------------------------------------------------

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
