"""AppTest of the memos page: document memo, coding memos, the journal (add, edit, author-only)."""

import json

from sqlalchemy import select

from coding.work.documents import get_document
from coding.work.memos import add_journal_entry, coding_memos, document_memo, journal, save_document_memo
from coding.team.projects import get_project
from coding.team.members import Member, get_member
from coding.store.models import Event

PAGE = "app_pages/memos_page.py"
DOC = "P02_teacher_School-I_3"


def _ctx(s, name):
    p = get_project(s, "demo")
    return p, Member.of(get_member(s, p, name))


def test_not_signed_in_is_asked_to_sign_in(app_for):
    at = app_for(PAGE, None)
    at.run()
    assert not at.exception
    assert any("Sign in from the sidebar" in i.value for i in at.info)


def test_save_a_document_memo(app_for, demo_store):
    with demo_store.session() as s:
        doc_id = get_document(s, get_project(s, "demo"), DOC).id
    at = app_for(PAGE, "ana")
    at.run()
    assert not at.exception
    assert at.title[0].value == "Memos"
    at.selectbox(key="memos_doc").set_value(doc_id).run()
    memo = "Planning every Tuesday; <b>not</b> markup — José's view."
    at.text_area(key=f"memos_doc_text_{doc_id}").input(memo)
    at.button(key="memos_doc_save").click().run()
    assert not at.exception
    assert [m.value for m in at.success] == ["Memo saved."]
    assert at.text_area(key=f"memos_doc_text_{doc_id}").value == memo
    with demo_store.session() as s:
        p, ana = _ctx(s, "ana")
        assert document_memo(s, p, ana, get_document(s, p, DOC)).text == memo
        ev = s.scalar(select(Event).where(Event.action == "memo.document"))
        assert ev.actor == "ana"


def test_empty_memo_shows_the_engine_error(app_for, demo_store):
    at = app_for(PAGE, "ana")
    at.run()
    at.button(key="memos_doc_save").click().run()
    assert not at.exception
    assert any("empty" in e.value for e in at.error)


def test_lead_reads_other_members_memos_as_text(app_for, demo_store):
    with demo_store.session() as s:
        p, ben = _ctx(s, "ben")
        doc = get_document(s, p, DOC)
        save_document_memo(s, p, ben, doc, "**ben** thinks <script>x</script>")
        doc_id = doc.id
    at = app_for(PAGE, "lead")
    at.run()
    at.selectbox(key="memos_doc").set_value(doc_id).run()
    assert not at.exception
    assert "**ben** thinks <script>x</script>" in [t.value for t in at.text]


def test_add_and_edit_a_journal_entry(app_for, demo_store):
    at = app_for(PAGE, "ana")
    at.run()
    at.text_input(key="memos_journal_title_0").input("Open coding done")
    at.text_area(key="memos_journal_text_0").input("Merged two support codes; see P03.")
    at.button(key="FormSubmitter:memos_journal_add_0-Add entry").click().run()
    assert not at.exception
    assert [m.value for m in at.success] == ["Journal entry added."]
    texts = [t.value for t in at.text]
    assert "Open coding done" in texts and "Merged two support codes; see P03." in texts
    assert at.text_input(key="memos_journal_title_1").value == ""  # a fresh form
    with demo_store.session() as s:
        p, ana = _ctx(s, "ana")
        (entry,) = journal(s, p, ana)
        assert (entry.title, entry.author_id) == ("Open coding done", ana.id)
    at.text_area(key=f"memos_edit_text_{entry.id}").input("Merged three support codes.")
    at.button(key=f"FormSubmitter:memos_edit_{entry.id}-Save changes").click().run()
    assert not at.exception
    with demo_store.session() as s:
        p, ana = _ctx(s, "ana")
        assert journal(s, p, ana)[0].text == "Merged three support codes."


