"""The CLI: a thin shell over the engine with stable exit codes and --json output."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from coding.cli.main import build_parser, main

REPO = Path(__file__).resolve().parents[2]


def run(db_url, *args):
    """The CLI as a user runs it: a separate process."""
    return subprocess.run([sys.executable, "-m", "coding", "--db", db_url, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_init_import_documents_codes(db_url, tmp_path, capsys):
    (tmp_path / "P1.txt").write_text("[00:00:01] Interviewer: Hola\n\n[00:00:05] Directora: Buenas tardes\n",
                                     encoding="utf-8")
    (tmp_path / "attrs.csv").write_text("document,role\nP1,Principal\n")
    assert main(["--db", db_url, "init", "s", "--lead", "lead", "--local"]) == 0
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
    assert run(db_url, "init", "p", "--lead", "lead", "--local").returncode == 0
    r = run(db_url, "import", "p", str(tmp_path / "bad.txt"))
    assert r.returncode == 1 and "bad.txt" in r.stderr and "empty" in r.stderr
    (tmp_path / "book.yaml").write_text("codes: [{name: A, colour: blue}]")
    r = run(db_url, "codebook", "import", "p", str(tmp_path / "book.yaml"))
    assert r.returncode == 1 and "code 'A': field 'colour'" in r.stderr


def test_demo_is_idempotent(db_url):
    first = run(db_url, "demo", "--no-process")
    assert first.returncode == 0, first.stderr
    assert "built project 'demo'" in first.stdout
    second = run(db_url, "demo", "--no-process")
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
    assert main(["--db", db_url, "demo", "--no-process"]) == 0
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


LEAD_PW = "plum orchard lantern"
ANA_PW = "river stone quietly"


def _events(db_url):
    from coding.store import Store
    from coding.store.models import Event

    st = Store(db_url, run_migrations=False)
    try:
        with st.session() as s:
            return [(e.actor, e.action, json.loads(e.payload)) for e in s.query(Event).order_by(Event.seq)]
    finally:
        st.dispose()


def test_a_protected_project_from_the_cli(db_url, monkeypatch, capsys):
    for var in ("CODING_PASSWORD", "CODING_NEW_PASSWORD", "CODING_AS", "CODING_TOKEN"):
        monkeypatch.delenv(var, raising=False)

    def cli(*argv, password=None, new=None):
        for var, value in (("CODING_PASSWORD", password), ("CODING_NEW_PASSWORD", new)):
            if value is None:
                monkeypatch.delenv(var, raising=False)
            else:
                monkeypatch.setenv(var, value)
        code = main(["--db", db_url, *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, _, err = cli("--as", "maria", "init", "study")
    assert code == 1 and "set CODING_NEW_PASSWORD" in err  # no terminal to ask on, and nothing stored
    assert cli("--as", "maria", "init", "study", new="maria")[0] == 1
    assert cli("--as", "maria", "init", "study", new=LEAD_PW)[0] == 0
    code, _, err = cli("documents", "study")
    assert code == 1 and "say who you are in 'study': --as NAME" in err
    code, _, err = cli("--as", "maria", "documents", "study")
    assert code == 1 and "set CODING_PASSWORD" in err
    code, _, err = cli("--as", "maria", "documents", "study", password="not the password")
    assert code == 1 and "name or password is wrong" in err
    assert cli("--as", "maria", "documents", "study", password=LEAD_PW)[0] == 0

    assert cli("--as", "maria", "member", "add", "study", "ana", password=LEAD_PW, new="temporary pass 1")[0] == 0
    code, _, err = cli("--as", "ana", "member", "add", "study", "eve", "--role", "lead",
                       password="temporary pass 1", new="temporary pass 2")
    assert code == 1 and "'ana' is a coder and cannot add members: only a lead can" in err
    assert cli("--as", "ana", "passwd", "study", password="temporary pass 1", new=ANA_PW)[0] == 0
    assert cli("--as", "ana", "documents", "study", password="temporary pass 1")[0] == 1
    assert cli("--as", "ana", "documents", "study", password=ANA_PW)[0] == 0

    code, out, _ = cli("--as", "maria", "member", "list", "study", "--json", password=LEAD_PW)
    assert code == 0
    assert [(r["name"], r["role"], r["password"]) for r in json.loads(out)] == [
        ("ana", "coder", "set"), ("maria", "lead", "set")]
    assert cli("--as", "maria", "member", "role", "study", "ana", "--role", "lead", password=LEAD_PW)[0] == 0
    assert cli("--as", "ana", "member", "role", "study", "maria", "--role", "coder", password=ANA_PW)[0] == 0
    code, _, err = cli("--as", "ana", "member", "remove", "study", "ana", password=ANA_PW)
    assert code == 1 and "'ana' is the last lead of 'study'" in err
    assert cli("--as", "ana", "member", "reset-password", "study", "maria", password=ANA_PW,
               new="temporary pass 3")[0] == 0
    code, _, err = cli("--as", "maria", "member", "add", "study", "x", password="temporary pass 3", new="tmp pass 44")
    assert code == 1 and "only a lead" in err

    code, out, _ = cli("--as", "ana", "login", "study", "--json", password=ANA_PW)
    token = json.loads(out)["token"]
    assert cli("--token", token, "codes", "study")[0] == 0
    code, _, err = cli("--token", token, "--as", "maria", "codes", "study")
    assert code == 1 and "the token is 'ana''s" in err
    assert cli("--token", token, "logout")[0] == 0
    code, _, err = cli("--token", token, "codes", "study")
    assert code == 1 and "session was ended" in err
    with pytest.raises(SystemExit) as e:
        cli("--as", "ana", "member", "remove", "study")  # whom?
    assert e.value.code == 2

    events = _events(db_url)
    assert all(actor != "system" for actor, _, _ in events)
    assert ("ana", "member.role", {"name": "maria", "before": "lead", "after": "coder"}) in events
    assert ("ana", "member.password", {"name": "maria", "reset": True}) in events
    assert ("maria", "member.add", {"name": "ana", "role": "coder"}) in events
    logged = json.dumps(events)
    assert not any(pw in logged for pw in (LEAD_PW, ANA_PW, "temporary pass 1", "temporary pass 3"))


def test_local_mode_cli_acts_as_the_only_lead_and_names_them(db_url, tmp_path, monkeypatch, capsys):
    for var in ("CODING_PASSWORD", "CODING_NEW_PASSWORD", "CODING_AS", "CODING_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "P1.txt").write_text("Interviewer: Hola\n\nDirectora: Buenas tardes\n", encoding="utf-8")
    assert main(["--db", db_url, "init", "solo", "--lead", "pat", "--local"]) == 0
    assert main(["--db", db_url, "import", "solo", str(tmp_path / "P1.txt")]) == 0
    assert main(["--db", db_url, "member", "add", "solo", "kim", "--no-password"]) == 0
    assert main(["--db", db_url, "--as", "kim", "documents", "solo"]) == 0
    assert main(["--db", db_url, "--as", "kim", "member", "add", "solo", "eve", "--no-password"]) == 1
    assert "cannot add members: only a lead can" in capsys.readouterr().err
    # protecting the project needs the lead's own password first
    assert main(["--db", db_url, "local-mode", "solo", "off"]) == 1
    assert "set your own password first" in capsys.readouterr().err
    monkeypatch.setenv("CODING_NEW_PASSWORD", LEAD_PW)
    assert main(["--db", db_url, "passwd", "solo"]) == 0
    monkeypatch.setenv("CODING_PASSWORD", LEAD_PW)
    assert main(["--db", db_url, "local-mode", "solo", "off"]) == 0
    assert "no password yet (reset one for each): kim" in capsys.readouterr().err
    events = _events(db_url)
    assert [(a, k) for a, k, _ in events if k in ("project.create", "document.import", "member.add",
                                                  "member.password", "project.local_mode")] == [
        ("pat", "project.create"), ("pat", "member.add"), ("pat", "document.import"), ("pat", "member.add"),
        ("pat", "member.password"), ("pat", "project.local_mode")]


def test_the_demo_is_local_by_default_and_protected_on_request(db_url, monkeypatch, capsys):
    from coding.store import Store
    from coding.store.models import Project

    monkeypatch.setenv("CODING_NEW_PASSWORD", "demo study password")
    r = run(db_url, "demo", "--protected", "--no-process")  # the environment reaches the child process
    assert r.returncode == 0 and "(protected)" in r.stdout, r.stderr
    st = Store(db_url, run_migrations=False)
    try:
        with st.session() as s:
            assert s.query(Project).one().local_mode is False
    finally:
        st.dispose()
    monkeypatch.setenv("CODING_PASSWORD", "demo study password")
    assert main(["--db", db_url, "--as", "ben", "codes", "demo"]) == 0


def test_an_import_killed_midway_keeps_the_files_it_finished(db_url, tmp_path, monkeypatch):
    """kill -9 during `import`: every file committed before the kill stays, whole; none half-stored."""
    import os
    import signal
    import time

    from sqlalchemy import func, select

    from coding.store import Store
    from coding.store.models import Document

    for var in ("CODING_PASSWORD", "CODING_AS", "CODING_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    turns = [("Interviewer: " if k % 2 == 0 else f"Teacher {k % 7}: ") + f"turn {k} " + "we planned it " * 20
             for k in range(4000)]
    texts = {}
    for i in range(40):
        texts[f"P{i:02d}"] = f"Interview {i}\n\n" + "\n\n".join(turns) + "\n"
        (tmp_path / f"P{i:02d}.txt").write_text(texts[f"P{i:02d}"], encoding="utf-8")
    assert run(db_url, "init", "big", "--lead", "lead", "--local").returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "coding", "--db", db_url, "import", "big",
                             *sorted(str(p) for p in tmp_path.glob("P*.txt"))],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    st = Store(db_url, run_migrations=False)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with st.session() as s:
                if s.scalar(select(func.count()).select_from(Document)):
                    break
            time.sleep(0.05)
        assert proc.poll() is None, "the import ended before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        with st.session() as s:
            stored = {d.name: d.text for d in s.scalars(select(Document))}
    finally:
        st.dispose()
    assert 1 <= len(stored) < 40
    assert all(text == texts[name] for name, text in stored.items())


def test_codes_counts_follow_the_blind_rule_for_the_acting_member(db_url, monkeypatch, capsys):
    """`codes --json` counts as the --as member: ben's coding in an open blind round does not
    move ana's count; the lead's count moves by one."""
    from coding.codebook.tree import code_tree
    from coding.work.codings import apply_codes
    from coding.work.documents import get_document
    from coding.team.projects import get_project
    from coding.team.members import Member, get_member
    from coding.work.rounds import assign, open_round
    from coding.store import Store

    for var in ("CODING_PASSWORD", "CODING_AS", "CODING_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    assert main(["--db", db_url, "demo", "--no-process"]) == 0
    plan = "CIC Project/Collaboration between teachers/Joint planning"

    def counts(who: str) -> int:
        capsys.readouterr()
        assert main(["--db", db_url, "--as", who, "codes", "demo", "--json"]) == 0
        return next(r["codings"] for r in json.loads(capsys.readouterr().out) if r["path"] == plan)

    before = {who: counts(who) for who in ("ana", "lead")}
    st = Store(db_url, run_migrations=False)
    try:
        with st.session() as s:
            p = get_project(s, "demo")
            lead, ana, ben = (Member.of(get_member(s, p, n)) for n in ("lead", "ana", "ben"))
            doc = get_document(s, p, "P02_teacher_School-I_3")
            assign(s, p, lead, open_round(s, p, lead, "R2", blind=True), [doc], [ana, ben])
            apply_codes(s, p, ben, doc, [code_tree(s, p).resolve(plan).id], 10, 50)
    finally:
        st.dispose()
    assert counts("ana") == before["ana"]
    assert counts("lead") == before["lead"] + 1
