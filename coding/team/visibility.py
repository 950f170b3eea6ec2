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

A code a coder proposed while coding is that coder's work too: until a lead accepts
it, only its proposer and leads see it (:meth:`Visibility.sees_code`), its codings,
and the codebook events about it (:func:`hidden_proposals`); change summaries count
only codings the reader sees (:meth:`Visibility.count_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import Session

from coding.team.access import current
from coding.team.members import Member
from coding.store.models import Assignment, Code, Coding, Event, Memo, Round


def code_visible(status: str | None, proposed_by: str | None, member_id: str, is_lead: bool) -> bool:
    """A proposed code is seen by the coder who proposed it and by leads only."""
    return status != "proposed" or is_lead or (proposed_by is not None and proposed_by == member_id)


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

    def sees_code(self, status: str | None, proposed_by: str | None) -> bool:
        """May this member see a code (and its codings)? Not another coder's proposal."""
        return code_visible(status, proposed_by, self.member_id, self.is_lead)

    def code_clause(self) -> ColumnElement[bool]:
        """:meth:`sees_code` as a SQL condition on ``codes``."""
        if self.is_lead:
            return true()
        return or_(Code.status != "proposed", Code.proposed_by == self.member_id)

    def codes(self) -> ColumnElement[bool]:
        """WHERE clause keeping the project's codes this member may see."""
        return and_(Code.project_id == self.project_id, self.code_clause())

    def codings(self) -> ColumnElement[bool]:
        """WHERE clause keeping the project's codings this member may see: the blind rule,
        and no coding of a code proposed by another coder."""
        where = and_(Coding.project_id == self.project_id, self.clause(Coding.document_id, Coding.coder_id))
        if self.is_lead:
            return where
        others = select(Code.id).where(Code.project_id == self.project_id, Code.status == "proposed",
                                       or_(Code.proposed_by.is_(None), Code.proposed_by != self.member_id))
        return and_(where, Coding.code_id.not_in(others))

    def count_rows(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """How many of these coding rows (as events record them: ``document_id``,
        ``coder_id``) this member may see; for summaries such as "10 codings moved"."""
        return sum(1 for r in rows if self.sees(r.get("document_id"), r.get("coder_id")))

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


def hidden_proposals(s: Session, vis: Visibility) -> dict[str, int | None]:
    """Codes proposed by another member, which ``vis``'s member may not know of, each with
    the ``seq`` of the event that accepted it (None: never accepted, i.e. still a proposal,
    or rejected). Events about such a code before its acceptance are not theirs to see:
    its proposal, a lead renaming it, its rejection and the merge or delete that followed."""
    if vis.is_lead:
        return {}
    proposed = {cid for cid, actor in s.execute(
        select(Event.object_id, Event.actor_id).where(Event.project_id == vis.project_id,
                                                      Event.action == "code.propose"))
        if cid and actor != vis.member_id}
    if not proposed:
        return {}
    accepted = dict(s.execute(
        select(Event.object_id, Event.seq).where(Event.project_id == vis.project_id, Event.action == "code.accept",
                                                 Event.object_id.in_(sorted(proposed)))).all())
    return {cid: accepted.get(cid) for cid in proposed}


def sees_code_event(hidden: Mapping[str, int | None], seq: int, object_id: str | None,
                    payload: Mapping[str, Any] | None) -> bool:
    """Whether a ``code.*`` event is visible, given :func:`hidden_proposals`: not when it is
    about (names, merges, moves under) a hidden proposal before that was accepted."""
    if not hidden:
        return True
    about = {object_id}
    p = payload or {}
    for side in ("before", "after"):
        part = p.get(side)
        if isinstance(part, dict):
            about |= {part.get("parent_id"), (part.get("source") or {}).get("id")}
            about |= {c.get("id") for c in part.get("codes") or () if isinstance(c, dict)}
    for cid in about - {None}:
        if cid in hidden and (hidden[cid] is None or seq < hidden[cid]):
            return False
    return True
