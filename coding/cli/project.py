"""Commands for a project and its people: init, passwd, login/logout, member, local-mode,
import, codebook, demo, migrate, documents, codes."""

from __future__ import annotations
import os
import sys
from typing import TYPE_CHECKING

from coding.errors import CodingError
from coding.cli.common import asked, print_json, project_and_member, secret, signed_in, command

if TYPE_CHECKING:
    from coding.store import Store


@command("init")
def cmd_init(store: Store, args) -> int:
    from coding.team.projects import create_project

    lead = args.lead or args.as_name or os.environ.get("CODING_AS")
    if not lead:
        raise CodingError("name the project's lead: --lead NAME (or --as NAME); you become its lead")
    password = None
    if not args.local:
        password = secret("CODING_NEW_PASSWORD", f"Choose a password for {lead} (at least 10 characters): ",
                           fallback_env="CODING_PASSWORD", confirm=True)
    p = store.run(lambda s: create_project(s, args.name, lead_name=lead, lead_password=password,
                                           local_mode=args.local))
    mode = "local single-user mode (this computer only)" if args.local else "protected"
    print(f"created project {p.name!r} ({p.id}), {mode}, lead {lead!r}")
    return 0


@command("passwd")
def cmd_passwd(store: Store, args) -> int:
    from coding.team.accounts import set_password
    from coding.team.members import active_coder

    def change(s):
        project, member = project_and_member(s, args)
        old = getattr(args, "signed_in_with", None)
        if old is None and active_coder(s, member).password_hash is not None:  # signed in by token
            old = asked(args, "old", lambda: secret("CODING_PASSWORD", f"Current password for {member.name}: "))
        new = asked(args, "new", lambda: secret("CODING_NEW_PASSWORD", f"New password for {member.name}: ",
                                                  confirm=True))
        set_password(s, project, member, new, old_password=old)
        return f"password of {member.name!r} in {project.name!r} changed; their other sessions ended"
    print(store.run(change))
    return 0


@command("login")
def cmd_login(store: Store, args) -> int:
    from coding.team.sessions import open_session

    def login(s):
        project, member = project_and_member(s, args)
        return project, member, open_session(s, member, client="cli", kind="cli")
    project, member, issued = store.run(login)
    if args.json:
        print_json({"token": issued.secret, "member": member.name, "project": project.name,
                     "expires_at": issued.expires_at.isoformat()})
    else:
        print(issued.secret)
        print(f"token for {member.name!r} in {project.name!r}, valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC: "
              "pass it as --token or CODING_TOKEN; `logout` ends it", file=sys.stderr)
    return 0


