"""Saturation (Guest, Namey & Chen 2020, PLoS ONE 15(5): e0232076) on plain data and on harbour."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from coding.codebook.tree import code_tree
from coding.errors import CodingError, PermissionDeniedError
from coding.report.saturation import guest_saturation, new_codes_per_document, prevalence, project_saturation
from coding.store.models import Coding
from coding.work.codings import apply_codes
from coding.work.documents import get_document, import_attributes, import_uploads
from coding.work.rounds import assign, open_round


def test_published_example_base_37_first_run_7_new_is_19_percent():
    """Guest, Namey & Chen (2020), PLoS ONE 15(5): e0232076, doi:10.1371/journal.pone.0232076: the
    paper's hypothetical worked example of the method: a base of 4 interviews holding 37 unique
    themes; the first run of 2 interviews (interviews 5 and 6) adds 7 new themes, i.e. 7/37 = 19%
    new information, above the <= 5% threshold, so saturation is not reached at that run.
    Only these values of the example were at hand (from a summary of the paper, not its figure);
    how the 37 and the 7 split between interviews does not change them, which the two splits below check."""
    for counts in ([20, 9, 5, 3, 4, 3], [30, 4, 2, 1, 7, 0]):
        sat = guest_saturation(counts, base_size=4, run_length=2, threshold=0.05)
        assert sat.base_codes == 37
        first = sat.runs[0]
        assert (first.start, first.end, first.new) == (5, 6, 7)
        assert round(first.share * 100) == 19
        assert not sat.reached


def test_point_is_the_documents_before_the_first_run_at_or_under_the_threshold():
    # base 20 codes; runs (5,6)=2 -> 10%, (6,7)=1 -> 5%: reached at 5 documents, confirmed by 6 and 7
    sat = guest_saturation([10, 5, 3, 2, 1, 1, 0, 0], base_size=4, run_length=2, threshold=0.05)
    assert [(r.start, r.end, r.new) for r in sat.runs] == [(5, 6, 2), (6, 7, 1), (7, 8, 0)]
    assert (sat.point, sat.confirmed_at) == (5, 7)
    strict = guest_saturation([10, 5, 3, 2, 1, 1, 0, 0], base_size=4, run_length=2, threshold=0.0)
    assert (strict.point, strict.confirmed_at) == (6, 8)
    assert "reached at 5 documents" in sat.sentence()
    short = guest_saturation([3, 2, 1], base_size=4, run_length=2)
    assert not short.runs and "at least 6 coded documents" in short.sentence()
    with pytest.raises(CodingError, match="run length"):
        guest_saturation([1, 2], run_length=0)
    with pytest.raises(CodingError, match="threshold"):
        guest_saturation([1, 2], threshold=5)


def test_new_codes_and_prevalence():
    order = ["a", "b", "c"]
    codes = {"a": {"x", "y"}, "b": {"y"}, "c": {"z", "x"}}
    steps = new_codes_per_document(order, codes)
    assert [(s.n_new, s.cumulative) for s in steps] == [(2, 2), (0, 2), (1, 3)]
    rows = {(r["position"], r["code"]): r["documents"] for r in prevalence(order, codes)}
    assert rows == {(1, "x"): 1, (1, "y"): 1, (2, "x"): 1, (2, "y"): 2, (3, "x"): 2, (3, "y"): 2, (3, "z"): 1}


# --- on harbour ------------------------------------------------------------------------

LEAVES = ["Work/Gang labour", "Work/Clerical work", "Change/Containerisation", "Change/Job loss", "Community"]
# Which leaves each generated interview holds, in interview-date order: the base (4) holds 4 of
# the 5 leaves; interviews 5-6 add the fifth (1/4 = 25%); 6-7 add none (0%): saturation at 5.
PATTERN = [[0, 1], [1, 2], [2], [3, 0], [4], [0, 3], [1], [2, 4]]


def _generated(s, team):
    """Eight more harbour interviews with dates, coded by tom in PATTERN (listed out of date order)."""
    p = team.project(s)
    maria, tom = team.member(s, "maria"), team.member(s, "tom")
    names = [f"Gen_{i:02d}" for i in range(len(PATTERN))]
    import_uploads(s, p, [(f"{n}.txt", f"Interviewer: Tell me.\n\nDocker: Story {n} of the quay.\n".encode())
                          for n in reversed(names)], actor=maria)
    csv = "document,interview_date\n" + "".join(f"{n},2019-03-{i + 10:02d}\n" for i, n in enumerate(names))
    import_attributes(s, p, "dates.csv", csv.encode(), actor=maria)
    tree = code_tree(s, p)
    for n, leaves in zip(reversed(names), reversed(PATTERN)):  # coded last-interview first
        doc = get_document(s, p, n)
        for k in leaves:
            apply_codes(s, p, tom, doc, [tree.by_path[LEAVES[k]].id], 0, 11)
    return p, names


def test_generated_project_saturates_where_built(team):
    with team.store.session() as s:
        p, names = _generated(s, team)
        lead = team.member(s, "maria")
        res = project_saturation(s, p, lead, coder="tom", order_attribute="interview_date")
        assert res.order == names
        assert [st.n_new for st in res.steps] == [2, 1, 0, 1, 1, 0, 0, 0]
        assert res.saturation.base_codes == 4
        assert (res.saturation.point, res.saturation.confirmed_at) == (5, 7)
        # families: the base holds Work and Change; interview 5 brings Community (1/2 = 50%)
        fam = project_saturation(s, p, lead, coder="tom", level="family", order_attribute="interview_date")
        assert [st.new for st in fam.steps][:5] == [("Work",), ("Change",), (), (), ("Community",)]
        assert fam.saturation.base_codes == 2 and fam.saturation.runs[0].share == 0.5
        assert (fam.saturation.point, fam.saturation.confirmed_at) == (5, 7)
        # every row the engine read is a stored coding of tom's
        stored = s.scalar(select(Coding.id).where(Coding.project_id == p.id).limit(1))
        assert stored is not None
        assert sum(len(v) for v in res.codes.values()) == sum(len(x) for x in PATTERN)
        with pytest.raises(CodingError, match="no document .* attribute 'date'"):
            project_saturation(s, p, lead, order_attribute="date")


def test_default_order_is_when_documents_were_first_coded(team):
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        tree = code_tree(s, p)
        for name, path in (("Clerk_01", "Work/Clerical work"), ("Docker_02", "Change/Job loss"),
                           ("Docker_01", "Work/Gang labour")):
            apply_codes(s, p, tom, get_document(s, p, name), [tree.by_path[path].id], 0, 5)
            s.commit()
        res = project_saturation(s, p, tom, coder="tom")
        assert res.order == ["Clerk_01", "Docker_02", "Docker_01"]


def test_a_coder_in_an_open_blind_round_counts_only_their_own_codings(team):
    with team.store.session() as s:
        p = team.project(s)
        maria, tom, li = (team.member(s, n) for n in ("maria", "tom", "li"))
        tree = code_tree(s, p)
        doc = get_document(s, p, "Docker_01")
        rnd = open_round(s, p, maria, "R1", blind=True)
        assign(s, p, maria, rnd, [doc], [_coder(s, tom), _coder(s, li)])
        apply_codes(s, p, tom, doc, [tree.by_path["Work/Gang labour"].id], 0, 5)
        apply_codes(s, p, li, doc, [tree.by_path["Community"].id], 0, 5)
        assert project_saturation(s, p, tom).codes == {"Docker_01": {"Work/Gang labour"}}
        assert project_saturation(s, p, maria).codes == {"Docker_01": {"Work/Gang labour", "Community"}}
        assert project_saturation(s, p, li, coder="tom").codes == {}
        with pytest.raises(CodingError, match="no member 'zoe'"):
            project_saturation(s, p, maria, coder="zoe")


def _coder(s, member):
    from coding.store.models import Coder
    return s.get(Coder, member.id)


def test_a_removed_member_is_refused(team):
    from coding.team.projects import remove_member
    with team.store.session() as s:
        p = team.project(s)
        tom = team.member(s, "tom")
        remove_member(s, p, team.member(s, "maria"), "tom")
        with pytest.raises(PermissionDeniedError):
            project_saturation(s, p, tom)


def test_consensus_layer_counts_only_consensus_codings(team):
    with team.store.session() as s:
        p = team.project(s)
        maria, tom = team.member(s, "maria"), team.member(s, "tom")
        tree = code_tree(s, p)
        doc = get_document(s, p, "Docker_02")
        apply_codes(s, p, tom, doc, [tree.by_path["Change/Job loss"].id], 0, 10)
        apply_codes(s, p, maria, doc, [tree.by_path["Community"].id], 0, 10, layer="consensus")
        assert project_saturation(s, p, maria, layer="consensus").codes == {"Docker_02": {"Community"}}
        assert project_saturation(s, p, maria).codes == {"Docker_02": {"Change/Job loss"}}
        with pytest.raises(CodingError, match="layer 'final' is unknown"):
            project_saturation(s, p, maria, layer="final")


# --- the chart (cumulative and new codes per document, the saturation point marked) as PNG/SVG ---

def _chart_rows(spec: dict) -> tuple[list[dict], list[dict]]:
    """The chart's line data and its saturation-point data, from a Vega-Lite spec (Altair
    keeps the data of every layer in the spec's ``datasets``)."""
    sets = list(spec["datasets"].values())
    lines = next(d for d in sets if d and "measure" in d[0])
    marks = [d for d in sets if d and "label" in d[0]]
    return lines, (marks[0] if marks else [])


