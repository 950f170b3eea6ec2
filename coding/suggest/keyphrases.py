"""Keyphrases per document or participant group: the terms and phrases that set each group
apart from the rest. From the text only (the processing cache), never from codings, so
nobody's work changes anybody's keyphrases.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.team.access import Action, require
from coding.errors import CodingError
from coding.team.members import Member
from coding.store.models import Attribute, Document, Project
from coding.suggest.units import Quote, _attributions, _cached_units, _quote


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
