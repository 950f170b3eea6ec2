"""AppTest of the Retrieve page: filters and counts, context, the blind rule, matrix, search and
"code this hit", downloads (built by the same export function the CLI uses)."""

from __future__ import annotations

import json

from sqlalchemy import select

from app_pages.plain import md_escape
from coding.codebook.tree import code_tree
from coding.work.codings import apply_codes, set_memo
from coding.work.documents import get_document
from coding.team.projects import get_project
from coding.team.members import Member, get_member
from coding.work.rounds import assign, open_round
from coding.store.models import Attribute, Coder, Coding

PAGE = "app_pages/retrieve_page.py"


def frame(at, column):
    """The first table holding ``column`` (AppTest does not keep a dataframe's key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def metric(at, label):
    return int(next(m for m in at.metric if m.label == label).value)


def test_filters_update_counts_show_context_and_matrix(app_for, demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        tree = code_tree(s, p)
        jp = tree.resolve("CIC Project/Collaboration between teachers/Joint planning")
        principals = set(s.scalars(select(Attribute.document_id).where(Attribute.name == "role",
                                                                       Attribute.value == "Principal")))
        coder_layer = s.scalars(select(Coding).where(Coding.project_id == p.id, Coding.layer == "coder")).all()
        n_jp_principal = sum(c.code_id == jp.id and c.document_id in principals for c in coder_layer)
    at = app_for(PAGE, "lead")
    at.run()
    assert not at.exception
    assert at.title[0].value == "Retrieve"
    assert metric(at, "Excerpts") == len(coder_layer)
    at.multiselect(key="retrieve_codes").set_value([jp.id]).run()
    at.multiselect(key="retrieve_attr_role").set_value(["Principal"]).run()
    assert not at.exception
    assert metric(at, "Excerpts") == n_jp_principal > 0
    table = frame(at, "attribution")
    assert set(table["code"]) == {jp.path} and set(table["attribution"]) <= {"(Principal - School I_3)",
                                                                             "(Principal - School II_5)"}
    # The quote, shown as text in the expander, is the stored slice.
    assert table["text"].iloc[0] in [t.value for t in at.text]
    # Matrix: code x role counting excerpts, the same count in its cell.
    matrix = next(d.value for d in at.dataframe if "Principal" in d.value.columns)
    assert int(matrix.loc[jp.path, "Principal"]) == n_jp_principal
    assert len(at.get("arrow_vega_lite_chart")) >= 1 or at.get("vega_lite_chart")
    at.radio(key="retrieve_mx_kind").set_value("cooccurrence").run()
    assert not at.exception


def test_a_coder_in_an_open_blind_round_sees_only_their_own_excerpts(app_for, demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = Member.of(get_member(s, p, "lead"))
        doc = get_document(s, p, "P01_principal_School-I_3")
        rnd = open_round(s, p, lead, "Round 2", blind=True)
        assign(s, p, lead, rnd, [doc], [get_member(s, p, "ana"), get_member(s, p, "ben")])
        ben = Member.of(get_member(s, p, "ben"))
        start = doc.text.index("I walked in once")
        [c] = apply_codes(s, p, ben, doc, [code_tree(s, p).resolve("Synthesis/Aspects to keep").id],
                          start, start + 60)
        set_memo(s, p, ben, c.id, "BEN-SECRET")
        ana_id = s.scalar(select(Coder.id).where(Coder.name == "ana", Coder.project_id == p.id))
        visible = s.scalars(select(Coding).where(Coding.project_id == p.id, Coding.layer == "coder")).all()
        expected = sum(1 for x in visible if x.document_id != doc.id or x.coder_id == ana_id)
        doc_id = doc.id
    at = app_for(PAGE, "ana")
    at.run()
    assert not at.exception
    assert metric(at, "Excerpts") == expected
    at.multiselect(key="retrieve_documents").set_value([doc_id]).run()
    table = frame(at, "attribution")
    assert set(table["coder"]) == {"ana"} and "BEN-SECRET" not in set(table["memo"])


def test_corpus_search_and_code_this_hit(app_for, demo_store):
    at = app_for(PAGE, "ana")
    at.run()
    at.text_input(key="retrieve_corpus_q").input("pizza").run()
    assert not at.exception
    hits = frame(at, "hit")
    assert len(hits) >= 1 and set(hits["hit"].str.lower()) == {"pizza"}
    with demo_store.session() as s:
        p = get_project(s, "demo")
        code = code_tree(s, p).resolve("Synthesis/Most important learning")
    at.selectbox(key="retrieve_hit_code").set_value(code.id).run()
    at.button(key="retrieve_hit_apply").click().run()
    assert not at.exception
    assert [m.value for m in at.success] == ["Coded the hit (widen it on the coding page if needed)."]
    with demo_store.session() as s:
        p = get_project(s, "demo")
        doc = get_document(s, p, hits["document"].iloc[0])
        ana = get_member(s, p, "ana")
        [c] = s.scalars(select(Coding).where(Coding.coder_id == ana.id, Coding.code_id == code.id,
                                             Coding.document_id == doc.id,
                                             Coding.start == int(hits["start"].iloc[0]))).all()
        assert doc.text[c.start:c.end].lower() == "pizza"


def test_export_tab_offers_every_download_and_refuses_a_bad_pseudonym_list(app_for):
    at = app_for(PAGE, "lead")
    at.run()
    keys = {b.key.removesuffix("__prepare") for b in at.button}  # prepared on request (app_pages/downloads.py)
    assert {"retrieve_dl_excerpts_csv", "retrieve_dl_excerpts_xlsx", "retrieve_dl_excerpts_md",
            "retrieve_dl_quotes_docx", "retrieve_dl_codebook_docx", "retrieve_dl_codebook_md",
            "retrieve_mx_dl_csv", "retrieve_mx_dl_xlsx"} <= keys
    at.text_area(key="retrieve_pseudonyms").input("José").run()
    assert not at.exception
    assert any("one column" in e.value for e in at.error)


def test_a_lead_sets_the_attribution_template_and_a_coder_only_reads_it(app_for, demo_store):
    from coding.store.models import Event, Project

    at = app_for(PAGE, "lead")
    at.run()
    at.text_input(key="retrieve_template").set_value("({role}, {school}) **x**")
    at.button(key="retrieve_template_save").click().run()
    assert not at.exception
    assert [m.value for m in at.success] == [md_escape("Attribution template saved: ({role}, {school}) **x**")]
    assert set(frame(at, "attribution")["attribution"]) >= {"(Principal, School I_3) **x**"}
    at.text_input(key="retrieve_template").set_value("({role} - {district})")
    at.button(key="retrieve_template_save").click().run()
    assert not at.exception
    with demo_store.session() as s:
        p = get_project(s, "demo")
        assert s.get(Project, p.id).attribution_template == "({role}, {school}) **x**"
        [ev] = s.scalars(select(Event).where(Event.action == "project.attribution")).all()
        assert ev.actor == "lead"
    # An attribute no document has: refused with a message naming it; nothing stored (checked above).
    assert any("district" in e.value and "no document" in e.value for e in at.error)

    at = app_for(PAGE, "ana")
    at.run()
    assert not at.exception
    assert not [t for t in at.text_input if t.key == "retrieve_template"]
    assert any(md_escape("({role}, {school}) **x**") in c.value for c in at.caption)


def test_open_in_the_coding_page_outlines_the_excerpts_coding(app_for, demo_store):
    at = app_for(PAGE, "lead")
    at.run()
    at.button(key="retrieve_open_0").click().run()
    assert not at.exception
    focus = at.session_state["coding_focus"]
    with demo_store.session() as s:
        coding = s.get(Coding, focus[0])
    assert at.session_state["coding_doc"] == coding.document_id
    # the coding page opened on that document, the transcript outlining that coding
    assert at.title[0].value == "Code transcripts"
    assert json.loads(at.get("bidi_component")[0].proto.json)["focus"] == coding.id
