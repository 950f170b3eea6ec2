"""The methods report on harbour: its numbers are the engine's; history with roles as they
were; the blind rule; DOCX and Markdown; the CLI. One test reads the demo's report (issue 20)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from coding.agreement.project import compute_agreement
from coding.codebook.edits import edit_code
from coding.codebook.tree import code_tree
from coding.report.history import changes_between_rounds, codebook_timeline, rounds_and_versions
from coding.report.methods import methods_report
from coding.report.methods_render import to_docx, to_markdown
from coding.report.saturation import project_saturation
from coding.store.models import Coder, Coding, Document
from coding.team.projects import change_role
from coding.work.codings import apply_codes
from coding.work.documents import get_document
from coding.work.rounds import assign, open_round, reveal
from coding.work.snapshots import save_snapshot


def _study(s, team):
    """Round R1 (blind, both dockers, tom and li), revealed, a snapshot; li made a lead edits a
    definition and is made a coder again; maria edits another; round R2 (blind, Clerk_01) open."""
    p = team.project(s)
    maria, tom, li = (team.member(s, n) for n in ("maria", "tom", "li"))
    coders = [s.get(Coder, tom.id), s.get(Coder, li.id)]
    tree = code_tree(s, p)
    code = {k: tree.by_path[k].id for k in ("Work/Gang labour", "Change/Containerisation", "Change/Job loss",
                                            "Community", "Work/Clerical work")}
    d1, d2, c1 = (get_document(s, p, n) for n in ("Docker_01", "Docker_02", "Clerk_01"))
    r1 = open_round(s, p, maria, "R1", blind=True)
    assign(s, p, maria, r1, [d1, d2], coders)
    apply_codes(s, p, tom, d1, [code["Work/Gang labour"]], 130, 170)
    apply_codes(s, p, li, d1, [code["Work/Gang labour"]], 128, 170)
    apply_codes(s, p, tom, d1, [code["Change/Containerisation"]], 171, 220)
    apply_codes(s, p, li, d2, [code["Change/Job loss"]], 60, 120)
    apply_codes(s, p, tom, d2, [code["Change/Job loss"]], 60, 110)
    apply_codes(s, p, tom, d2, [code["Community"]], 140, 190)
    reveal(s, p, maria, r1)
    rep = compute_agreement(s, p, ["li", "tom"], member=maria, documents=["Docker_01", "Docker_02"], n_boot=200)
    save_snapshot(s, p, maria, rep, label="after R1", round_id=r1.id)
    change_role(s, p, maria, "li", "lead")
    li = team.member(s, "li")
    edit_code(s, p, li, code["Community"], definition="Family, neighbourhood, the pub and the union.")
    change_role(s, p, maria, "li", "coder")
    edit_code(s, p, maria, code["Change/Job loss"], exclusion="Retirement at the normal age.")
    r2 = open_round(s, p, maria, "R2", blind=True)
    assign(s, p, maria, r2, [c1], coders)
    apply_codes(s, p, tom, c1, [code["Change/Job loss"]], 150, 200)
    apply_codes(s, p, li, c1, [code["Work/Clerical work"]], 40, 90)
    s.flush()
    return p, rep


def test_report_numbers_are_the_engines(team):
    with team.store.session() as s:
        p, r1_report = _study(s, team)
        maria = team.member(s, "maria")
        rep = methods_report(s, p, maria, n_boot=200)
        n = rep.numbers
        docs = s.scalars(select(Document.text).where(Document.project_id == p.id)).all()
        assert n["documents"] == 3 and n["words"] == sum(len(t.split()) for t in docs)
        assert (n["leads"], n["coders"]) == (1, 2)
        assert n["codings_coder"] == s.scalar(select(func.count()).select_from(Coding).where(
            Coding.project_id == p.id, Coding.layer == "coder")) == 8
        assert n["rounds"] == 2 and n["codebook_version"] == p.codebook_version
        a1 = n["agreement"]["R1"]
        assert a1["alpha"] == pytest.approx(r1_report.rows[-1].alpha)
        assert a1["kappa"] == pytest.approx(r1_report.rows[-1].kappa)
        assert a1["alpha_ci"] == pytest.approx(r1_report.rows[-1].alpha_ci)
        assert a1["disagreements"] > 0 and a1["decided"] == 0
        sat = project_saturation(s, p, maria)
        assert n["saturation"]["codes"] == sat.saturation.total_codes == 5
        assert n["saturation"]["point"] == sat.saturation.point
        assert n["attributes"] == {"cohort=1970s": 2, "cohort=1980s": 1, "site=North Quay": 2, "site=South Basin": 1}
        assert n["suggested_codings"] == 0 and n["final_codings"] == 8
        for coder, alias in (("tom", "Coder A"), ("li", "Coder B")):
            assert n["saturation"]["per_coder"][alias] == project_saturation(s, p, maria, coder=coder).saturation.point
        changes = next(sec for sec in rep.sections if sec.title == "Appendix: codebook changes between rounds")
        (caption, header, rows), = changes.tables
        assert caption == "Codebook changes between R1 and R2"
        community = next(r for r in rows if r[0] == "Community")
        assert community[1:4] == ["definition changed", "Family, neighbourhood and the union.",
                                  "Family, neighbourhood, the pub and the union."]
        md = to_markdown(rep)
        assert "Round R1: " in md and "Krippendorff" in md and "[^1]: `python -m coding --as maria documents harbour --json`" in md
        assert "tom" not in md.split("## Notes")[0] and "Coder A" in md  # roles, not names, unless --names
        assert "tom (coder)" in to_markdown(methods_report(s, p, maria, names=True, n_boot=50))
        from docx import Document as Docx
        d = Docx(io.BytesIO(to_docx(rep)))
        heads = [x.text for x in d.paragraphs if x.style.name.startswith("Heading")]
        assert heads[:4] == ["Corpus", "Team", "Codebook development", "Coding procedure"]
        assert any("Family, neighbourhood, the pub and the union." in c.text
                   for t in d.tables for row in t.rows for c in row.cells)


def test_history_roles_as_they_were_versions_and_the_diff_between_rounds(team):
    with team.store.session() as s:
        p, _ = _study(s, team)
        maria = team.member(s, "maria")
        edits = [t for t in codebook_timeline(s, p, maria) if t["kind"] == "definition changed"]
        assert [(t["code"], t["role"], t["who"]) for t in edits] == [("Community", "lead", "li")]
        other = [t for t in codebook_timeline(s, p, maria) if t["code"] == "Change/Job loss"]
        assert (other[-1]["kind"], other[-1]["role"]) == ("criteria changed (exclusion)", "lead")
        assert all(t["role"] == "lead" for t in codebook_timeline(s, p, maria) if t["who"] == "maria")
        rounds = rounds_and_versions(s, p, maria)
        assert [r["round"] for r in rounds] == ["R1", "R2"]
        assert rounds[1]["codebook_version"] == rounds[0]["codebook_version"] + 2
        assert rounds[0]["snapshots"][0]["codebook_version"] == rounds[0]["codebook_version"]
        diff = {r["code"]: r for r in changes_between_rounds(s, p, maria, "R1", "R2")}
        assert diff["Community"]["definition_before"] == "Family, neighbourhood and the union."
        assert diff["Community"]["definition_after"] == "Family, neighbourhood, the pub and the union."
        assert diff["Change/Job loss"]["exclusion_after"] == "Retirement at the normal age."
        assert set(diff) == {"Community", "Change/Job loss"}


def test_a_coders_report_in_an_open_blind_round_holds_only_their_own_work(team):
    with team.store.session() as s:
        p, _ = _study(s, team)
        tom = team.member(s, "tom")
        rep = methods_report(s, p, tom, n_boot=50)
        # 8 codings in all; li's one on Clerk_01 (open blind round R2) is hidden from tom
        assert rep.numbers["codings_coder"] == 7
        rounds = next(t for sec in rep.sections for t in sec.tables if t[0] == "Rounds")[2]
        assert [r[4] for r in rounds] == ["Coder A, Coder B", "Coder A"]  # li's R2 assignment is hidden from tom
        assert "R2" not in rep.numbers["agreement"]
        sat = project_saturation(s, p, tom)
        assert sat.codes["Clerk_01"] == {"Change/Job loss"}
        table = next(t for sec in rep.sections for t in sec.tables if t[0] == "New codes per document")
        assert sum(int(r[2]) for r in table[2]) == 5 - 1 + 0  # Work/Clerical work (li's only) not counted
        lead = methods_report(s, p, team.member(s, "maria"), n_boot=50)
        assert lead.numbers["codings_coder"] == 8 and "R2" in lead.numbers["agreement"]


def test_cli_writes_docx_and_markdown(team, tmp_path, monkeypatch, capsys):
    from coding.cli.main import main
    with team.store.session() as s:
        _study(s, team)
    url = str(team.store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CODING_PASSWORD", team.passwords["maria"])
    out = tmp_path / "methods.docx"
    assert main(["--db", url, "--as", "maria", "report", "methods", "harbour", "--out", str(out), "--n-boot", "50"]) == 0
    assert out.read_bytes()[:2] == b"PK"
    assert main(["--db", url, "--as", "maria", "report", "saturation", "harbour", "--base", "1", "--run", "1"]) == 0
    assert "Saturation" in capsys.readouterr().out
    assert main(["--db", url, "--as", "maria", "report", "methods", "harbour", "--out", str(tmp_path / "x.pdf")]) == 1
    assert "ending in .docx or .md" in capsys.readouterr().err


def test_demo_report_reads_like_a_methods_section(demo_store):
    from coding.team.accounts import sign_in
    from coding.team.projects import get_project
    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = sign_in(s, p, "lead")
        rep = methods_report(s, p, lead, n_boot=100)
        md = to_markdown(rep)
        n = rep.numbers
        assert n["documents"] == s.scalar(select(func.count()).select_from(Document).where(Document.project_id == p.id))
        assert f"The corpus comprised {n['documents']} transcripts" in md
        assert f"The team had {n['leads']} lead" in md
        assert "## Saturation" in md and "Guest, Namey &amp; Chen, 2020" in md
        for name, a in n["agreement"].items():
            assert f"Krippendorff's alpha {a['alpha']:.2f}" in md


def test_cli_history_lists_edits_with_roles_and_round_versions(team, monkeypatch, capsys):
    import json

    from coding.cli.main import main
    with team.store.session() as s:
        _study(s, team)
    url = str(team.store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CODING_PASSWORD", team.passwords["tom"])
    assert main(["--db", url, "--as", "tom", "report", "history", "harbour", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(e["kind"], e["code"], e["role"]) for e in out["edits"] if e["action"] == "code.edit"] == [
        ("definition changed", "Community", "lead"), ("criteria changed (exclusion)", "Change/Job loss", "lead")]
    assert [r["round"] for r in out["rounds"]] == ["R1", "R2"]
