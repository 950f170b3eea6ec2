"""Emptying a document memo removes it (issue 17, item 7: the memo box saves what the member
leaves in it, an empty box included), logged with the text it held; only the member's own
memo goes; an empty new memo is still refused. On harbour."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from coding.errors import CodingError
from coding.store.models import Event, Memo
from coding.work.documents import get_document
from coding.work.memos import document_memo, save_document_memo


def test_emptying_removes_only_the_members_own_memo_and_logs_it(team):
    with team.store.session() as s:
        p = team.project(s)
        doc = get_document(s, p, "Docker_01")
        save_document_memo(s, p, team.member(s, "tom"), doc, "Gangs and the foreman.")
        save_document_memo(s, p, team.member(s, "li"), doc, "Li's reading.")
    with team.store.session() as s:
        p = team.project(s)
        doc = get_document(s, p, "Docker_01")
        assert save_document_memo(s, p, team.member(s, "tom"), doc, " \n ") is None
    with team.store.session() as s:
        p = team.project(s)
        doc = get_document(s, p, "Docker_01")
        assert document_memo(s, p, team.member(s, "tom"), doc) is None
        assert [m.text for m in s.scalars(select(Memo).where(Memo.document_id == doc.id))] == ["Li's reading."]
        last = s.scalars(select(Event).where(Event.action == "memo.document").order_by(Event.seq.desc())).first()
        assert last.actor == "tom"
        assert (json.loads(last.payload)["before"], json.loads(last.payload)["after"]) == ("Gangs and the foreman.", "")


def test_an_empty_new_memo_is_still_refused(team):
    with team.store.session() as s:
        p = team.project(s)
        with pytest.raises(CodingError, match="empty"):
            save_document_memo(s, p, team.member(s, "tom"), get_document(s, p, "Docker_02"), "")
        assert s.scalar(select(Memo).where(Memo.document_id == get_document(s, p, "Docker_02").id)) is None
