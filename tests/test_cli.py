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
