"""Emergent themes: candidate themes from the text the member has not coded, and what a
member does with one (dismiss it, code its quotes, make or propose a code from it).

Computed from the member's layer (:mod:`coding.suggest.units`), so the blind rule holds
(:mod:`coding.suggest.suggestions`); a dismissal is a ``suggestion.dismiss`` event, an
accepted quote a ``suggestion.accept`` event with ``model`` 'themes'.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.team.access import Action, require
from coding.codebook.tree import code_tree
from coding.work.codings import PROVENANCE_SUGGESTED, apply_codes
from coding.errors import NotFoundError
from coding.team.events import log_event
from coding.team.members import Member
from coding.store.models import Code, Coding, Document, Event, Project
from coding.suggest.units import Quote, _attributions, _closing, _coded_by, _layer_spans, _units


# --- emergent themes ------------------------------------------------------------------

RESTATES = 0.5  # cosine between a theme and a code's profile from which the theme restates the code


@dataclass(frozen=True)
class ThemeView:
    rank: int
    label: tuple[str, ...]  # the name first, then what ties its quotes
    units: int
    documents: int
    participants: int
    quotes: tuple[Quote, ...]
    nearest_code: str | None  # the code's path
    nearest_code_id: str | None
    nearest_score: float
    cohesion: float
    why: tuple[str, ...] = ()  # the words and phrases its quotes share besides the name
    language: str = ""
    nearest_note: str = ""  # why there is no nearest code, or how it was judged

    @property
    def name(self) -> str:
        """The candidate code name: a short phrase from the parse."""
        return self.label[0] if self.label else ""

    @property
    def title(self) -> str:
        return self.name

    @property
    def restates(self) -> bool:
        """Whether the theme says what an existing code already says (see :attr:`nearest_code`)."""
        return self.nearest_code is not None and self.nearest_score >= RESTATES

    def draft_definition(self) -> str:
        tied = f"; its passages also speak of {', '.join(self.why)}" if self.why else ""
        return (f"Passages about {self.name}{tied} (drafted from a suggested theme: "
                f"{self.units} units in {self.documents} documents).")

    def as_dict(self) -> dict:
        return {"rank": self.rank, "name": self.name, "label": list(self.label), "why": list(self.why),
                "units": self.units, "documents": self.documents,
                "participants": self.participants, "quotes": [q.as_dict() for q in self.quotes],
                "nearest_code": self.nearest_code, "nearest_score": round(self.nearest_score, 3),
                "restates": self.restates, "nearest_note": self.nearest_note, "language": self.language,
                "cohesion": round(self.cohesion, 3)}


def dismissed_labels(s: Session, project: Project, member: Member) -> list[list[str]]:
    """Labels of the themes ``member`` dismissed (remembered in the event log)."""
    m = require(s, member, Action.READ_CODINGS, project)
    rows = s.scalars(select(Event.payload).where(Event.project_id == project.id, Event.actor_id == m.id,
                                                 Event.action == "suggestion.dismiss"))
    return [json.loads(p).get("label") or [] for p in rows]


def _name_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[^\W\d_]{3,}", text.lower())]


def emergent_themes(s: Session, project: Project, member: Member, *, unit: str = "sentence",
                    layer: str = "own", method: str | None = None, limit: int = 20,
                    include_dismissed: bool = False) -> list[ThemeView]:
    """Ranked candidate themes from the units ``member`` has not coded (see the module doc).

    Per document language: words general in that language's text are never a theme's name
    alone; a theme's nearest code is judged from what the layer coded in the same language
    (and the codes' names); with nothing coded in that language, from the names alone, and
    the theme says so (:attr:`ThemeView.nearest_note`)."""
    from coding.nlp.fillers import general_terms
    from coding.nlp.themes import METHOD, find_themes, is_interviewer, jaccard

    m = require(s, member, Action.READ_CODINGS, project)
    docs, units = _units(s, project, unit)
    coded = _coded_by(units, _layer_spans(s, m, layer))
    tree = code_tree(s, project)
    lang_of = {d.id: d.language for d in docs}
    names: dict[str, list[str]] = {}
    for info in tree.infos:
        c = tree.by_id[info.id]
        if info.codable and getattr(c, "status", "active") == "active":
            names[info.id] = _name_words(f"{c.name} {c.definition}")
    # what the member's (layer's) coded text says about each code, per language
    coded_text: dict[str, dict[str, list[str]]] = {}
    for (u, _), cs in zip(units, coded):
        for cid in cs:
            coded_text.setdefault(lang_of[u.document_id], {}).setdefault(cid, []).extend(u.features)
    closing = _closing(units, docs)
    # Themes per document language, each contrasted with what the member (layer) has coded in that
    # language (coded English says nothing about Spanish words), interleaved by rank in proportion
    # to each language's share of the uncoded units.
    free: dict[str, list[int]] = {}
    every: dict[str, list] = {}
    background: dict[str, list[list[str]]] = {}
    for i, cs in enumerate(coded):
        lang = lang_of[units[i][0].document_id]
        every.setdefault(lang, []).append(units[i][0])
        if cs:
            background.setdefault(lang, []).append(list(units[i][0].features))
        elif i not in closing:
            free.setdefault(lang, []).append(i)
    n_free = sum(len(v) for v in free.values())
    ranked = []
    for lang, idx in sorted(free.items()):
        here = coded_text.get(lang, {})
        profiles = {cid: here.get(cid, []) + words for cid, words in names.items()}
        note = "" if here else (f"nothing is coded in this language ({lang}) in this layer yet: "
                                "the nearest code is judged by code names only")
        found = find_themes([units[i][0] for i in idx], method=method or METHOD, code_profiles=profiles,
                            background=background.get(lang), limit=max(limit * 2, limit + 10),
                            general=general_terms(every[lang]))
        ranked += [((r + 1) * n_free / len(idx), lang, t, idx, note) for r, t in enumerate(found)]
    ranked.sort(key=lambda x: (x[0], x[1]))
    dismissed = [] if include_dismissed else dismissed_labels(s, project, m)
    texts = {d.id: d.text for d in docs}
    attribution = _attributions(s, project, docs)
    out: list[ThemeView] = []
    for _, lang, t, idx, note in ranked:
        if any(jaccard(t.label, d) >= 0.5 or (t.label and d and t.label[0] == d[0]) for d in dismissed):
            continue
        infos = [units[idx[i]][1] for i in t.members]
        parts = {(x.document_id, x.speaker) for x in infos if x.speaker and not is_interviewer(x.speaker)}
        quotes = tuple(Quote(q.document_id, q.document, q.start, q.end, texts[q.document_id][q.start:q.end],
                             q.speaker, attribution.get(q.document_id, ""))
                       for q in (units[idx[i]][1] for i in t.quotes))
        near_id, near_score = t.nearest_code if t.nearest_code and t.nearest_code[1] > 0 else (None, 0.0)
        if near_id is None and note:
            note = (f"nothing is coded in this language ({lang}) in this layer yet and no code name matches: "
                    "no nearest code")
        out.append(ThemeView(len(out) + 1, tuple(t.label), len(t.members), len({x.document_id for x in infos}),
                             len(parts) or len({x.document_id for x in infos}), quotes,
                             tree.info[near_id].path if near_id in tree.info else None,
                             near_id if near_id in tree.info else None, near_score, t.cohesion,
                             tuple(t.why), lang, note))
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


def code_from_theme(s: Session, project: Project, member: Member, name: str,
                    quotes: list[tuple[str, int, int]], *, parent_id: str | None = None, definition: str = "",
                    suggestion: str = "") -> tuple[Code, list[Coding]]:
    """"Create code from this": the code (added by a lead, proposed by a coder, as
    :func:`create_code_from_theme`) and the codings of exactly the ``quotes`` the member ticked
    (none ticked: the code alone); the first ticked quote is the code's example."""
    m = require(s, member, Action.WRITE_OWN_CODINGS, project)
    example = ""
    if quotes:
        doc = s.get(Document, quotes[0][0])
        example = doc.text[quotes[0][1]:quotes[0][2]] if doc is not None and doc.project_id == project.id else ""
    code = create_code_from_theme(s, project, m, name, parent_id=parent_id, definition=definition, example=example)
    s.flush()
    made = apply_to_quotes(s, project, m, code.id, quotes, suggestion=suggestion) if quotes else []
    return code, made


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
