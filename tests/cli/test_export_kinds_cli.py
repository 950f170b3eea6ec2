"""The CLI of ``export agreement|segments|framework|document`` (issue 16, items 7 and 8) on
harbour: defaults (format, file name), errors that name what to do, and nothing written
when refused. What the files hold is tested in tests/exporting."""

from __future__ import annotations

import csv
import io

import pytest

from coding.cli.main import build_parser, main as cli
from tests.conftest import TEAM_PASSWORDS
from tests.exporting.test_coded_exports import CODINGS, _code


@pytest.fixture
def coded(team):
    with team.store.session() as s:
        p = team.project(s)
        for c in CODINGS:
            _code(s, p, *c)
    return team


def test_help_names_the_new_exports():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    export = sub.choices["export"]
    what = next(a for a in export._actions if a.dest == "what")
    assert {"agreement", "segments", "framework", "document"} <= set(what.choices)
    assert "one 0/1 column per code" in export.description and "comments in the margin" in export.description


def test_defaults_and_errors(coded, tmp_path, monkeypatch, capsys):
    url = coded.store.url
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CODING_PASSWORD", TEAM_PASSWORDS["li"])
    # default format (the first offered) and file name
    assert cli(["--db", url, "--as", "li", "export", "segments", "harbour"]) == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "harbour-segments.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == 9 and {r["coder"] for r in rows} == {"tom", "li"}  # no round: li sees tom's work
    assert cli(["--db", url, "--as", "li", "export", "document", "harbour", "--document", "Clerk_01"]) == 0
    assert (tmp_path / "harbour-Clerk_01.docx").stat().st_size > 0
    assert cli(["--db", url, "--as", "li", "export", "agreement", "harbour", "--coders", "tom", "li",
                "--no-ci", "--table", "overall"]) == 0
    overall = list(csv.DictReader(io.StringIO(
        (tmp_path / "harbour-agreement-character-overall.csv").read_text(encoding="utf-8-sig"))))
    assert [r["code"] for r in overall] == ["(all codes)"]
    capsys.readouterr()
    # errors: one line naming what to do; no file
    for argv, message in (
        (["export", "agreement", "harbour", "--coders", "tom", "nobody"], "nobody"),
        (["export", "framework", "harbour", "--document", "Docker_99"], "no document named 'Docker_99'"),
        (["export", "segments", "harbour", "--format", "docx"], "segments exports as csv, xlsx, not 'docx'"),
        (["export", "agreement", "harbour", "--coders", "tom", "li", "--format", "json"],
         "agreement exports as csv, xlsx, md, docx, not 'json'"),
    ):
        assert cli(["--db", url, "--as", "li", *argv, "--out", str(tmp_path / "refused.out")]) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err, (argv, err)
        assert not (tmp_path / "refused.out").exists()
