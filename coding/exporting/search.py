"""Plain-text search across a project's transcripts, with each hit in context."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.team.access import Action, require
from coding.errors import CodingError
from coding.team.members import Member
from coding.store.models import Document, Project, SpeakerTurn


@dataclass(frozen=True)
class Hit:
    document: str
    document_id: str
    start: int            # code points of the stored text
    end: int
    before: str
    match: str
    after: str
    speaker: str          # of the turn the hit is in ("" without turns)


def search_corpus(s: Session, project: Project, member: Member, query: str, *,
                  documents: Iterable[str] | None = None, context: int = 80, limit: int = 500) -> list[Hit]:
    """Every literal, case-insensitive occurrence of ``query`` in the stored text of the
    project's documents (or those named), in document and text order, at most ``limit``."""
    require(s, member, Action.READ_PROJECT, project)
    query = (query or "").strip()
    if not query:
        raise CodingError("the search is empty: type a word or phrase to find")
    if len(query) > 500:
        raise CodingError("the search is over 500 characters: shorten it")
    pattern = re.compile(re.escape(query), re.IGNORECASE)
    q = select(Document.id, Document.name, Document.text).where(Document.project_id == project.id)
    if documents is not None:
        q = q.where(Document.name.in_(list(documents)))
    hits: list[Hit] = []
    for doc_id, name, text in s.execute(q.order_by(Document.name)):
        found = list(pattern.finditer(text))
        if not found:
            continue
        turns = s.execute(select(SpeakerTurn.start, SpeakerTurn.speaker).where(SpeakerTurn.document_id == doc_id)
                          .order_by(SpeakerTurn.start)).all()
        starts = [t.start for t in turns]
        for m in found:
            i = bisect.bisect_right(starts, m.start()) - 1
            hits.append(Hit(name, doc_id, m.start(), m.end(), text[max(0, m.start() - context):m.start()],
                            m.group(0), text[m.end():m.end() + context], turns[i].speaker if i >= 0 else ""))
            if len(hits) >= limit:
                return hits
    return hits
