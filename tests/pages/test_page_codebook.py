"""AppTest of the Codebook page on the demo study: a lead renames, adds, moves, merges and
deletes (with a confirmation bound to the count shown); a coder only reads."""

import re

from sqlalchemy import func, select

from coding.codebook.tree import code_tree
from coding.work.codings import apply_codes
from coding.work.documents import list_documents
from coding.team.projects import get_project
from coding.team.members import Member, get_member
from coding.store.models import Code, Coding, Event

PAGE = "app_pages/codebook_page.py"
TEACHERS = "CIC Project/Collaboration between teachers"
IMG = "![t](http://example.invalid/pixel.png)"


def plain(markdown: str) -> str:
    """What a backslash-escaped Markdown string shows."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")  # md_escape's invisible word joiners


def markdown_sources(at) -> list[str]:
    """Every string the page hands to Streamlit's Markdown: bodies, labels, radio options."""
    out = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "success", "error", "warning", "info"):
        out += [e.value for e in getattr(at, kind)]
    for kind in ("button", "checkbox", "expander", "text_input", "text_area", "selectbox", "multiselect",
                 "radio", "metric", "color_picker", "tabs"):
        out += [e.label for e in getattr(at, kind)]
    return out + [o for r in at.radio for o in r.options]


def _code(demo_store, path):
    with demo_store.session() as s:
        return code_tree(s, get_project(s, "demo")).resolve(path).id


def _codings(demo_store, code_id):
    with demo_store.session() as s:
        return s.scalar(select(func.count()).select_from(Coding).where(Coding.code_id == code_id))


def _open(app_for, member, code_id=None):
    at = app_for(PAGE, member)
    at.run()
    assert not at.exception
    if code_id:
        at.selectbox(key="codebook_code").set_value(code_id).run()
        assert not at.exception
    return at


def test_lead_renames_and_edits_a_code(app_for, demo_store):
    plan = _code(demo_store, f"{TEACHERS}/Joint planning")
    at = _open(app_for, "lead", plan)
    assert at.text_input(key="codebook_name").value == "Joint planning"
    at.text_input(key="codebook_name").input("Lesson planning")
    at.text_area(key="codebook_definition").input("Planning a lesson as a team.")
    at.color_picker(key="codebook_colour").pick("#112233")
    at.button(key="codebook_save").click().run()
    assert not at.exception
    assert [plain(m.value) for m in at.success] == [f"Saved {TEACHERS}/Lesson planning."]
    with demo_store.session() as s:
        code = s.get(Code, plan)
        assert (code.name, code.definition, code.colour) == ("Lesson planning", "Planning a lesson as a team.",
                                                             "#112233")
        actions = list(s.scalars(select(Event.action).where(Event.actor == "lead", Event.action.like("code.%"))))
    assert sorted(actions) == ["code.edit", "code.rename"]
    # the same code stays selected and the form shows the saved values
    assert at.selectbox(key="codebook_code").value == plan
    assert at.text_input(key="codebook_name").value == "Lesson planning"
    changes = at.dataframe[-1].value
    assert list(changes["who"]) == ["lead", "lead"]
    assert f"renamed {TEACHERS}/Joint planning to Lesson planning" in set(changes["what"])


def test_a_name_clash_is_shown_as_an_error(app_for, demo_store):
    plan = _code(demo_store, f"{TEACHERS}/Joint planning")
    at = _open(app_for, "lead", plan)
    at.text_input(key="codebook_name").input("feedback")
    at.button(key="codebook_save").click().run()
    assert f"'{TEACHERS}/Feedback' already exists" in plain(at.error[0].value)
    with demo_store.session() as s:
        assert s.get(Code, plan).name == "Joint planning"


def test_lead_adds_a_child_and_it_becomes_the_selection(app_for, demo_store):
    fb = _code(demo_store, f"{TEACHERS}/Feedback")
    at = _open(app_for, "lead", fb)
    at.radio(key="codebook_add_where").set_value("child")
    at.text_input(key="codebook_add_name").input("Written feedback")
    at.text_area(key="codebook_add_definition").input("Feedback given in writing.")
    at.button(key="codebook_add").click().run()
    assert not at.exception
    assert [plain(m.value) for m in at.success] == [f"Added {TEACHERS}/Feedback/Written feedback."]
    new = _code(demo_store, f"{TEACHERS}/Feedback/Written feedback")
    with demo_store.session() as s:
        code = s.get(Code, new)
        assert code.parent_id == fb and code.codable and code.definition == "Feedback given in writing."
    assert at.selectbox(key="codebook_code").value == new
    assert at.text_input(key="codebook_add_name").value == ""
    assert any("Written feedback" in c for c in at.dataframe[0].value["code"])


