"""Memos: own document memos under the blind rule, the journal (author-only edit), coding memos."""

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from coding.codebook.tree import code_tree, import_codebook, load_codebook_file
from coding.work.codings import apply_codes, set_memo
from coding.work.documents import import_uploads, list_documents
from coding.errors import CodingError, NotFoundError, PermissionDeniedError
from coding.work.memos import (
    add_journal_entry, coding_memos, document_memo, edit_journal_entry, journal, other_document_memos,
    save_document_memo,
)
from coding.team.projects import add_member, create_project
from coding.team.members import Member, get_member
from coding.work.rounds import assign, get_round, open_round, reveal
from coding.store.models import Coder, Event, Memo

REPO = Path(__file__).resolve().parents[2]
TEXT = ("Interviewer: How did planning go?\n\n"
        "Teacher: We planned together every Tuesday. Then we observed José 👏 teach it. It was hard.\n\n"
        "Interviewer: And feedback?\n")
LONG = "Interviewer: Tell me.\n\nTeacher: " + "très long récit " * 40 + "\n"
PLAN = "CIC Project/Collaboration between teachers/Joint planning"


@pytest.fixture
def env(store):
    with store.session() as s:
        p = create_project(s, "memos", lead_name="lead", local_mode=True)
        lead = Member.of(get_member(s, p, "lead"))
        import_codebook(s, p, load_codebook_file(REPO / "codebooks" / "cic.yaml"), member=lead)
        import_uploads(s, p, [("T1.txt", TEXT.encode()), ("T2.txt", LONG.encode())], actor=lead)
        ana = Member.of(add_member(s, p, "ana", "coder", actor=lead))
        ben = Member.of(add_member(s, p, "ben", "coder", actor=lead))
    return store, p, ana, ben, lead


def _docs(s, p):
    return {d.name: d for d in list_documents(s, p)}


def _events(s, p, action):
    return list(s.scalars(select(Event).where(Event.project_id == p.id, Event.action == action)
                          .order_by(Event.seq)))


def test_each_member_has_their_own_document_memo_and_saving_logs_before_after(env):
    store, p, ana, ben, lead = env
    with store.session() as s:
        doc = _docs(s, p)["T1"]
        assert document_memo(s, p, ana, doc) is None
        first = save_document_memo(s, p, ana, doc, "Planning is a strong theme.")
        save_document_memo(s, p, ben, doc, "Ben's reading: José is the key figure.")
    with store.session() as s:
        doc = _docs(s, p)["T1"]
        again = save_document_memo(s, p, ana, doc, "Planning, and observation of José 👏.")
        assert again.id == first.id  # updated, not a second memo
        assert document_memo(s, p, ana, doc).text == "Planning, and observation of José 👏."
        assert document_memo(s, p, ben, doc).text.startswith("Ben's reading")
        assert s.scalar(select(Memo.id).where(Memo.document_id == doc.id, Memo.author_id == ana.id)) == first.id
        assert len(list(s.scalars(select(Memo).where(Memo.document_id == doc.id)))) == 2
        evs = _events(s, p, "memo.document")
        assert [e.actor for e in evs] == ["ana", "ben", "ana"]
        last = json.loads(evs[-1].payload)
        assert last["before"] == "Planning is a strong theme."
        assert last["after"] == "Planning, and observation of José 👏."
        assert last["document"] == doc.id and evs[-1].object_id == first.id
        assert json.loads(evs[0].payload)["before"] is None
        # saving the same text again changes nothing and logs nothing
        save_document_memo(s, p, ana, doc, "Planning, and observation of José 👏.")
        assert len(_events(s, p, "memo.document")) == 3


def test_blind_round_hides_other_members_document_memos_from_coders(env):
    store, p, ana, ben, lead = env
    with store.session() as s:
        doc = _docs(s, p)["T1"]
        save_document_memo(s, p, ana, doc, "ana's memo")
        save_document_memo(s, p, ben, doc, "ben's memo")
        save_document_memo(s, p, lead, doc, "lead's memo")
        # no round yet: coders may read each other's memos
        assert [n for n, _ in other_document_memos(s, p, ana, doc)] == ["ben", "lead"]
        rnd = open_round(s, p, lead, "R1", blind=True)
        coders = list(s.scalars(select(Coder).where(Coder.name.in_(["ana", "ben"]))))
        assign(s, p, lead, rnd, [doc], coders)
    with store.session() as s:
        doc = _docs(s, p)["T1"]
        assert other_document_memos(s, p, ana, doc) == []
        assert other_document_memos(s, p, ben, doc) == []
        assert document_memo(s, p, ben, doc).text == "ben's memo"  # one's own stays visible
        assert {n: m.text for n, m in other_document_memos(s, p, lead, doc)} == {
            "ana": "ana's memo", "ben": "ben's memo"}
        # a document outside the round is not blind
        other = _docs(s, p)["T2"]
        save_document_memo(s, p, ben, other, "on T2")
        assert [n for n, _ in other_document_memos(s, p, ana, other)] == ["ben"]
        reveal(s, p, lead, get_round(s, p, "R1"))
    with store.session() as s:
        doc = _docs(s, p)["T1"]
        assert [n for n, _ in other_document_memos(s, p, ana, doc)] == ["ben", "lead"]