def _svg_texts(svg: bytes) -> list[str]:
    from xml.etree import ElementTree

    root = ElementTree.fromstring(svg)  # well-formed: every label escaped
    return [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]


def _png_size(png: bytes) -> tuple[int, int]:
    import struct

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def test_chart_of_a_generated_project_marks_its_saturation_point(team):
    from coding.report.saturation_chart import chart_spec, render

    with team.store.session() as s:
        p, names = _generated(s, team)
        res = project_saturation(s, p, team.member(s, "maria"), coder="tom", order_attribute="interview_date")
    spec = chart_spec(res, title="Saturation: harbour <&> \"quay\"")
    lines, mark = _chart_rows(spec)
    assert [r["codes"] for r in lines if r["measure"] == "New codes"] == [2, 1, 0, 1, 1, 0, 0, 0]
    assert [r["codes"] for r in lines if r["measure"] == "Cumulative codes"] == [2, 3, 3, 4, 5, 5, 5, 5]
    assert [r["document"] for r in lines if r["measure"] == "New codes"] == names
    assert mark == [{"position": 5, "label": "saturation: 5 documents (+2 to confirm)"}]
    texts = _svg_texts(render(spec, "svg"))
    assert "Saturation: harbour <&> \"quay\"" in texts and "saturation: 5 documents (+2 to confirm)" in texts
    assert {"Documents", "Codes", "New codes", "Cumulative codes"} <= set(texts)
    width, height = _png_size(render(spec, "png"))
    assert width > 1000 and height > 500  # drawn at twice its size, for print
    with pytest.raises(CodingError, match="use png or svg"):
        render(spec, "pdf")