def test_lead_moves_a_code_to_the_top_level(app_for, demo_store):
    obs = _code(demo_store, f"{TEACHERS}/Peer observation")
    at = _open(app_for, "lead", obs)
    assert _code(demo_store, TEACHERS) not in at.selectbox(key="codebook_move_parent").options  # its parent
    at.selectbox(key="codebook_move_parent").set_value("(top level)")
    at.button(key="codebook_move").click().run()
    assert not at.exception
    assert _code(demo_store, "Peer observation") == obs


def test_delete_needs_the_confirmation_and_the_count_shown(app_for, demo_store):
    ref = _code(demo_store, f"{TEACHERS}/Refinement")
    n = _codings(demo_store, ref)
    at = _open(app_for, "lead", ref)
    assert plain(at.warning[0].value).startswith(f"This deletes 1 code and {n} codings")
    at.button(key="codebook_delete").click().run()
    assert "Tick the confirmation" in plain(at.error[0].value)
    assert _codings(demo_store, ref) == n

    # someone codes with it after the page showed the count: the confirmation is stale
    with demo_store.session() as s:
        p = get_project(s, "demo")
        ana = Member.of(get_member(s, p, "ana"))
        apply_codes(s, p, ana, list_documents(s, p)[0], [ref], 0, 5)
    at.checkbox(key="codebook_delete_confirm").check()
    at.button(key="codebook_delete").click().run()
    assert "not the" in plain(at.error[0].value) and "confirm again" in plain(at.error[0].value)
    assert _codings(demo_store, ref) == n + 1

    # the page now shows the new count and wants a fresh confirmation of it
    assert plain(at.warning[0].value).startswith(f"This deletes 1 code and {n + 1} codings")
    assert at.checkbox(key="codebook_delete_confirm").value is False
    at.checkbox(key="codebook_delete_confirm").check()
    at.button(key="codebook_delete").click().run()
    assert not at.exception
    assert plain(at.success[0].value) == f"Deleted {TEACHERS}/Refinement and {n + 1} codings."
    with demo_store.session() as s:
        assert s.get(Code, ref) is None
    assert _codings(demo_store, ref) == 0
    # the parent is selected now, and the confirmation is cleared
    assert at.selectbox(key="codebook_code").value == _code(demo_store, TEACHERS)
    assert at.checkbox(key="codebook_delete_confirm").value is False


def test_lead_merges_one_code_into_another(app_for, demo_store):
    obs, fb = _code(demo_store, f"{TEACHERS}/Peer observation"), _code(demo_store, f"{TEACHERS}/Feedback")
    n_obs, n_fb = _codings(demo_store, obs), _codings(demo_store, fb)
    at = _open(app_for, "lead", obs)
    at.selectbox(key="codebook_merge_target").set_value(fb)
    at.button(key="codebook_merge").click().run()
    assert "Tick the confirmation" in plain(at.error[0].value)
    at.checkbox(key="codebook_merge_confirm").check()
    at.button(key="codebook_merge").click().run()
    assert not at.exception
    assert plain(at.success[0].value).startswith(f"Merged {TEACHERS}/Peer observation into {TEACHERS}/Feedback")
    with demo_store.session() as s:
        assert s.get(Code, obs) is None
    assert _codings(demo_store, fb) == n_obs + n_fb  # the demo has no identical codings on both
    assert at.selectbox(key="codebook_code").value == fb


def test_a_coder_sees_the_codebook_read_only(app_for, demo_store):
    plan = _code(demo_store, f"{TEACHERS}/Joint planning")
    at = _open(app_for, "ana", plan)
    assert len(at.dataframe[0].value) == 21
    assert not [b for b in at.button if (b.key or "").startswith("codebook_")]
    assert not at.text_input and not at.text_area and not at.color_picker and not at.checkbox
    assert not at.tabs
    assert any(t.value.startswith(f"{TEACHERS}/Joint planning · codable") for t in at.text)
    assert any("Only a lead can change the codebook" in c.value for c in at.caption)


