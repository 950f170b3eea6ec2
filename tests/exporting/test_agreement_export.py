"""Agreement as an export (issue 16, item 7): ``export agreement`` and the Agreement page's
files hold exactly :func:`coding.agreement.project.compute_agreement`'s figures, on harbour
with codings tom and li make in the test, and follow the blind rule and role changes.

The figures themselves are the engine's, tested against published values in
tests/agreement; here every exported number is compared with the report computed beside it.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime

import docx
import openpyxl
import pytest
from sqlalchemy import select

from coding.agreement.project import compute_agreement
from coding.agreement.tables import report_csv
from coding.cli.main import main as cli
from coding.errors import AgreementError, PermissionDeniedError
from coding.exporting.agreement_export import agreement_file, export_agreement
from coding.store.models import Coder, Document
from coding.team.projects import change_role
from coding.work.rounds import assign, get_round, open_round, reveal
from tests.conftest import TEAM_PASSWORDS
from tests.exporting.test_coded_exports import CODINGS, _code

WHEN = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)


@pytest.fixture
def round_coded(team):
    """tom and li code every harbour document in the blind round "Round 1" (still open)."""
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        rnd = open_round(s, p, maria, "Round 1", blind=True)
        docs = list(s.scalars(select(Document).where(Document.project_id == p.id)))
        coders = list(s.scalars(select(Coder).where(Coder.project_id == p.id, Coder.name.in_(["tom", "li"]))))
        assign(s, p, maria, rnd, docs, coders)
        for c in CODINGS:
            _code(s, p, *c)
    return team


def _reveal(team):
    with team.store.session() as s:
        p = team.project(s)
        reveal(s, p, team.member(s, "maria"), get_round(s, p, "Round 1"))


def _report(team, who, **kw):
    with team.store.session(write=False) as s:
        return compute_agreement(s, team.project(s), ["tom", "li"], member=team.member(s, who), **kw)


def _export(team, who, fmt, **kw):
    with team.store.session(write=False) as s:
        return export_agreement(s, team.project(s), team.member(s, who), fmt, coders=["tom", "li"], when=WHEN, **kw)


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def test_xlsx_holds_overall_per_code_per_document_and_about(round_coded):
    rep = _report(round_coded, "maria", seed=0)
    out = _export(round_coded, "maria", "xlsx")
    assert out.filename == "harbour-agreement-character.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(out.data))
    assert wb.sheetnames == ["Overall", "Per code", "Per document", "About"]
    per_code = list(wb["Per code"].iter_rows(values_only=True))
    head = per_code[0]
    assert [r[0] for r in per_code[1:]] == [r.code for r in rep.rows]  # code paths, "(all codes)" last
    for got, row in zip(per_code[1:], rep.rows):
        cells = dict(zip(head, got))
        for key in ("n_units", "n_coded", "percent", "percent_coded", "kappa", "alpha", "alpha_coded", "u_alpha"):
            assert _same(getattr(row, key), cells[key]), (row.code, key)
        assert _same(row.alpha_ci[0] if row.alpha_ci else None, cells["alpha_ci_low"])
        assert cells["verdict"] == row.verdict
    overall = list(wb["Overall"].iter_rows(values_only=True))
    assert len(overall) == 2 and overall[1] == per_code[-1]
    docs = list(wb["Per document"].iter_rows(values_only=True))
    assert docs[0] == ("document", "code", "unit", "coded", "percent", "kappa")
    assert len(docs) - 1 == len(rep.by_document) == 3 * (len(rep.rows) - 1)
    for got, cell in zip(docs[1:], rep.by_document):
        assert got[:2] == (cell["document"], cell["code"]) and got[3] == cell["coded"]
        assert _same(cell["percent"], got[4]) and _same(cell["kappa"], got[5])
    about = dict(wb["About"].iter_rows(values_only=True))
    assert about["Coders"] == "tom, li" and about["Unit"] == "character"
    assert about["Documents"] == "Clerk_01; Docker_01; Docker_02"
    assert about["Codes"] == "; ".join(r.code for r in rep.rows[:-1]) and "Work/Gang labour" in about["Codes"]
    assert about["Computed"] == "2026-12-07 23:00 UTC" and "Krippendorff" in about["Method"]
    assert not any(len(v) == 36 and v.count("-") == 4 for v in about.values())  # no code id anywhere


def test_csv_md_and_docx_carry_the_same_figures(round_coded):
    rep = _report(round_coded, "maria", unit="turn", ci=False)
    csv_codes = _export(round_coded, "maria", "csv", unit="turn", ci=False).data.decode("utf-8-sig")
    assert csv_codes == report_csv(rep)  # the agreement command's --csv, byte for byte
    docs = list(csv.DictReader(io.StringIO(
        _export(round_coded, "maria", "csv", unit="turn", ci=False, table="documents").data.decode("utf-8-sig"))))
    assert [(d["document"], d["code"], int(d["coded"])) for d in docs] == [
        (c["document"], c["code"], c["coded"]) for c in rep.by_document]
    md = _export(round_coded, "maria", "md", unit="turn", ci=False).data.decode()
    assert "## Overall" in md and "## Per code" in md and "## Per document" in md
    assert f"| Community | turn | {rep.rows[[r.code for r in rep.rows].index('Community')].n_units} |" in md
    d = docx.Document(io.BytesIO(_export(round_coded, "maria", "docx", unit="turn", ci=False).data))
    headings = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    assert headings == ["Method", "Agreement per code", "Agreement per document"]
    assert len(d.tables[1].rows) == len(rep.by_document) + 1
    assert agreement_file(rep, "harbour", "xlsx", when=WHEN)[:2] == b"PK"


def test_blind_round_a_coder_cannot_export_the_others_work(round_coded):
    with pytest.raises(AgreementError, match="no document has codings by all of tom, li"):
        _export(round_coded, "tom", "xlsx")
    with pytest.raises(PermissionDeniedError, match="open blind round"):
        _export(round_coded, "tom", "csv", documents=["Docker_01"])
    assert _export(round_coded, "maria", "csv").data  # a lead may, during the round
    # li made a lead: her next export is allowed; made a coder again: refused again
    with round_coded.store.session() as s:
        change_role(s, round_coded.project(s), round_coded.member(s, "maria"), "li", "lead")
    assert _export(round_coded, "li", "csv").data == _export(round_coded, "maria", "csv").data
    with round_coded.store.session() as s:
        change_role(s, round_coded.project(s), round_coded.member(s, "maria"), "li", "coder")
    with pytest.raises(AgreementError):
        _export(round_coded, "li", "csv")
    _reveal(round_coded)
    assert _export(round_coded, "tom", "csv").data == _export(round_coded, "maria", "csv").data


def test_cli_export_agreement(round_coded, tmp_path, monkeypatch, capsys):
    _reveal(round_coded)
    url = round_coded.store.url
    monkeypatch.setenv("CODING_PASSWORD", TEAM_PASSWORDS["tom"])
    target = tmp_path / "a.xlsx"
    assert cli(["--db", url, "--as", "tom", "export", "agreement", "harbour", "--coders", "tom", "li",
                "--unit", "segment", "--format", "xlsx", "--out", str(target)]) == 0
    rep = _report(round_coded, "tom", unit="segment")
    rows = list(openpyxl.load_workbook(target)["Per code"].iter_rows(values_only=True))
    assert [(r[0], r[2]) for r in rows[1:]] == [(r.code, r.n_units) for r in rep.rows]
    assert all(_same(r.percent, got[4]) for r, got in zip(rep.rows, rows[1:]))  # XLSX keeps 15-16 digits
    assert cli(["--db", url, "--as", "tom", "export", "agreement", "harbour", "--format", "xlsx",
                "--out", str(tmp_path / "b.xlsx")]) == 1
    assert "--coders" in capsys.readouterr().err
    assert not (tmp_path / "b.xlsx").exists()
