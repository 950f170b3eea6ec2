"""Small reads the pages make between engine calls: a document by id (with or without its text), the project's
documents by name, the participant attribute values, and a fingerprint of the codings.

Each starts with :func:`coding.team.access.require` and scopes ids to the member's
project; the fingerprint counts only the codings the member may see (the blind rule,
:mod:`coding.team.visibility`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from coding.errors import NotFoundError
from coding.store.models import Attribute, Coding, Document, Project
from coding.team.access import Action, check_scope, load, require
from coding.team.members import Member
from coding.team.visibility import visibility


class DocumentEntry(NamedTuple):
    """A document as a picker lists it (the text stays in the database)."""

    id: str
    name: str
    sha256: str


def document_by_id(s: Session, project: Project, member: Member, document_id: str) -> Document:
    """The document ``document_id`` of the member's project; another project's is refused."""
    m = require(s, member, Action.READ_PROJECT, project)
    return load(s, m, Document, document_id, "document")


def document_head(s: Session, project: Project, member: Member, document_id: str) -> Document:
    """The document ``document_id`` without its text (loaded only if read): for callers that
    need its id and scope, such as the coding page reading the codings on every rerun."""
    m = require(s, member, Action.READ_PROJECT, project)
    doc = s.get(Document, document_id, options=[defer(Document.text)]) if document_id else None
    if doc is None:
        raise NotFoundError(f"no document {document_id!r} in this project; it may have been removed: reload the page")
    check_scope(m, doc)
    return doc


def document_entries(s: Session, project: Project, member: Member,
                     names: Iterable[str] | None = None) -> list[DocumentEntry]:
    """The project's documents by name (only those named in ``names`` if given)."""
    require(s, member, Action.READ_PROJECT, project)
    q = select(Document.id, Document.name, Document.sha256).where(Document.project_id == project.id)
    if names is not None:
        q = q.where(Document.name.in_(list(names)))
    return [DocumentEntry(*row) for row in s.execute(q.order_by(Document.name))]


def attribute_values(s: Session, project: Project, member: Member) -> dict[str, set[str]]:
    """Every participant attribute of the project's documents, with the values it takes."""
    require(s, member, Action.READ_PROJECT, project)
    values: dict[str, set[str]] = {}
    for name, value in s.execute(select(Attribute.name, Attribute.value).join(Document)
                                 .where(Document.project_id == project.id)):
        values.setdefault(name, set()).add(value)
    return values


def codings_fingerprint(s: Session, project: Project, member: Member) -> tuple[int, int, datetime | None]:
    """(count, total length, latest creation) of the coder-layer codings the member sees:
    changes whenever one is added, removed or resized (a cache key for agreement figures)."""
    m = require(s, member, Action.COMPUTE_AGREEMENT, project)
    return tuple(s.execute(
        select(func.count(), func.coalesce(func.sum(Coding.end - Coding.start), 0), func.max(Coding.created_at))
        .where(visibility(s, m).codings(), Coding.layer == "coder")).one())
