"""AppTest of the agreement page: the per-code table, units, lead-only access,
adjudication through the widgets, and snapshots in the Rounds section."""

from sqlalchemy import select

from coding.work.adjudication import compare
from coding.codebook.tree import code_tree
from coding.work.documents import get_document
from coding.team.projects import get_project
from coding.team.members import get_member
from coding.store.models import Adjudication, AgreementSnapshot, Coding, Document

PAGE = "app_pages/agreement_page.py"
DOC = "P01_principal_School-I_3"
CODE = "CIC Project/Support mechanisms/Materials"  # in P01: one region only ana coded, one agreed


def _table(at):
    return next(d.value for d in at.dataframe if "verdict" in d.value.columns)


def _by_prefix(widgets, prefix):
    return [w for w in widgets if w.key and w.key.startswith(prefix)]


def _lead(s, p):
    from coding.team.members import Member

    return Member.of(get_member(s, p, "lead"))


def _ids(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        doc = get_document(s, p, DOC)
        code_id = code_tree(s, p).resolve(CODE).id
        regions = compare(s, p, _lead(s, p), doc, code_id, "ana", "ben")
        return doc.id, code_id, regions, get_member(s, p, "lead").id


def _open_drilldown(at, demo_store):
    doc_id, code_id, regions, lead_id = _ids(demo_store)
    at.selectbox(key="agreement_dd_code").set_value(code_id).run()
    at.selectbox(key="agreement_dd_doc").set_value(doc_id).run()
    assert not at.exception
    return doc_id, code_id, regions, lead_id


def _consensus(demo_store, doc_id, code_id):
    with demo_store.session() as s:
        return s.scalars(select(Coding).where(Coding.document_id == doc_id, Coding.code_id == code_id,
                                              Coding.layer == "consensus").order_by(Coding.start)).all()


def test_table_lists_the_demo_codes_with_numbers(app_for):
    at = app_for(PAGE, "lead")
    at.run()
    assert not at.exception
    assert at.title[0].value == "Agreement"
    df = _table(at)
    assert "CIC Project/Results in students" in set(df["code"]) and df["code"].iloc[-1] == "(all codes)"
    overall = df.iloc[-1]
    assert 0.6 < overall["alpha"] < 0.9 and overall["n"] > 100_000 and overall["coded"] > 0
    assert overall["alpha 95% CI"].startswith("[") and not df["alpha"].isna().any()
    assert {"u-alpha", "kappa", "% agreement (coded text)", "verdict"} <= set(df.columns)
    summary = next(m.value for m in at.markdown if m.value.startswith("Over coded text"))
    assert "ana and ben" in summary and "Krippendorff's alpha over all text" in summary
    assert "Krippendorff 2004" in summary
    assert any("once per document" not in i.value and "Every character" in i.value for i in at.info)
    assert {b.proto.label for b in at.get("download_button")} == {"Download CSV", "Download Markdown", "Download Word report",
                                                                  "Download Excel (all tables)"}


def test_a_coder_gets_the_lead_only_warning(app_for):
    at = app_for(PAGE, "ana")
    at.run()
    assert not at.exception
    assert any("for leads" in w.value for w in at.warning)
    assert not at.dataframe


def test_switching_the_unit_to_turn(app_for):
    at = app_for(PAGE, "lead")
    at.run()
    at.selectbox(key="agreement_unit").set_value("turn").run()
    assert not at.exception
    df = _table(at)
    assert "u-alpha" not in df.columns
    assert df.iloc[-1]["n"] < 10_000 and df.iloc[-1]["coded"] > 0
    assert any("speaker turn" in i.value for i in at.info)
    assert at.number_input(key="agreement_min_share").value == 0.0
    assert any(m.value.startswith("Over coded text") and "speaker turns" in m.value for m in at.markdown)


def test_adjudication_through_the_widgets_stores_consensus(app_for, demo_store):
    at = app_for(PAGE, "lead")
    at.run()
    doc_id, code_id, regions, lead_id = _open_drilldown(at, demo_store)
    only_a = next(r for r in regions if r.kind == "only A")
    [radio] = _by_prefix(at.radio, "agreement_dec_")
    [reason] = _by_prefix(at.text_input, "agreement_reason_")
    [decide] = _by_prefix(at.button, "agreement_decide_")
    # no reason: refused with a clear message, nothing stored
    radio.set_value("a")
    decide.click().run()
    assert any("reason is required" in e.value for e in at.error)
    assert _consensus(demo_store, doc_id, code_id) == []
    _by_prefix(at.text_input, "agreement_reason_")[0].input("The definition names the worksheets")
    _by_prefix(at.button, "agreement_decide_")[0].click().run()
    assert not at.exception
    assert any("is now the consensus" in m.value for m in at.success)
    rows = _consensus(demo_store, doc_id, code_id)
    assert [(c.start, c.end) for c in rows] == only_a.a_spans
    assert all(c.layer == "consensus" and c.provenance == "adjudicated" and c.coder_id == lead_id
               and c.memo == "The definition names the worksheets" for c in rows)
    # the decided region shows who decided and why
    assert any("Decided by lead" in c.value for c in at.caption)
    assert any(t.value == "Reason: The definition names the worksheets" for t in at.text)
    # accept the agreed region in one go
    at.button(key="agreement_accept").click().run()
    assert not at.exception
    agreed = next(r for r in regions if r.kind == "agreement")
    assert [(c.start, c.end) for c in _consensus(demo_store, doc_id, code_id)] == only_a.a_spans + agreed.a_spans
    assert at.button(key="agreement_accept").disabled


def test_edit_decision_through_the_widgets(app_for, demo_store):
    at = app_for(PAGE, "lead")
    at.run()
    doc_id, code_id, regions, _ = _open_drilldown(at, demo_store)
    only_a = next(r for r in regions if r.kind == "only A")
    _by_prefix(at.radio, "agreement_dec_")[0].set_value("edit").run()
    _by_prefix(at.number_input, "agreement_es_")[0].set_value(only_a.start + 5)
    _by_prefix(at.number_input, "agreement_ee_")[0].set_value(only_a.end - 5)
    _by_prefix(at.text_input, "agreement_reason_")[0].input("Only the clause about materials")
    _by_prefix(at.button, "agreement_decide_")[0].click().run()
    assert not at.exception
    assert [(c.start, c.end) for c in _consensus(demo_store, doc_id, code_id)] == [
        (only_a.start + 5, only_a.end - 5)]
    with demo_store.session() as s:
        assert s.scalars(select(Adjudication.decision)).all() == ["edit"]


def test_saving_a_snapshot_shows_it_in_rounds(app_for, demo_store):
    at = app_for(PAGE, "lead")
    at.run()
    assert any("No snapshots yet" in i.value for i in at.info)
    at.text_input(key="agreement_snapshot_label").input("Round 1 baseline")
    at.button(key="agreement_snapshot_save").click().run()
    assert not at.exception
    assert any("Saved the snapshot “Round 1 baseline”" in m.value for m in at.success)
    snaps = next(d.value for d in at.dataframe if "snapshot" in d.value.columns)
    assert list(snaps["snapshot"]) == ["Round 1 baseline"] and snaps["unit"].iloc[0] == "character"
    assert 0.6 < snaps["alpha (all codes)"].iloc[0] < 0.9
    with demo_store.session() as s:
        assert s.scalars(select(AgreementSnapshot.created_by)).all() == ["lead"]
    # a second round on another unit joins the trend
    at.selectbox(key="agreement_unit").set_value("turn").run()
    at.text_input(key="agreement_snapshot_label").input("Round 1 turns")
    at.button(key="agreement_snapshot_save").click().run()
    snaps = next(d.value for d in at.dataframe if "snapshot" in d.value.columns)
    assert list(snaps["snapshot"]) == ["Round 1 baseline", "Round 1 turns"]
    trend = next(d.value for d in at.dataframe if any("Round 1 turns" in str(c) for c in d.value.columns))
    assert "(all codes)" in trend.index


def _third_doc_third_code(demo_store):
    """A (document, code) pair that is neither first in its box, with an 'only A' region."""
    with demo_store.session() as s:
        p = get_project(s, "demo")
        codable = [i for i in code_tree(s, p).infos if i.codable]
        docs = sorted((d.name, d.id) for d in s.scalars(select(Document).where(Document.project_id == p.id))
                      if d.name in {"P03_teacher_School-II_4", "P05_special-educator_School-I_7"})
        for name, doc_id in docs:
            for info in codable[2:]:
                regions = compare(s, p, _lead(s, p), s.get(Document, doc_id), info.id, "ana", "ben")
                if any(r.kind == "only A" for r in regions):
                    return doc_id, info.id, regions
    raise AssertionError("the demo has no such pair")


def _resend(at, labels: dict):
    """Run as the browser does after a rerun: each selectbox sends back the label
    (formatted option) it last showed, which Streamlit maps to a value by text.
    AppTest re-formats the value instead, so it never sees a stale label."""
    states = at._tree.get_widget_states()
    by_key = {key: at.selectbox(key=key).id for key in labels}
    for ws in states.widgets:
        for key, wid in by_key.items():
            if ws.id == wid:
                ws.string_value = labels[key]
    return at._run(states)


def test_drilldown_keeps_code_and_document_after_deciding(app_for, demo_store):
    """Issue 7, defect 1: after Decide the boxes jumped to the first code and
    document, because their labels held counts that the decision changed."""
    doc_id, code_id, regions = _third_doc_third_code(demo_store)
    at = app_for(PAGE, "lead")
    at.run()
    at.selectbox(key="agreement_dd_code").set_value(code_id).run()
    at.selectbox(key="agreement_dd_doc").set_value(doc_id).run()
    boxes = ("agreement_dd_code", "agreement_dd_doc")
    shown = {k: at.selectbox(key=k).options[at.selectbox(key=k).index] for k in boxes}
    options = {k: at.selectbox(key=k).options for k in boxes}
    only_a = next(r for r in regions if r.kind == "only A")
    rk = f"{doc_id[:8]}_{code_id[:8]}_{only_a.start}_{only_a.end}"
    at.radio(key=f"agreement_dec_{rk}").set_value("a")
    at.text_input(key=f"agreement_reason_{rk}").input("A's reading fits the definition")
    at.button(key=f"agreement_decide_{rk}").click().run()
    assert not at.exception and not at.error
    assert any("is now the consensus" in m.value for m in at.success)
    assert [(c.start, c.end) for c in _consensus(demo_store, doc_id, code_id)] == only_a.a_spans
    # the boxes' labels did not change with the counts (a changed label loses the selection)
    assert {k: at.selectbox(key=k).options for k in boxes} == options
    # the next interaction, as the browser sends it, keeps both boxes where they were
    _resend(at, shown)
    assert not at.exception
    assert at.selectbox(key="agreement_dd_code").value == code_id
    assert at.selectbox(key="agreement_dd_doc").value == doc_id
    # the region just decided shows as decided, and the counts moved with it (no stale "0 decided")
    assert at.button(key=f"agreement_decide_{rk}").label == "Decide again"
    counts = [c.value for c in at.caption if "decided" in c.value and "disagreement" in c.value]
    assert counts and all("0 decided" not in c for c in counts)


# --- defect 8: names as plain text --------------------------------------------------------

HOSTILE_CODES = ["**B**", "![t](x.png)", ":red[x]"]
HOSTILE_CODERS = ["**Bo**", "![t](https://example.invalid/x.png)"]
HOSTILE_DOC = "_[d](https:example.invalid) `c` $x$ <b>"
PARTIAL_DOC = "*Only* <i>one :blue[y] #1"


def _hostile_project(demo_store):
    """Codes, coders and a document named with Markdown, coded by both coders; one
    more document coded by one of them only (so the partial note names them)."""
    from coding.codebook.edits import add_code
    from coding.work.codings import apply_codes
    from coding.work.documents import import_uploads
    from coding.team.projects import add_member
    from coding.team.members import Member

    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = Member.of(get_member(s, p, "lead"))
        codes = [add_code(s, p, lead, None, name).id for name in HOSTILE_CODES]
        a, b = (Member.of(add_member(s, p, n, "coder", actor=lead)) for n in HOSTILE_CODERS)
        import_uploads(s, p, [(HOSTILE_DOC + ".txt", b"Teacher: the materials helped us a lot this year.\n"),
                              (PARTIAL_DOC + ".txt", b"Teacher: nothing much.\n")], actor=lead)
        doc, other = get_document(s, p, HOSTILE_DOC), get_document(s, p, PARTIAL_DOC)
        apply_codes(s, p, a, doc, codes, 9, 30)
        apply_codes(s, p, b, doc, codes[:1], 20, 40)
        apply_codes(s, p, a, other, codes[:1], 0, 5)
        return codes, doc.id


def _markdown_sources(at) -> list[str]:
    """Every string the page hands to Streamlit's Markdown renderer."""
    out = [e.value for kind in ("markdown", "caption", "info", "success", "warning", "error", "subheader", "title")
           for e in at.get(kind)]
    out += [e.label for e in at.get("expander")]
    for kind in ("selectbox", "multiselect", "radio", "text_input", "button", "checkbox", "number_input"):
        out += [w.label for w in at.get(kind)]
    return out


def _rendered_text(src: str) -> tuple[str, str]:
    """(HTML, visible text) of ``src`` under CommonMark with strikethrough, as Streamlit renders it."""
    import html
    import re

    from markdown_it import MarkdownIt

    page = MarkdownIt("commonmark").enable("strikethrough").render(src)
    return page, html.unescape(re.sub(r"<[^>]+>", "", page))


def test_user_names_are_plain_text_on_the_agreement_page(app_for, demo_store):
    import re

    codes, doc_id = _hostile_project(demo_store)
    at = app_for(PAGE, "lead")
    at.run()
    at.multiselect(key="agreement_coders").set_value(HOSTILE_CODERS).run()
    at.selectbox(key="agreement_dd_code").set_value(codes[0]).run()
    at.selectbox(key="agreement_dd_doc").set_value(doc_id).run()
    assert not at.exception and not at.error
    sources = _markdown_sources(at)
    texts = []
    for src in sources:
        page, text = _rendered_text(src)
        assert not re.search(r"<(img|a|code|b|i|em|h1)\b", page), src
        # Streamlit's own directives and math need a bare ':' + '[' or '$': none may survive
        assert not re.search(r"(?<!\\):(red|blue)(?<!\\)\[", src) and not re.search(r"(?<!\\)\$x", src), src
        texts.append(text)
    shown = "\n".join(texts)
    # each name is shown as the characters it holds, where the page names it
    for name in HOSTILE_CODERS + [PARTIAL_DOC]:
        assert name in shown, name
    assert f"A: {HOSTILE_CODERS[0]}" in shown and f"B: {HOSTILE_CODERS[1]}" in shown
    # plain-text widgets get the raw names (no backslashes from escaping)
    assert [at.selectbox(key="agreement_dd_code").format_func(c) for c in codes] == HOSTILE_CODES
    assert HOSTILE_DOC in at.selectbox(key="agreement_dd_doc").options
    assert set(HOSTILE_CODES) <= set(_table(at)["code"])


# --- defect 10: chart labels -------------------------------------------------------------

def _charts(at) -> list[dict]:
    import json

    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def test_charts_label_every_code_and_whole_document_names(app_for, demo_store):
    """Every code and document gets its axis label (no thinning, no clipping of the
    demo's names) and each code row has room for its label."""
    at = app_for(PAGE, "lead")
    at.run()
    df = _table(at)
    alpha_chart = next(c for c in _charts(at) if "layer" in c)
    heat = next(c for c in _charts(at) if c.get("mark", {}).get("type") == "rect")
    rows = len(df[df["alpha"].notna()])
    y = alpha_chart["layer"][0]["encoding"]["y"]["axis"]
    assert y["labelOverlap"] is False and y["labelLimit"] >= 7 * df["code"].str.len().max()
    assert alpha_chart["height"] >= 24 * rows
    n_codes = len(df) - 1
    with demo_store.session() as s:
        docs = s.scalars(select(Document.name)).all()
    for axis in ("x", "y"):
        a = heat["encoding"][axis]["axis"]
        assert a["labelOverlap"] is False, axis
    assert heat["encoding"]["x"]["axis"]["labelLimit"] >= 7 * max(map(len, docs))
    assert heat["encoding"]["y"]["axis"]["labelLimit"] >= 7 * df["code"].str.len().max()
    assert heat["height"] >= 24 * n_codes + 0.8 * 7 * max(map(len, docs))


def test_leaving_out_suggested_codings_on_the_page_shows_the_engines_figures(app_for, demo_store):
    from coding.agreement.project import compute_agreement

    with demo_store.session() as s:  # every third coding of ana came from a suggestion
        p = get_project(s, "demo")
        ana = get_member(s, p, "ana").id
        for i, c in enumerate(s.scalars(select(Coding).where(Coding.coder_id == ana).order_by(Coding.id))):
            if i % 3 == 0:
                c.provenance = "suggested"
    at = app_for(PAGE, "lead")
    at.run()
    counted = _table(at).iloc[-1]["alpha"]
    at.radio(key="agreement_suggestions").set_value("exclude").run()
    assert not at.exception
    with demo_store.session() as s:
        p = get_project(s, "demo")
        rep = compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), ci=False, suggestions="exclude")
        n = s.query(Coding).filter(Coding.provenance == "suggested").count()
    df = _table(at)
    assert list(df["alpha"].round(9)) == [round(r.alpha, 9) for r in rep.rows]
    assert df.iloc[-1]["alpha"] != counted
    assert any(f"were left out: {n:,} codings" in c.value.replace("\\", "") for c in at.caption)


