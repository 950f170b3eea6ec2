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
from coding.suggest.units import Quote, _attributions, _coded_by, _layer_spans, _units


# --- emergent themes ------------------------------------------------------------------

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