def test_a_lead_starts_an_empty_codebook(app_for, demo_store):
    from coding.team.accounts import sign_in
    from coding.team.projects import create_project

    with demo_store.session() as s:
        create_project(s, "fresh", lead_name="pat", local_mode=True)
    at = app_for(PAGE, None)
    at.session_state["project"] = "fresh"
    with demo_store.session() as s:
        at.session_state["member"] = sign_in(s, get_project(s, "fresh"), "pat")
    at.run()
    assert not at.exception
    assert "The codebook is empty" in plain(at.info[0].value)
    at.text_input(key="codebook_add_name").input("Barriers")
    at.checkbox(key="codebook_add_codable").uncheck()
    at.button(key="codebook_add").click().run()
    assert not at.exception
    assert plain(at.success[0].value) == "Added Barriers."
    with demo_store.session() as s:
        (code,) = code_tree(s, get_project(s, "fresh")).infos
    assert (code.path, code.codable) == ("Barriers", False)
    assert at.selectbox(key="codebook_code").value == code.id
    assert [t.label for t in at.tabs] == ["Edit", "Add", "Move", "Merge", "Split", "Delete"]


def _tree_counts(at) -> dict[str, int]:
    df = at.dataframe[0].value
    return dict(zip(df["code"].str.strip(), df["codings"], strict=True))


def test_a_coders_counts_do_not_move_when_the_other_coder_codes_in_an_open_blind_round(app_for, demo_store):
    from coding.work.documents import get_document
    from coding.work.rounds import assign, open_round

    plan = _code(demo_store, f"{TEACHERS}/Joint planning")
    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = Member.of(get_member(s, p, "lead"))
        p02 = get_document(s, p, "P02_teacher_School-I_3")
        rnd = open_round(s, p, lead, "Round 2", blind=True)
        assign(s, p, lead, rnd, [p02], [get_member(s, p, "ana"), get_member(s, p, "ben")])
    before = _open(app_for, "ben", plan)
    lead_before = _open(app_for, "lead", plan)
    with demo_store.session() as s:
        p = get_project(s, "demo")
        ana = Member.of(get_member(s, p, "ana"))
        apply_codes(s, p, ana, get_document(s, p, "P02_teacher_School-I_3"), [plan], 0, 10)
    n = _codings(demo_store, plan)
    after = _open(app_for, "ben", plan)
    lead_after = _open(app_for, "lead", plan)
    assert _tree_counts(after) == _tree_counts(before)  # the table (and its CSV download)
    assert [t.value for t in after.text][0] == [t.value for t in before.text][0]  # "... · N codings"
    assert _tree_counts(lead_after)["Joint planning"] == _tree_counts(lead_before)["Joint planning"] + 1 == n


def test_names_reach_the_page_as_plain_text(app_for, demo_store):
    plan = _code(demo_store, f"{TEACHERS}/Joint planning")
    with demo_store.session() as s:
        p = get_project(s, "demo")
        # The engine refuses '/' in a code name; a codebook from elsewhere may hold one anyway.
        s.get(Code, plan).name = IMG
        p.codebook_title = "**Bold** :red[title]"
    at = _open(app_for, "lead", plan)
    assert plain(at.selectbox(key="codebook_move_parent").label).startswith(f"Move {IMG} (with")
    assert plain(at.radio(key="codebook_add_where").options[0]) == f"Child of {IMG}"
    assert plain(at.warning[0].value).startswith("This deletes 1 code and ") and IMG in plain(at.warning[0].value)
    assert IMG in set(at.dataframe[0].value["code"].str.strip())
    at.button(key="codebook_split").click().run()  # no names: an error that quotes nothing
    at.text_area(key="codebook_split_names").input("*a*\n:red[b]")
    at.button(key="codebook_split").click().run()
    assert not at.exception
    assert plain(at.success[0].value).startswith("Added *a*, :red[b] under CIC Project/")
    coder = _open(app_for, "ana", plan)
    for page in (at, coder):
        for text in markdown_sources(page):
            assert "![" not in text and "**Bold" not in text and "*a*" not in text, text
            assert ":red[" not in text and "](" not in text, text
