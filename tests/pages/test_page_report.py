"""The Report page (issue 20) on harbour (AppTest): the saturation sentence and table are the
engine's for the chosen parameters, the downloads go through app_pages/downloads.py, and a
coder in an open blind round sees only their own codings counted."""

from __future__ import annotations

from coding.codebook.tree import code_tree
from coding.report.saturation import project_saturation
from coding.store.models import Coder
from coding.work.codings import apply_codes
from coding.work.documents import get_document
from coding.work.rounds import assign, open_round
from tests.pages.test_page_team_project import team_app  # noqa: F401  (the fixture)

PAGE = "app_pages/report_page.py"


def _code(team):
    with team.store.session() as s:
        p = team.project(s)
        tree = code_tree(s, p)
        maria, tom, li = (team.member(s, n) for n in ("maria", "tom", "li"))
        docs = [get_document(s, p, n) for n in ("Docker_01", "Docker_02", "Clerk_01")]
        rnd = open_round(s, p, maria, "R1", blind=True)
        assign(s, p, maria, rnd, docs[:1], [s.get(Coder, tom.id), s.get(Coder, li.id)])
        for d, path in zip(docs, ("Work/Gang labour", "Change/Job loss", "Work/Clerical work")):
            apply_codes(s, p, tom, d, [tree.by_path[path].id], 0, 10)
            s.commit()
        apply_codes(s, p, li, docs[0], [tree.by_path["Community"].id], 0, 10)


def test_saturation_on_the_page_is_the_engines(team_app, team):
    _code(team)
    at = team_app(PAGE, "maria")
    at.run()
    assert not at.exception and not at.error
    at.number_input(key="report_base").set_value(1).run()
    at.number_input(key="report_run").set_value(1).run()
    assert not at.exception and not at.error
    frame = next(d.value for d in at.dataframe)
    with team.store.session() as s:
        res = project_saturation(s, team.project(s), team.member(s, "maria"), base_size=1, run_length=1)
    assert list(frame["new_codes"]) == [st.n_new for st in res.steps] == [2, 1, 1]
    assert any(res.saturation.sentence()[:40] in m.value.replace("\\", "") for m in at.markdown)
    labels = [b.label for b in at.get("download_button")]
    assert "Saturation table (CSV)" in labels and "Saturation table (XLSX)" in labels


def test_a_coder_in_an_open_blind_round_sees_their_own_codings_counted(team_app, team):
    _code(team)
    at = team_app(PAGE, "li")
    at.run()
    assert not at.exception and not at.error
    frame = next(d.value for d in at.dataframe)
    # Docker_01 comes last: li sees only her own coding of it (made last), not tom's (made first)
    assert list(frame["document"]) == ["Docker_02", "Clerk_01", "Docker_01"]
    assert list(frame["new_codes"]) == [1, 1, 1]  # Docker_01: li's Community only, not tom's Gang labour


def test_generated_projects_saturation_point_and_its_chart_downloads(team_app, team):
    """A project built to saturate at 5 interviews (tests/report/test_saturation.py): the page
    states the engine's point, and its PNG and SVG downloads carry the engine's chart."""
    from streamlit.runtime.memory_media_file_storage import _calculate_file_id

    from coding.report.saturation_chart import chart_spec, render
    from tests.report.test_saturation import _generated, _png_size, _svg_texts

    with team.store.session() as s:
        _generated(s, team)
    at = team_app(PAGE, "maria")
    at.run()
    at.selectbox(key="report_order").set_value("interview_date").run()
    at.selectbox(key="report_coder").set_value("tom").run()
    assert not at.exception and not at.error
    with team.store.session() as s:
        res = project_saturation(s, team.project(s), team.member(s, "maria"), coder="tom",
                                 order_attribute="interview_date")
    assert (res.saturation.point, res.saturation.confirmed_at) == (5, 7)
    assert any("Saturation was reached at 5 documents" in m.value for m in at.markdown)
    buttons = {b.key: b for b in at.get("download_button")}
    svg = at.session_state["report_svg__file"][1]
    png = at.session_state["report_png__file"][1]
    assert svg == render(chart_spec(res, title=f"Saturation: {team.name}"), "svg")
    assert "saturation: 5 documents (+2 to confirm)" in _svg_texts(svg)
    assert _png_size(png)[0] > 1000
    for key, data, mime, name in (("report_svg", svg, "image/svg+xml", "svg"), ("report_png", png, "image/png", "png")):
        b = buttons[key]
        assert b.proto.label == f"Saturation chart ({name.upper()})" and b.proto.ignore_rerun
        # the button carries exactly these bytes (Streamlit names a media file by the hash of its content)
        assert _calculate_file_id(data, mime, f"{team.name}-saturation.{name}") in b.proto.url
