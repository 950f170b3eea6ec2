"""``python -m coding``: a thin, scriptable shell over the engine.

Every command that touches a project acts as a named member (``--as NAME``), and
the engine records that member in the event log. A protected project asks for
the member's password (``CODING_PASSWORD``, else a prompt on a terminal) or takes
a session token (``--token`` or ``CODING_TOKEN``, from ``login``). In local
single-user mode a member without a password needs none, and ``--as`` defaults
to the project's only lead.

Exit status: 0 success, 1 bad input (one line on stderr), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable

from . import __version__
from .errors import CodingError
from .store import Store

COMMANDS: dict[str, Callable] = {}
STORELESS = {"reliability", "migrate"}  # commands that open no Store (migrate opens its own engine)


def command(name: str):
    def deco(fn):
        COMMANDS[name] = fn
        return fn
    return deco


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _secret(env: str, prompt: str, *, fallback_env: str | None = None, confirm: bool = False) -> str:
    """A password from ``env`` (or ``fallback_env``), else typed at a terminal prompt."""
    value = os.environ.get(env) or (os.environ.get(fallback_env) if fallback_env else None)
    if value:
        return value
    if not sys.stdin.isatty():
        raise CodingError(f"a password is needed and there is no terminal to ask it on: set {env}"
                          + (" (or use --token TOKEN from `login`)" if env == "CODING_PASSWORD" else ""))
    value = getpass.getpass(prompt)
    if confirm and getpass.getpass("Again: ") != value:
        raise CodingError("the two passwords differ: run the command again")
    return value


def _asked(args, key: str, ask: Callable[[], str]) -> str:
    """``ask()``'s answer, asked once per command: a transaction that is re-run on a clash
    with other writers (``Store.run``) does not prompt again."""
    answers = vars(args).setdefault("_answers", {})
    if key not in answers:
        answers[key] = ask()
    return answers[key]


def _acting(s, project, args):
    """The member the command acts as: by token, or ``--as NAME`` signed in with a
    password (none for a member without one in local mode)."""
    from .auth import resume_session, sign_in
    from .projects import members

    token = args.token or os.environ.get("CODING_TOKEN")
    if token:
        member, _ = resume_session(s, token)
        if member.project_id != project.id:
            raise CodingError(f"the token is for another project than {project.name!r}: use that project's token")
        if args.as_name and args.as_name != member.name:
            raise CodingError(f"the token is {member.name!r}'s, not {args.as_name!r}'s: drop --as or the token")
        return member
    name = args.as_name or os.environ.get("CODING_AS")
    if not name and project.local_mode:
        leads = [c for c in members(s, project, active_only=True) if c.role == "lead"]
        if len(leads) == 1:
            name = leads[0].name
    if not name:
        raise CodingError(f"say who you are in {project.name!r}: --as NAME (or CODING_AS), or --token TOKEN")
    coder = next((c for c in members(s, project) if c.name == name), None)
    password = None
    if coder is None or coder.password_hash is not None or not project.local_mode:
        password = _asked(args, "password",
                          lambda: _secret("CODING_PASSWORD", f"Password for {name} in {project.name}: "))
    member = sign_in(s, project, name, password, source="cli")
    args.signed_in_with = password  # passwd needs it again as the current password
    return member


def _project_and_member(s, args):
    from .projects import get_project

    project = get_project(s, args.name)
    return project, _acting(s, project, args)


def _signed_in(store: Store, args):
    """(project, member) for a command that then only reads. Signing in writes (it records
    the attempt, and notes a token's use), so it runs in a short transaction of its own,
    re-run on a clash; the reads follow in a read session beside the writers."""
    return store.run(lambda s: _project_and_member(s, args))


@command("init")
def cmd_init(store: Store, args) -> int:
    from .projects import create_project

    lead = args.lead or args.as_name or os.environ.get("CODING_AS")
    if not lead:
        raise CodingError("name the project's lead: --lead NAME (or --as NAME); you become its lead")
    password = None
    if not args.local:
        password = _secret("CODING_NEW_PASSWORD", f"Choose a password for {lead} (at least 10 characters): ",
                           fallback_env="CODING_PASSWORD", confirm=True)
    p = store.run(lambda s: create_project(s, args.name, lead_name=lead, lead_password=password,
                                           local_mode=args.local))
    mode = "local single-user mode (this computer only)" if args.local else "protected"
    print(f"created project {p.name!r} ({p.id}), {mode}, lead {lead!r}")
    return 0


@command("passwd")
def cmd_passwd(store: Store, args) -> int:
    from .auth import set_password
    from .projects import active_coder

    def change(s):
        project, member = _project_and_member(s, args)
        old = getattr(args, "signed_in_with", None)
        if old is None and active_coder(s, member).password_hash is not None:  # signed in by token
            old = _asked(args, "old", lambda: _secret("CODING_PASSWORD", f"Current password for {member.name}: "))
        new = _asked(args, "new", lambda: _secret("CODING_NEW_PASSWORD", f"New password for {member.name}: ",
                                                  confirm=True))
        set_password(s, project, member, new, old_password=old)
        return f"password of {member.name!r} in {project.name!r} changed; their other sessions ended"
    print(store.run(change))
    return 0


@command("login")
def cmd_login(store: Store, args) -> int:
    from .auth import open_session

    def login(s):
        project, member = _project_and_member(s, args)
        return project, member, open_session(s, member, client="cli", kind="cli")
    project, member, issued = store.run(login)
    if args.json:
        _print_json({"token": issued.secret, "member": member.name, "project": project.name,
                     "expires_at": issued.expires_at.isoformat()})
    else:
        print(issued.secret)
        print(f"token for {member.name!r} in {project.name!r}, valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC: "
              "pass it as --token or CODING_TOKEN; `logout` ends it", file=sys.stderr)
    return 0


@command("logout")
def cmd_logout(store: Store, args) -> int:
    from .auth import close_session, resume_session

    token = args.token or os.environ.get("CODING_TOKEN")
    if not token:
        raise CodingError("give the token to end: --token TOKEN (or CODING_TOKEN)")
    def logout(s):
        member, sid = resume_session(s, token)
        close_session(s, sid)
        return member
    member = store.run(logout)
    print(f"session of {member.name!r} ended")
    return 0


@command("member")
def cmd_member(store: Store, args) -> int:
    from .auth import member_overview, reset_password
    from .projects import add_member, change_role, get_project, remove_member

    if args.action == "list":
        _, me = _signed_in(store, args)
        with store.session(write=False) as s:
            rows = [{**r, "locked_until": r["locked_until"] and r["locked_until"].isoformat(),
                     "last_sign_in": r["last_sign_in"] and r["last_sign_in"].isoformat()}
                    for r in member_overview(s, get_project(s, args.name), me)]
        if args.json:
            _print_json(rows)
        else:
            for r in rows:
                state = "removed" if r["removed"] else (f"locked until {r['locked_until']}" if r["locked_until"]
                                                        else "active")
                print(f"{r['name']}  {r['role']}  password: {r['password']}  {state}")
        return 0

    def temporary() -> str:
        return _asked(args, "temporary", lambda: _secret("CODING_NEW_PASSWORD",
                                                         f"Temporary password for {args.member}: ", confirm=True))

    def change(s) -> str:
        project, me = _project_and_member(s, args)
        if args.action == "add":
            password = None
            if not (project.local_mode and args.no_password):
                password = temporary()
            add_member(s, project, args.member, args.role or "coder", actor=me, password=password)
            return (f"added {args.member!r} as {args.role or 'coder'}"
                    + ("; they choose their own password at the first sign-in" if password else ""))
        if args.action == "role":
            if not args.role:
                raise CodingError("give the new role: --role lead or --role coder")
            change_role(s, project, me, args.member, args.role)
            return f"{args.member!r} is now a {args.role}"
        if args.action == "remove":
            remove_member(s, project, me, args.member)
            return f"removed {args.member!r}: their sessions ended; their codings and memos stay"
        reset_password(s, project, me, args.member, temporary())  # reset-password
        return f"password of {args.member!r} reset; they choose their own at the next sign-in"
    print(store.run(change))
    return 0


@command("local-mode")
def cmd_local_mode(store: Store, args) -> int:
    from .projects import set_local_mode

    def switch(s):
        project, me = _project_and_member(s, args)
        return project, set_local_mode(s, project, me, args.state == "on")
    project, without = store.run(switch)
    if args.state == "on":
        print(f"{project.name!r} is in local single-user mode: serve it on 127.0.0.1 only")
    else:
        print(f"{project.name!r} is protected: every member signs in with a password")
        if without:
            print(f"warning: no password yet (reset one for each): {', '.join(without)}", file=sys.stderr)
    return 0


@command("import")
def cmd_import(store: Store, args) -> int:
    from .documents import import_files_committing

    # Who acts is settled in a short session; each file then commits on its own, so an
    # interrupted import (Ctrl-C, a killed process) keeps every file finished before it.
    project, member = _signed_in(store, args)
    project_name = project.name
    report = import_files_committing(store, project_name, args.paths, language=args.language,
                                     attributes_csv=args.attributes, speaker_pattern=args.speaker_pattern,
                                     actor=member)
    if args.json:
        _print_json({"imported": report.imported, "encodings": report.encodings, "failed": report.failed,
                     "attributes": report.attributes, "warnings": report.warnings})
    else:
        for name in report.imported:
            print(f"imported {name} ({report.encodings[name]})")
        if args.attributes:
            print(f"attributes: {report.attributes} values stored")
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for msg in report.failed:
        print(f"error: {msg}", file=sys.stderr)
    return 1 if report.failed else 0


@command("codebook")
def cmd_codebook(store: Store, args) -> int:
    from pathlib import Path

    from .codebook import export_codebook, load_codebook_file

    from .projects import get_project

    if args.action == "import":
        from .staged_import import import_codebook_staged

        book = load_codebook_file(args.file)
        project, member = _signed_in(store, args)  # then stored out of sight and moved in at once
        counts = import_codebook_staged(store, project.id, book, member=member, label=Path(args.file).name)
        print(f"codebook imported: {counts['created']} created, {counts['updated']} updated")
    else:
        _, member = _signed_in(store, args)
        with store.session(write=False) as s:
            text = export_codebook(s, get_project(s, args.name), member)  # without others' proposals
        Path(args.file).write_text(text, encoding="utf-8")
        print(f"codebook written to {args.file}")
    return 0


@command("demo")
def cmd_demo(store: Store, args) -> int:
    from .demo import build_demo

    password = None
    if args.protected:
        password = _secret("CODING_NEW_PASSWORD", "Password for every demo member (at least 10 characters): ",
                           fallback_env="CODING_PASSWORD", confirm=True)
    project, created = store.run(lambda s: build_demo(s, password=password))
    mode = "local single-user mode: serve it on 127.0.0.1 only" if project.local_mode else "protected"
    print(f"{'built' if created else 'already present:'} project {project.name!r} ({mode})")
    return 0


@command("migrate")
def cmd_migrate(store: None, args) -> int:
    """Bring the database's schema to this version's (the only way a PostgreSQL one changes)."""
    from .store.db import current_revision, head_revision, make_engine, migrate, resolve_url

    engine = make_engine(resolve_url(args.db))
    try:
        before = current_revision(engine)
        backup = migrate(engine, backup=True)
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if before == head_revision():
        print(f"{where}: already at schema revision {before}")
    else:
        print(f"{where}: migrated from {before or 'an empty database'} to {head_revision()}"
              + (f" (backup: {backup})" if backup else ""))
    return 0


@command("documents")
def cmd_documents(store: Store, args) -> int:
    from .documents import document_summary, list_documents

    from .projects import get_project

    _signed_in(store, args)
    with store.session(write=False) as s:
        rows = [document_summary(d) for d in list_documents(s, get_project(s, args.name))]
    if args.json:
        _print_json(rows)
        return 0
    for r in rows:
        attrs = ", ".join(f"{k}={v}" for k, v in r["attributes"].items())
        speakers = ", ".join(f"{sp['speaker']} ({sp['turns']})" for sp in r["speakers"])
        print(f"{r['name']}  [{r['language']}, {r['characters']} chars]  {attrs}\n    speakers: {speakers or '-'}")
    return 0


@command("codes")
def cmd_codes(store: Store, args) -> int:
    from .codebook import visible_code_tree
    from .counts import visible_coding_counts

    from .projects import get_project

    _, member = _signed_in(store, args)
    with store.session(write=False) as s:
        project = get_project(s, args.name)
        tree = visible_code_tree(s, project, member)  # another coder's proposals left out
        counts = visible_coding_counts(s, project, member)  # the blind rule: a coder counts their own
    rows = [{"id": i.id, "path": i.path, "name": i.name, "parent_id": i.parent_id, "depth": i.depth,
             "codable": i.codable, "colour": i.colour, "definition": i.definition,
             "codings": counts.get(i.id, 0), "status": i.status} for i in tree.infos]
    if args.json:
        _print_json(rows)
        return 0
    for r in rows:
        folder = "" if r["codable"] else "  (folder)"
        print(f"{'  ' * r['depth']}{r['name']}{folder}    [{r['path']}]")
    return 0


@command("reliability")
def cmd_reliability(store: Store | None, args) -> int:
    import csv

    from .agreement.coefficients import all_coefficients, reliability_matrix_from_rows
    from .importing import decode_bytes

    try:
        raw = open(args.file, "rb").read()
    except OSError as exc:
        raise CodingError(f"{args.file}: cannot read ({exc.strerror}); check the path") from None
    text, _ = decode_bytes(raw, args.file)
    rows = [r for r in csv.reader(text.splitlines()) if r]
    if len(rows) < 2:
        raise CodingError(f"{args.file}: needs a header naming the coders and one row per unit")
    header, body = rows[0], rows[1:]
    for i, r in enumerate(body, start=2):
        if len(r) != len(header):
            raise CodingError(f"{args.file}: line {i} (row {i - 1}) has {len(r)} cells but the header names "
                              f"{len(header)} coders; give one cell per coder, empty for missing")
    data, labels = reliability_matrix_from_rows(body)
    coeffs = all_coefficients(data, level=args.level, ci=args.ci, n_boot=args.n_boot)
    if args.json:
        _print_json({"coders": header, "units": len(body), "labels": labels, "level": args.level,
                     "coefficients": [_coef_dict(c) for c in coeffs]})
    else:
        print(f"{len(body)} units, {len(header)} coders ({', '.join(header)})"
              + (f"; categories: {', '.join(labels)}" if labels else ""))
        for c in coeffs:
            print("  " + c.describe())
    return 0


def _coef_dict(c) -> dict:
    import math

    def num(x):
        return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 6)

    return {"name": c.name, "level": c.level, "value": num(c.value), "n_units": c.n_units,
            "n_coders": c.n_coders, "ci": [num(c.ci_low), num(c.ci_high)] if c.ci_low is not None else None,
            "reason": c.reason}


@command("agreement")
def cmd_agreement(store: Store, args) -> int:
    from .agreement.project import compute_agreement
    from .agreement.tables import report_csv, report_markdown, report_text

    from .projects import get_project

    _, member = _signed_in(store, args)
    if args.recommender:
        return _recommender_agreement(store, args, member)
    # Sentence units segment new documents once and store the sentences: a write, re-run on
    # a clash with other writers; the other units only read.
    report = store.run(lambda s: compute_agreement(
        s, get_project(s, args.name), args.coders, member=member, unit=args.unit, codes=args.code or None,
        min_share=args.min_share, min_overlap=args.min_overlap, rollup=args.rollup,
        layer="coder", documents=args.document or None, ci=not args.no_ci, n_boot=args.n_boot,
        suggestions=args.suggestions or "include"),
        write=args.unit == "sentence")
    if args.docx:
        from pathlib import Path

        from .exporting.agreement_report import agreement_docx

        target = Path(args.docx)
        try:
            target.write_bytes(agreement_docx(report, args.name))
        except OSError as exc:
            raise CodingError(f"{target}: cannot write the report ({exc.strerror}); choose another --docx") from None
        print(f"wrote {target} (method sentence and table per code)", file=sys.stderr)
    elif args.json:
        _print_json(report.as_dict())
    elif args.csv:
        sys.stdout.write(report_csv(report))
    elif args.md:
        sys.stdout.write(report_markdown(report))
    else:
        sys.stdout.write(report_text(report))
    return 0


def _recommender_agreement(store: Store, args, member) -> int:
    """`agreement NAME --recommender`: the code recommender measured as a third coder."""
    from .projects import get_project
    from .recommender_agreement import recommender_agreement, report_text

    if args.csv or args.md or args.docx:
        raise CodingError("--recommender prints a table or, with --json, JSON; leave out --csv, --md and --docx")
    if args.suggestions == "only":
        raise CodingError("--recommender learns from the coders' codings: use --suggestions exclude (default "
                          "for it) or include")
    if args.unit == "sentence":  # segment new documents in a short write first: training then only reads
        from .agreement.project import compute_agreement

        store.run(lambda s: compute_agreement(s, get_project(s, args.name), args.coders, member=member,
                                              unit="sentence", documents=args.document or None, ci=False))
    rep = store.run(lambda s: recommender_agreement(
        s, get_project(s, args.name), member, args.coders, unit=args.unit, folds=args.folds,
        min_share=args.min_share, documents=args.document or None, ci=not args.no_ci, n_boot=args.n_boot,
        suggestions=args.suggestions or "exclude"), write=False)
    if args.json:
        _print_json(rep.as_dict())
    else:
        sys.stdout.write(report_text(rep))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m coding",
        description="Qualitative interview coding workbench: projects, transcripts, codebooks, agreement.",
        epilog="Database: --db URL, else $CODING_DB_URL, else data/coding.db (SQLite). "
               "Exit status: 0 success, 1 bad input, 2 wrong usage.",
    )
    p.add_argument("--db", metavar="URL", help="database URL: sqlite:///PATH or postgresql://USER:PW@HOST/DB")
    p.add_argument("--as", dest="as_name", metavar="NAME",
                   help="act as this member (else $CODING_AS; in local mode the project's only lead); the password "
                        "comes from $CODING_PASSWORD or a prompt")
    p.add_argument("--token", metavar="TOKEN", help="a session token from `login` (else $CODING_TOKEN)")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sp = sub.add_parser("init", help="create an empty project with its lead",
                        description="Protected (the default): the lead's password comes from $CODING_NEW_PASSWORD "
                                    "(or $CODING_PASSWORD) or a prompt. --local: single-user mode on this computer, "
                                    "no passwords, served by the app on 127.0.0.1 only.")
    sp.add_argument("name", help="project name")
    sp.add_argument("--lead", metavar="NAME", help="the lead's name (default: --as)")
    sp.add_argument("--local", action="store_true", help="local single-user mode: no passwords, this computer only")

    sp = sub.add_parser("passwd", help="change your password (--as NAME)",
                        description="Current password from $CODING_PASSWORD or a prompt; the new one from "
                                    "$CODING_NEW_PASSWORD or a prompt. Your other sessions end.")
    sp.add_argument("name", help="project name")

    sp = sub.add_parser("login", help="print a session token for --token / $CODING_TOKEN",
                        description="Signs in once (password from $CODING_PASSWORD or a prompt) and prints a token "
                                    "that later commands take instead of the password, until it expires or `logout`.")
    sp.add_argument("name", help="project name")
    sp.add_argument("--json", action="store_true", help="stable JSON output")

    sub.add_parser("logout", help="end the session of --token / $CODING_TOKEN")

    sp = sub.add_parser("member", help="list, add, re-role or remove members, reset a password (leads)",
                        description="Temporary passwords come from $CODING_NEW_PASSWORD or a prompt; the member "
                                    "chooses their own at the first sign-in. The last lead cannot be removed or "
                                    "made a coder.")
    sp.add_argument("action", choices=["list", "add", "role", "remove", "reset-password"])
    sp.add_argument("name", help="project name")
    sp.add_argument("member", nargs="?", help="the member's name (all actions but list)")
    sp.add_argument("--role", choices=["lead", "coder"], help="add: the role (default coder); role: the new role")
    sp.add_argument("--no-password", action="store_true", help="add, in local mode: no password")
    sp.add_argument("--json", action="store_true", help="list: stable JSON output")

    sp = sub.add_parser("local-mode", help="turn local single-user mode on or off (leads)",
                        description="off protects the project: every member signs in with a password (set yours "
                                    "first with passwd). on: no passwords, served on 127.0.0.1 only.")
    sp.add_argument("name", help="project name")
    sp.add_argument("state", choices=["on", "off"])

    sp = sub.add_parser("import", help="import transcripts (.txt .md .docx .vtt .srt; files or folders)")
    sp.add_argument("name", help="project name")
    sp.add_argument("paths", nargs="+", metavar="PATH", help="transcript files or folders")
    sp.add_argument("--attributes", metavar="CSV", help="participant attributes: document name, then any columns")
    sp.add_argument("--language", default="en", metavar="CODE", help="ISO 639 language of the transcripts (default en)")
    sp.add_argument("--speaker-pattern", metavar="REGEX",
                    help="regular expression for a turn's start at a line start, with a named group (?P<speaker>...)")
    sp.add_argument("--json", action="store_true", help="machine-readable report")

    sp = sub.add_parser("codebook", help="import or export a YAML codebook")
    sp.add_argument("action", choices=["import", "export"])
    sp.add_argument("name", help="project name")
    sp.add_argument("file", help="YAML codebook file")

    sp = sub.add_parser("demo", help="build the demo project from corpora/ and codebooks/ (idempotent)",
                        description="By default in local single-user mode (members lead, ana, ben sign in by name; "
                                    "the app serves it on 127.0.0.1 only). --protected: every member gets the password "
                                    "from $CODING_NEW_PASSWORD (or $CODING_PASSWORD) or a prompt.")
    sp.add_argument("--protected", action="store_true", help="give every demo member a password")

    sp = sub.add_parser("migrate", help="bring the database schema up to date (PostgreSQL: only this does)",
                        description="SQLite files are also migrated when opened, after a backup beside the file. "
                                    "A PostgreSQL database is never migrated by the app or other commands: back it "
                                    "up (pg_dump), run this once, then start the app instances.")
    sp.add_argument("--db", metavar="URL", default=argparse.SUPPRESS,
                    help="database URL (as the global --db; else $CODING_DB_URL, else the default SQLite file)")

    sp = sub.add_parser("documents", help="list documents with language, length, attributes, speakers")
    sp.add_argument("name", help="project name")
    sp.add_argument("--json", action="store_true", help="stable JSON output")

    sp = sub.add_parser("codes", help="show the codebook tree with each code's path")
    sp.add_argument("name", help="project name")
    sp.add_argument("--json", action="store_true", help="stable JSON output")

    sp = sub.add_parser("reliability", help="agreement calculator for any reliability data in a CSV",
                        description="Rows are units, the header names the coders, an empty cell is missing. "
                                    "Prints every coefficient that applies, with n.")
    sp.add_argument("file", metavar="FILE.csv")
    sp.add_argument("--level", default="nominal", choices=["nominal", "ordinal", "interval", "ratio"],
                    help="level of measurement for Krippendorff's alpha (nominal alpha is always shown)")
    sp.add_argument("--ci", action="store_true", help="add bootstrap 95%% intervals to kappa and alpha")
    sp.add_argument("--n-boot", type=int, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    sp.add_argument("--json", action="store_true", help="stable JSON output")

    sp = sub.add_parser("agreement", help="inter-coder agreement per code, per document and overall",
                        description="Units: character (as NVivo), sentence (spaCy, stored), speaker turn, "
                                    "or matched segments (as MAXQDA). Documents: those every coder coded, "
                                    "unless --document is given.")
    sp.add_argument("name", help="project name")
    sp.add_argument("--coders", nargs="+", required=True, metavar="CODER", help="two or more coders")
    sp.add_argument("--unit", default="character", choices=["character", "sentence", "turn", "segment"])
    sp.add_argument("--code", action="append", metavar="PATH", help="only this code path (repeatable)")
    sp.add_argument("--document", action="append", metavar="NAME", help="only this document (repeatable)")
    sp.add_argument("--min-share", type=float, default=0.0, metavar="X",
                    help="sentence/turn units: share of the unit a coder's spans must cover (default: any overlap)")
    sp.add_argument("--min-overlap", type=float, default=0.9, metavar="X",
                    help="segment unit: overlap / union two segments need to match (default 0.9)")
    sp.add_argument("--rollup", action="store_true", help="count codings of descendants for their parent too")
    sp.add_argument("--no-ci", action="store_true", help="skip bootstrap intervals")
    sp.add_argument("--n-boot", type=int, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    sp.add_argument("--suggestions", choices=["include", "exclude", "only"],
                    help="codings made from accepted suggestions: count them like the others (default), "
                         "leave them out (default with --recommender), or count only them")
    sp.add_argument("--recommender", action="store_true",
                    help="measure the code recommender as a third coder: per coder, a model of their own "
                         "codings codes held-out documents (grouped cross-validation), compared with each "
                         "coder; the documents must be processed (`suggest process`). Leads only")
    sp.add_argument("--folds", type=int, default=5, metavar="K",
                    help="--recommender: groups of documents held out in turn (default 5, at most one per document)")
    fmt = sp.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="stable JSON output")
    fmt.add_argument("--csv", action="store_true", help="CSV table per code")
    fmt.add_argument("--md", action="store_true", help="Markdown table (for a methods section)")
    fmt.add_argument("--docx", metavar="OUT", help="write a Word report: the method sentence (unit, coefficients, "
                                                  "coders, n) and the table per code")

    from .cli_suggest import add_parser as add_suggest  # registers the `suggest` command
    add_suggest(sub)
    from .cli_export import add_export_parsers  # registers `excerpts` and `export` (issue 10)
    add_export_parsers(sub)
    from .cli_refi import add_parsers as add_refi_parsers  # registers `refi` (issue 11)
    add_refi_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "member" and args.action != "list" and not args.member:
        parser.error(f"member {args.action} needs the member's name: member {args.action} PROJECT NAME")
    try:
        storeless = args.command in STORELESS or (args.command == "suggest" and args.action == "evaluate")
        store = None if storeless else Store(args.db)
        return COMMANDS[args.command](store, args)
    except CodingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