def test_chart_without_a_saturation_point_has_no_mark(team):
    from coding.report.saturation_chart import chart_spec, render

    with team.store.session() as s:
        p, _ = _generated(s, team)
        res = project_saturation(s, p, team.member(s, "maria"), coder="tom", order_attribute="interview_date",
                                 base_size=4, run_length=4)
    assert not res.saturation.reached  # the one run, documents 5-8, adds 1 code: 25% of the base's 4
    lines, mark = _chart_rows(chart_spec(res))
    assert mark == [] and len(lines) == 16
    assert not any(t and t.startswith("saturation:") for t in _svg_texts(render(chart_spec(res), "svg")))


def test_chart_renders_without_a_network(tmp_path):
    """vl-convert draws in-process with its own fonts: the same chart in a process without a
    network (a new network namespace) is drawn all the same."""
    import shutil
    import subprocess
    import sys

    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rn", "true"]).returncode != 0:
        pytest.skip("no unshare here to take the network away")
    code = ("import sys; from coding.report.saturation import *; from coding.report.saturation_chart import *\n"
            "o=['a','b','c','d','e','f']; c={d: {d} for d in o[:4]}\n"
            "st=new_codes_per_document(o, c); sat=guest_saturation([x.n_new for x in st])\n"
            "res=ProjectSaturation(o, c, st, sat); sys.stdout.buffer.write(render(chart_spec(res), 'svg'))")
    out = subprocess.run(["unshare", "-rn", sys.executable, "-c", code], capture_output=True, timeout=120,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    assert "saturation: 4 documents (+2 to confirm)" in _svg_texts(out.stdout)


def test_cli_writes_the_chart_as_png_and_svg(team, tmp_path, monkeypatch, capsys):
    import json

    from coding.cli.main import main
    from coding.report.saturation_chart import chart_spec, render

    with team.store.session() as s:
        p, _ = _generated(s, team)
        res = project_saturation(s, p, team.member(s, "maria"), coder="tom", order_attribute="interview_date")
    url = str(team.store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CODING_PASSWORD", team.passwords["maria"])
    png, svg = tmp_path / "sat.png", tmp_path / "sat.svg"
    assert main(["--db", url, "--as", "maria", "report", "saturation", "harbour", "--coder", "tom",
                 "--order-by", "interview_date", "--png", str(png), "--svg", str(svg), "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["point"] == 5  # stdout stays JSON; "wrote" goes to stderr
    assert f"wrote {png}" in out.err and f"wrote {svg}" in out.err
    assert svg.read_bytes() == render(chart_spec(res, title="Saturation: harbour"), "svg")
    assert _png_size(png.read_bytes())[0] > 1000
    assert main(["--db", url, "--as", "maria", "report", "saturation", "harbour",
                 "--png", str(tmp_path / "no" / "such" / "dir.png")]) == 1
    assert "cannot write" in capsys.readouterr().err
    assert main(["--db", url, "--as", "maria", "report", "history", "harbour", "--png", str(png)]) == 1
    assert "use them with report saturation" in capsys.readouterr().err


def test_methods_docx_holds_the_chart(team):
    import io

    from docx import Document as Docx

    from coding.report.methods import methods_report
    from coding.report.methods_render import to_docx, to_markdown
    from coding.report.saturation_chart import render

    with team.store.session() as s:
        p, _ = _generated(s, team)
        maria = team.member(s, "maria")
        rep = methods_report(s, p, maria, n_boot=20, order_attribute="interview_date")
        res = project_saturation(s, p, maria, order_attribute="interview_date")
    sec = next(x for x in rep.sections if x.title == "Saturation")
    (caption, spec), = sec.charts
    lines, mark = _chart_rows(spec)
    assert [r["codes"] for r in lines if r["measure"] == "New codes"] == [st.n_new for st in res.steps]
    assert mark[0]["position"] == res.saturation.point == rep.numbers["saturation"]["point"]
    d = Docx(io.BytesIO(to_docx(rep)))
    pic, = d.inline_shapes
    blob = d.part.related_parts[pic._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
    assert blob == render(spec, "png")
    assert abs(pic.width.inches - 6) < 0.01
    assert any(x.text.startswith("Figure: Cumulative codes and new codes per document") for x in d.paragraphs)
    md = to_markdown(rep)
    assert "*Figure: Cumulative codes and new codes per document" in md and "--png FILE.png`" in md