def test_the_recommender_as_a_third_coder_on_click(app_for, demo_store):
    from coding.suggest.recommender_agreement import recommender_agreement
    from coding.suggest.processing import process_documents

    with demo_store.session() as s:
        lead = _lead(s, get_project(s, "demo"))
    process_documents(demo_store, "demo", lead)
    at = app_for(PAGE, "lead", timeout=180)
    at.run()
    assert not [d for d in at.dataframe if "recommender trained on" in d.value.columns]  # only on click
    at.button(key="agreement_third_run").click().run()
    assert not at.exception and not at.error
    df = next(d.value for d in at.dataframe if "recommender trained on" in d.value.columns)
    with demo_store.session() as s:
        p = get_project(s, "demo")
        rep = recommender_agreement(s, p, _lead(s, p), ["ana", "ben"], unit="character")
    assert list(df["recommender trained on"]) == ["ana", "ben", "ana", "ben", "(human coders)"]
    assert list(df["compared with"]) == ["ana", "ben", "ben", "ana", "ana vs ben"]
    assert list(df["alpha"]) == [t["alpha"] for t in rep.table()]
    assert any("4 folds by document" in c.value.replace("\\", "") for c in at.caption)


# --- harbour: the page's Markdown is the file `export agreement --format md` writes -----------


