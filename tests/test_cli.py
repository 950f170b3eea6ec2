"""The CLI: a thin shell over the engine with stable exit codes and --json output."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from coding.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]


def run(db_url, *args):
    """The CLI as a user runs it: a separate process."""
    return subprocess.run([sys.executable, "-m", "coding", "--db", db_url, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_init_import_documents_codes(db_url, tmp_path, capsys):
    (tmp_path / "P1.txt").write_text("[00:00:01] Interviewer: Hola\n\n[00:00:05] Directora: Buenas tardes\n",
                                     encoding="utf-8")
    (tmp_path / "attrs.csv").write_text("document,role\nP1,Principal\n")
    assert main(["--db", db_url, "init", "s"]) == 0
    assert main(["--db", db_url, "import", "s", str(tmp_path / "P1.txt"), "--language", "es",
                 "--attributes", str(tmp_path / "attrs.csv")]) == 0
    assert main(["--db", db_url, "codebook", "import", "s", str(REPO / "codebooks" / "cic.yaml")]) == 0
    capsys.readouterr()
    assert main(["--db", db_url, "documents", "s", "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert docs[0]["name"] == "P1" and docs[0]["language"] == "es"
    assert docs[0]["attributes"] == {"role": "Principal"}
    assert docs[0]["speakers"] == [{"speaker": "Interviewer", "turns": 1}, {"speaker": "Directora", "turns": 1}]
    assert set(docs[0]) >= {"name", "language", "characters", "attributes", "speakers"}
    assert main(["--db", db_url, "codes", "s", "--json"]) == 0
    codes = json.loads(capsys.readouterr().out)
    assert codes[0]["path"] == "CIC Project" and not codes[0]["codable"]
    assert "CIC Project/Collaboration between teachers/Feedback" in {c["path"] for c in codes}
    out = tmp_path / "out.yaml"
    assert main(["--db", db_url, "codebook", "export", "s", str(out)]) == 0
    assert "Collaboration between teachers" in out.read_text(encoding="utf-8")


def test_exit_codes_and_one_line_errors(db_url, tmp_path):
    r = run(db_url, "documents", "missing")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "no project named 'missing'" in r.stderr and "init" in r.stderr
    r = run(db_url, "frobnicate")
    assert r.returncode == 2
    (tmp_path / "bad.txt").write_bytes(b"")
    assert run(db_url, "init", "p").returncode == 0
    r = run(db_url, "import", "p", str(tmp_path / "bad.txt"))
    assert r.returncode == 1 and "bad.txt" in r.stderr and "empty" in r.stderr
    (tmp_path / "book.yaml").write_text("codes: [{name: A, colour: blue}]")
    r = run(db_url, "codebook", "import", "p", str(tmp_path / "book.yaml"))
    assert r.returncode == 1 and "code 'A': field 'colour'" in r.stderr


def test_demo_is_idempotent(db_url):
    first = run(db_url, "demo")
    assert first.returncode == 0, first.stderr
    assert "built project 'demo'" in first.stdout
    second = run(db_url, "demo")
    assert second.returncode == 0 and "already present" in second.stdout


def test_every_command_is_documented_in_help_and_readme():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name, sp in sub.choices.items():
        assert sp.description or sub._name_parser_map[name].format_help()
        assert re.search(rf"python -m coding .*\b{name}\b", readme), f"README does not document `{name}`"
    help_text = parser.format_help()
    for name in sub.choices:
        assert name in help_text


@pytest.mark.parametrize("argv", [["--help"], ["import", "--help"], ["codebook", "--help"]])
def test_help_exits_zero(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0


def test_reliability_reproduces_krippendorffs_example(tmp_path, capsys):
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
    4 coders x 12 units with missing data: nominal .743, interval .849."""
    rows = ["A,B,C,D", "1,1,,1", "2,2,3,2", "3,3,3,3", "3,3,3,3", "2,2,2,2", "1,2,3,4", "4,4,4,4",
            "1,1,2,1", "2,2,2,2", ",5,5,5", ",,1,1", ",3,,"]
    f = tmp_path / "rel.csv"
    f.write_text("\n".join(rows) + "\n")
    assert main(["reliability", str(f), "--level", "interval", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    alpha = {c["level"]: c["value"] for c in out["coefficients"] if c["name"] == "krippendorff_alpha"}
    assert round(alpha["nominal"], 3) == 0.743 and round(alpha["interval"], 3) == 0.849
    assert "cohen_kappa" not in {c["name"] for c in out["coefficients"]}  # 4 coders
    bad = tmp_path / "bad.csv"
    bad.write_text("A,B\n1,2,3\n")
    assert main(["reliability", str(bad)]) == 1
    assert "row 1" in capsys.readouterr().err


def test_agreement_on_the_demo(db_url, capsys):
    assert main(["--db", db_url, "demo"]) == 0
    capsys.readouterr()
    assert main(["--db", db_url, "agreement", "demo", "--coders", "ana", "ben", "--json", "--no-ci"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["unit"] == "character" and len(report["options"]["documents"]) == 4
    overall = report["codes"][-1]
    assert overall["code"] == "(all codes)"
    assert 0.6 < overall["alpha"] < 0.9 and overall["percent_coded"] < overall["percent"]
    assert main(["--db", db_url, "agreement", "demo", "--coders", "ana", "ben", "--unit", "turn", "--md",
                 "--code", "Synthesis/Aspects to keep"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("| Code |") and "Synthesis/Aspects to keep" in md
    assert main(["--db", db_url, "agreement", "demo", "--coders", "ana", "--csv"]) == 1
    assert "at least two different coders" in capsys.readouterr().err