def test_empty_memo_or_foreign_member_is_refused(env, store):
    _, p, ana, _, _ = env
    with store.session() as s:
        doc = _docs(s, p)["T1"]
        with pytest.raises(CodingError, match="empty"):
            save_document_memo(s, p, ana, doc, "   \n")
        stranger = Member("x", "stranger", "lead", "another-project")
        with pytest.raises(PermissionDeniedError, match="no longer a member"):
            save_document_memo(s, p, stranger, doc, "hello")
        assert list(s.scalars(select(Memo))) == []


def test_journal_newest_first_readable_by_all_and_edited_by_author_or_lead(env):
    store, p, ana, ben, lead = env
    with store.session() as s:
        first = add_journal_entry(s, p, ana, "Open coding", "Started with P01; many codes on planning.")
    with store.session() as s:
        second = add_journal_entry(s, p, ben, "Axial coding", "Merged *support* codes.")
    with store.session() as s:
        for m in (ana, ben, lead):
            assert [e.id for e in journal(s, p, m)] == [second.id, first.id]
        with pytest.raises(PermissionDeniedError, match="cannot edit another member's journal entry"):
            edit_journal_entry(s, p, ben, first.id, "Hijacked", "x")
        edit_journal_entry(s, p, ana, first.id, "Open coding (P01-P03)", "Started with P01-P03.")
        edit_journal_entry(s, p, lead, second.id, "Axial coding", "Merged the support codes.")
    with store.session() as s:
        entries = {e.id: e for e in journal(s, p, ben)}
        assert entries[first.id].title == "Open coding (P01-P03)"
        assert entries[second.id].text == "Merged the support codes."
        assert entries[first.id].author_id == ana.id
        assert entries[first.id].updated_at >= entries[first.id].created_at
        assert [e.actor for e in _events(s, p, "memo.journal.add")] == ["ana", "ben"]
        edits = _events(s, p, "memo.journal.edit")
        assert [e.actor for e in edits] == ["ana", "lead"]
        payload = json.loads(edits[0].payload)
        assert payload["before"] == {"title": "Open coding", "text": "Started with P01; many codes on planning."}
        assert payload["after"]["title"] == "Open coding (P01-P03)"
        # document memos are not journal entries
        save_document_memo(s, p, ana, _docs(s, p)["T1"], "doc memo")
        assert len(journal(s, p, ana)) == 2


def test_journal_entry_needs_title_and_text(env):
    store, p, ana, _, _ = env
    with store.session() as s:
        with pytest.raises(CodingError, match="no title"):
            add_journal_entry(s, p, ana, "  ", "text")
        with pytest.raises(CodingError, match="empty"):
            add_journal_entry(s, p, ana, "Title", "")
        with pytest.raises(CodingError, match="over the 300 limit"):
            add_journal_entry(s, p, ana, "x" * 301, "text")
        e = add_journal_entry(s, p, ana, "Title", "text")
        with pytest.raises(CodingError, match="no title"):
            edit_journal_entry(s, p, ana, e.id, "", "text")
        with pytest.raises(NotFoundError, match="no journal entry"):
            edit_journal_entry(s, p, ana, "no-such-id", "T", "t")
        doc_memo = save_document_memo(s, p, ana, _docs(s, p)["T1"], "a document memo")
        with pytest.raises(NotFoundError, match="no journal entry"):
            edit_journal_entry(s, p, ana, doc_memo.id, "T", "t")


def test_coding_memos_follow_the_blind_rule_and_quote_the_text(env):
    store, p, ana, ben, lead = env
    with store.session() as s:
        docs = _docs(s, p)
        plan = code_tree(s, p).resolve(PLAN).id
        phrase = "Then we observed José 👏 teach it."
        i = TEXT.index(phrase)
        a = apply_codes(s, p, ana, docs["T1"], [plan], i, i + len(phrase), memo="ana: observation")[0]
        b = apply_codes(s, p, ben, docs["T1"], [plan], i, i + len(phrase))[0]
        set_memo(s, p, ben, b.id, "ben: observation too")
        apply_codes(s, p, ben, docs["T1"], [plan], 0, 5)  # no memo: not listed
        long_start = LONG.index("très")
        apply_codes(s, p, ben, docs["T2"], [plan], long_start, len(LONG) - 1, memo="long one")
        rnd = open_round(s, p, lead, "R1")
        assign(s, p, lead, rnd, [docs["T1"]], list(s.scalars(select(Coder).where(Coder.role == "coder"))))
    with store.session() as s:
        docs = _docs(s, p)
        rows = coding_memos(s, p, lead)
        assert [(r["document"], r["coder"], r["memo"]) for r in rows] == [
            ("T1", "ana", "ana: observation"), ("T1", "ben", "ben: observation too"), ("T2", "ben", "long one")]
        assert rows[0]["quote"] == phrase and rows[0]["code"] == PLAN and rows[0]["coding_id"] == a.id
        assert len(rows[2]["quote"]) == 300 and rows[2]["quote"].endswith("…")
        assert rows[2]["quote"][:299] == LONG[long_start:long_start + 299]
        # T1 is blind for coders: ana sees her own memo there, and ben's on T2
        assert [(r["document"], r["coder"]) for r in coding_memos(s, p, ana)] == [("T1", "ana"), ("T2", "ben")]
        assert [r["memo"] for r in coding_memos(s, p, ana, docs["T1"])] == ["ana: observation"]
        assert [r["coder"] for r in coding_memos(s, p, lead, docs["T1"])] == ["ana", "ben"]
        reveal(s, p, lead, get_round(s, p, "R1"))
        assert [r["coder"] for r in coding_memos(s, p, ana, docs["T1"])] == ["ana", "ben"]