@command("logout")
def cmd_logout(store: Store, args) -> int:
    from coding.team.sessions import close_session, resume_session

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
    from coding.team.accounts import member_overview, reset_password
    from coding.team.projects import add_member, change_role, get_project, remove_member

    if args.action == "list":
        _, me = signed_in(store, args)
        with store.session(write=False) as s:
            rows = [{**r, "locked_until": r["locked_until"] and r["locked_until"].isoformat(),
                     "last_sign_in": r["last_sign_in"] and r["last_sign_in"].isoformat()}
                    for r in member_overview(s, get_project(s, args.name), me)]
        if args.json:
            print_json(rows)
        else:
            for r in rows:
                state = "removed" if r["removed"] else (f"locked until {r['locked_until']}" if r["locked_until"]
                                                        else "active")
                print(f"{r['name']}  {r['role']}  password: {r['password']}  {state}")
        return 0

    def temporary() -> str:
        return asked(args, "temporary", lambda: secret("CODING_NEW_PASSWORD",
                                                         f"Temporary password for {args.member}: ", confirm=True))

    def change(s) -> str:
        project, me = project_and_member(s, args)
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
    from coding.team.projects import set_local_mode

    def switch(s):
        project, me = project_and_member(s, args)
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
    from coding.work.documents import import_files_committing

    # Who acts is settled in a short session; each file then commits on its own, so an
    # interrupted import (Ctrl-C, a killed process) keeps every file finished before it.
    project, member = signed_in(store, args)
    project_name = project.name
    report = import_files_committing(store, project_name, args.paths, language=args.language,
                                     attributes_csv=args.attributes, speaker_pattern=args.speaker_pattern,
                                     actor=member)
    if args.json:
        print_json({"imported": report.imported, "encodings": report.encodings, "failed": report.failed,
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

    from coding.codebook.tree import export_codebook, load_codebook_file

    from coding.team.projects import get_project

    if args.action == "import":
        from coding.work.staged_import import import_codebook_staged

        book = load_codebook_file(args.file)
        project, member = signed_in(store, args)  # then stored out of sight and moved in at once
        counts = import_codebook_staged(store, project.id, book, member=member, label=Path(args.file).name)
        print(f"codebook imported: {counts['created']} created, {counts['updated']} updated")
    else:
        _, member = signed_in(store, args)
        with store.session(write=False) as s:
            text = export_codebook(s, get_project(s, args.name), member)  # without others' proposals
        Path(args.file).write_text(text, encoding="utf-8")
        print(f"codebook written to {args.file}")
    return 0


@command("demo")
def cmd_demo(store: Store, args) -> int:
    from coding.demo import build_demo

    password = None
    if args.protected:
        password = secret("CODING_NEW_PASSWORD", "Password for every demo member (at least 10 characters): ",
                           fallback_env="CODING_PASSWORD", confirm=True)
    project, created = store.run(lambda s: build_demo(s, password=password))
    mode = "local single-user mode: serve it on 127.0.0.1 only" if project.local_mode else "protected"
    print(f"{'built' if created else 'already present:'} project {project.name!r} ({mode})")
    if not args.no_process:  # parsed for suggestions once; a second run finds it cached
        from coding.demo import process_demo

        def step(done: int, total: int, name: str) -> None:
            if name:
                print(f"processing for suggestions: {done + 1} of {total} ({name})", file=sys.stderr)
        report = process_demo(store, progress=step)
        if report.parsed:
            print(f"{report.parsed} documents processed for suggestions")
    return 0


@command("migrate")
def cmd_migrate(store: None, args) -> int:
    """Bring the database's schema to this version's (the only way a PostgreSQL one changes)."""
    from coding.store.schema import current_revision, head_revision, migrate
    from coding.store.engine import make_engine, resolve_url

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
    from coding.work.documents import document_summary, list_documents

    from coding.team.projects import get_project

    signed_in(store, args)
    with store.session(write=False) as s:
        rows = [document_summary(d) for d in list_documents(s, get_project(s, args.name))]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        attrs = ", ".join(f"{k}={v}" for k, v in r["attributes"].items())
        speakers = ", ".join(f"{sp['speaker']} ({sp['turns']})" for sp in r["speakers"])
        print(f"{r['name']}  [{r['language']}, {r['characters']} chars]  {attrs}\n    speakers: {speakers or '-'}")
    return 0


@command("codes")
def cmd_codes(store: Store, args) -> int:
    from coding.codebook.tree import visible_code_tree
    from coding.work.counts import visible_coding_counts

    from coding.team.projects import get_project

    _, member = signed_in(store, args)
    with store.session(write=False) as s:
        project = get_project(s, args.name)
        tree = visible_code_tree(s, project, member)  # another coder's proposals left out
        counts = visible_coding_counts(s, project, member)  # the blind rule: a coder counts their own
    rows = [{"id": i.id, "path": i.path, "name": i.name, "parent_id": i.parent_id, "depth": i.depth,
             "codable": i.codable, "colour": i.colour, "definition": i.definition,
             "codings": counts.get(i.id, 0), "status": i.status} for i in tree.infos]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        folder = "" if r["codable"] else "  (folder)"
        print(f"{'  ' * r['depth']}{r['name']}{folder}    [{r['path']}]")
    return 0