def test_the_markdown_download_is_the_cli_file_with_all_three_tables(team, monkeypatch, loopback_server, tmp_path):
    """The page's Markdown file, read from its download button, is byte for byte the engine's
    and the CLI's for the same choice (coders, unit turn, no CIs): overall, per code, per document."""
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from streamlit.runtime.memory_media_file_storage import _calculate_file_id
    from streamlit.testing.v1 import AppTest

    from coding.cli.main import main as cli
    from coding.exporting.agreement_export import export_agreement
    from coding.team.sessions import open_session
    from tests.conftest import TEAM_PASSWORDS
    from tests.exporting.test_coded_exports import CODINGS, _code

    url = team.store.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("CODING_DB_URL", url)
    with team.store.session() as s:
        for c in CODINGS:
            _code(s, team.project(s), *c)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=120)
    at.session_state["project"] = team.name
    with team.store.session() as s:
        at.session_state["auth_session"] = open_session(s, team.member(s, "maria")).id
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    coders = at.multiselect(key="agreement_coders").value
    assert sorted(coders) == ["li", "tom"]
    at.selectbox(key="agreement_unit").set_value("turn").run()
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    at.checkbox(key="agreement_ci").uncheck().run()
    after = datetime.now(UTC)
    assert not at.exception
    button = next(b for b in at.get("download_button") if b.key == "agreement_md")
    # The button carries its bytes under an id hashed from them: find the engine's file (stamped
    # with the minute the page built it) whose id it is.
    files = {}
    with team.store.session() as s:
        when = before
        while when <= after:
            data = export_agreement(s, team.project(s), team.member(s, "maria"), "md", coders=coders,
                                    unit="turn", ci=False, when=when).data
            files[_calculate_file_id(data, "text/markdown", "agreement-turn.md")] = (when, data)
            when += timedelta(minutes=1)
    carried = [v for k, v in files.items() if k in button.proto.url]
    assert len(carried) == 1, button.proto.url  # before the fix: report_markdown's per-code table only
    when, data = carried[0]
    text = data.decode()
    for heading in ("## Overall", "## Per code", "## Per document"):
        assert heading in text
    monkeypatch.setenv("CODING_PASSWORD", TEAM_PASSWORDS["maria"])
    out = tmp_path / "a.md"
    assert cli(["--db", url, "--as", "maria", "export", "agreement", team.name, "--coders", *coders,
                "--unit", "turn", "--no-ci", "--format", "md", "--out", str(out)]) == 0
    stamp = f"**Computed:** {when:%Y-%m-%d %H:%M} UTC"
    lines = out.read_bytes().decode().split("\n")
    assert sum(line.startswith("**Computed:**") for line in lines) == 1
    assert "\n".join(stamp + "  " if line.startswith("**Computed:**") else line for line in lines) == text
    # every row of the page's table is in the file, with its unit count
    df = _table(at)
    for code, n in zip(df["code"], df["n"]):
        assert f"| {code} | turn | {n} |" in text
