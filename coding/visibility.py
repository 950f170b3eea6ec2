"""The blind rule, in one place: what one member may see of other members' work.

While a document is in an open blind round, a coder sees only their own work on
it: their codings (of any layer), their document memos and the memos of their
codings, counts of those, and events about them. A lead sees everything; once
the round is revealed, everyone sees everything on its documents. Work with no
document (the project journal) is not covered by the rule.

The rule is :meth:`Visibility.sees` (in Python) and :meth:`Visibility.clause`
(the same rule as SQL); codings, memos, counts, events, agreement,
adjudication, snapshots, exports and suggestions all use one or the other.
Consensus codings are written by a lead, so on a blind document a coder does
not see them either: a consensus decided during the round would otherwise carry
the other coder's spans.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import Session

from .access import current
from .projects import Member
from .store.models import Assignment, Coding, Memo, Round


def blind_document_ids(s: Session, project_id: str) -> set[str]:
    """Documents of the project that are in an open, blind round."""
    return set(s.scalars(
        select(Assignment.document_id).join(Round, Round.id == Assignment.round_id)
        .where(Round.project_id == project_id, Round.status == "open", Round.blind.is_(True))
    ))


@dataclass(frozen=True)
class Visibility:
    """What ``member_id`` may see in ``project_id`` now; build it with :func:`visibility`."""

    member_id: str
    project_id: str
    is_lead: bool
    blind: frozenset[str]  # documents in open blind rounds (hidden work only for a coder)

    @property
    def restricted(self) -> bool:
        """True when some work of others is hidden from this member right now."""
        return not self.is_lead and bool(self.blind)

    def sees_all_of(self, document_id: str | None) -> bool:
        """Whether every member's work on ``document_id`` is visible (no blind round hides it)."""
        return self.is_lead or document_id is None or document_id not in self.blind

    def sees(self, document_id: str | None, author_id: str | None) -> bool:
        """The blind rule: may this member see ``author_id``'s work on ``document_id``?"""
        return self.sees_all_of(document_id) or (author_id is not None and author_id == self.member_id)

    def clause(self, document_col, author_col) -> ColumnElement[bool]:
        """:meth:`sees` as a SQL condition on a document column and an author column."""
        if not self.restricted:
            return true()
        return or_(author_col == self.member_id, document_col.is_(None),
                   document_col.not_in(sorted(self.blind)))

    def codings(self) -> ColumnElement[bool]:
        """WHERE clause keeping the project's codings this member may see."""
        return and_(Coding.project_id == self.project_id, self.clause(Coding.document_id, Coding.coder_id))

    def memos(self) -> ColumnElement[bool]:
        """WHERE clause keeping the project's memos this member may see."""
        return and_(Memo.project_id == self.project_id, self.clause(Memo.document_id, Memo.author_id))


def visibility(s: Session, member: Member) -> Visibility:
    """The blind rule for ``member`` now: role reloaded from the database, open rounds read."""
    m = current(s, member)
    blind = frozenset() if m.is_lead else frozenset(blind_document_ids(s, m.project_id))
    return Visibility(m.id, m.project_id, m.is_lead, blind)


def visible_codings_query(s: Session, member: Member, *, document_id: str | None = None,
                          layer: str | None = None):
    """``select(Coding)`` of the codings ``member`` may see, optionally of one document and layer,
    in text order."""
    q = select(Coding).where(visibility(s, member).codings())
    if document_id is not None:
        q = q.where(Coding.document_id == document_id)
    if layer is not None:
        q = q.where(Coding.layer == layer)
    return q.order_by(Coding.start, Coding.end, Coding.id)