def test_coder_cannot_edit_another_members_entry_and_sees_coding_memos(app_for, demo_store):
    with demo_store.session() as s:
        p, lead = _ctx(s, "lead")
        entry = add_journal_entry(s, p, lead, "Round 1 revealed", "Agreement is low on Feedback.")
    at = app_for(PAGE, "ben")
    at.run()
    assert not at.exception
    assert "Round 1 revealed" in [t.value for t in at.text]
    assert not [f for f in at.text_area if f.key == f"memos_edit_text_{entry.id}"]
    with demo_store.session() as s:
        p, ben = _ctx(s, "ben")
        rows = coding_memos(s, p, ben)
    assert len(rows) >= 2 and {r["coder"] for r in rows} == {"ana", "ben"}  # round 1 is revealed
    assert list(at.dataframe[0].value["memo"]) == [r["memo"] for r in rows]
    first = rows[0]["document"]
    with demo_store.session() as s:
        first_id = get_document(s, get_project(s, "demo"), first).id
    at.selectbox(key="memos_coding_doc").set_value(first_id).run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert set(shown["document"]) == {first} and len(shown) == sum(r["document"] == first for r in rows)


IMG = "![t](http://example.invalid/pixel.png)"


def markdown_sources(at) -> list[str]:
    """Every string the page hands to Streamlit's Markdown: bodies, labels, radio options."""
    out = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "success", "error", "warning", "info"):
        out += [e.value for e in getattr(at, kind)]
    for kind in ("button", "checkbox", "expander", "text_input", "text_area", "selectbox", "multiselect",
                 "radio", "metric", "color_picker", "tabs"):
        out += [e.label for e in getattr(at, kind)]
    return out + [o for r in at.radio for o in r.options]


def _coding_memo(demo_store, member_name, memo):
    from coding.codebook.tree import code_tree
    from coding.work.codings import apply_codes
    from coding.errors import NotFoundError
    from coding.team.projects import add_member

    with demo_store.session() as s:
        p = get_project(s, "demo")
        try:
            m = Member.of(get_member(s, p, member_name))
        except NotFoundError:
            m = Member.of(add_member(s, p, member_name, "coder", actor=Member.of(get_member(s, p, "lead"))))
        code = code_tree(s, p).resolve("CIC Project/Collaboration between teachers/Joint planning").id
        apply_codes(s, p, m, get_document(s, p, DOC), [code], 0, 10, memo=memo)


def test_the_coding_memo_column_comes_first_and_wide(app_for, demo_store):
    _coding_memo(demo_store, "ana", "A long memo about joint planning " * 8)
    at = app_for(PAGE, "lead")
    at.run()
    assert not at.exception
    table = at.dataframe[0]
    assert list(table.value.columns) == ["memo", "code", "coder", "document", "quote"]
    assert json.loads(table.proto.columns)["memo"]["width"] == "large"


def test_names_and_titles_reach_the_page_as_plain_text(app_for, demo_store):
    from coding.team.projects import add_member

    with demo_store.session() as s:
        p = get_project(s, "demo")
        add_member(s, p, "**B**", "coder", actor=Member.of(get_member(s, p, "lead")))
    _coding_memo(demo_store, IMG, f"memo {IMG} :red[x]")
    with demo_store.session() as s:
        p, b = _ctx(s, "**B**")
        add_journal_entry(s, p, b, f"**T** {IMG}", ":red[body] `x`")
        save_document_memo(s, p, _ctx(s, IMG)[1], get_document(s, p, DOC), f"doc memo {IMG}")
    at = app_for(PAGE, "**B**")
    at.run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert f"**T** {IMG}" in texts and ":red[body] `x`" in texts
    assert f"memo {IMG} :red[x]" in set(at.dataframe[0].value["memo"])
    assert IMG in set(at.dataframe[0].value["coder"])
    for text in markdown_sources(at):
        assert "![" not in text and "**B**" not in text and "**T**" not in text and ":red[" not in text, text
