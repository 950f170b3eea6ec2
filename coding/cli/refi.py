"""``python -m coding refi ...``: REFI-QDA exchange with NVivo, ATLAS.ti, MAXQDA, QualCoder.

    refi import FILE.qdpx [--project NAME] [--lenient] [--positions CONV] [--dry-run] [--local]
    refi export PROJECT OUT.qdpx [--layer project|coders|consensus|coder:NAME] [--for nvivo|atlasti|maxqda]
    refi codebook-import PROJECT FILE.qdc|FILE.csv [--lenient]   (.csv: Taguette's or QualCoder's codebook)
    refi codebook-export PROJECT OUT.qdc

The issue's spelling works too, with the project first: ``qdpx import NAME FILE``,
``qdpx export NAME FILE [--layer ...] [--for TOOL]``, ``qdc import|export NAME FILE``.

``import`` into a project that does not exist yet creates it with the acting member
(``--as NAME``) as its lead (password from $CODING_NEW_PASSWORD or a prompt, or
``--local``); into an existing project it needs a lead. All or nothing: a refused or
failed import stores nothing (a project it created goes too). Imports are worked out on a
copy and written in short transactions out of sight, then moved in at once
(:mod:`coding.work.staged_import`), so coders keep coding during a big one.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from coding.errors import CodingError


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CodingError(f"{path}: cannot read ({exc.strerror}); check the path") from None


def _write(path: str, data: bytes) -> None:
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise CodingError(f"{path}: cannot write ({exc.strerror}); check the folder") from None


def _import(store, args) -> int:
    from sqlalchemy import select

    from coding.cli.common import acting, asked, secret
    from coding.interchange import read_qdpx
    from coding.team.projects import create_project
    from coding.team.members import Member, get_member
    from coding.work.staged_import import import_qdpx_staged
    from coding.store.models import Project

    data = _read(args.file)
    filename = Path(args.file).name
    name = args.project
    if not name:  # the project's own name in the file
        name = read_qdpx(data, filename).refi.name or Path(args.file).stem

    def who(s):  # re-run on a clash with other writers; a prompt is asked once (asked)
        project = s.scalar(select(Project).where(Project.name == name, Project.staging_for.is_(None)))
        if project is not None:
            return project.id, acting(s, project, args), False
        lead = args.as_name or os.environ.get("CODING_AS")
        if not lead:
            raise CodingError(f"project {name!r} does not exist yet: say who becomes its lead with --as NAME")
        password = None
        if not args.local:
            password = asked(args, "new_lead", lambda: secret(
                "CODING_NEW_PASSWORD", f"Choose a password for {lead} in {name}: ",
                fallback_env="CODING_PASSWORD", confirm=True))
        project = create_project(s, name, lead_name=lead, lead_password=password, local_mode=args.local)
        return project.id, Member.of(get_member(s, project, lead)), True

    project_id, member, created = store.run(who)
    try:
        report = import_qdpx_staged(store, project_id, member, data, filename, lenient=args.lenient,
                                    positions=args.positions, dry_run=args.dry_run, progress=_progress())
    except BaseException:
        if created:
            _forget(store, project_id)
        raise
    if created and args.dry_run:
        _forget(store, project_id)  # nothing of a dry run stays, the project it created included
    _print_report(report, args)
    return 0


def _forget(store, project_id: str) -> None:
    """Delete a project this command created (still empty but for its lead)."""
    from sqlalchemy import delete

    from coding.store.models import Project

    store.run(lambda s: s.execute(delete(Project).where(Project.id == project_id)))


def _progress():
    """Rows stored so far, on one line of a terminal's stderr (nothing when it is not one)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        print(f"\rstoring the import: {done:,} of {total:,} rows", end="\n" if done >= total else "",
              file=sys.stderr, flush=True)
    return show


def _print_report(report, args) -> None:
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        print("\n".join(report.lines()))
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for p in report.problems:
        print(f"skipped: {p}", file=sys.stderr)


def _export(store, args) -> int:
    from coding.cli.common import signed_in
    from coding.interchange import export_qdpx
    from coding.team.projects import get_project

    project, member = signed_in(store, args)  # a write: the sign-in is recorded
    with store.session(write=False) as s:
        data = export_qdpx(s, get_project(s, args.name), member, layer=args.layer, for_tool=args.for_tool)
    _write(args.out, data)
    print(f"{project.name!r} written to {args.out} ({len(data)} bytes"
          + (f", positions as {args.for_tool} reads them" if args.for_tool else "") + ")")
    return 0


def _codebook_import(store, args) -> int:
    from coding.cli.common import signed_in
    from coding.work.staged_import import import_qdc_staged

    data = _read(args.file)
    project, member = signed_in(store, args)
    _print_report(import_qdc_staged(store, project.id, member, data, Path(args.file).name, lenient=args.lenient,
                                    progress=_progress()), args)
    return 0


def _codebook_export(store, args) -> int:
    from coding.cli.common import signed_in
    from coding.interchange import export_qdc
    from coding.team.projects import get_project

    project, member = signed_in(store, args)  # a write: the sign-in is recorded
    with store.session(write=False) as s:
        data = export_qdc(s, get_project(s, args.name), member)
    _write(args.out, data)
    print(f"codebook of {project.name!r} written to {args.out}")
    return 0


ACTIONS = {"import": _import, "export": _export, "codebook-import": _codebook_import,
           "codebook-export": _codebook_export}


def cmd_refi(store, args) -> int:
    if args.refi_action in ("export", "codebook-import", "codebook-export"):
        args.name = args.project
    return ACTIONS[args.refi_action](store, args)


def cmd_qdpx(store, args) -> int:
    """``qdpx import|export NAME FILE``: the project named first, as the issue writes it."""
    if args.qdpx_action == "import":
        args.project = args.name
        return _import(store, args)
    args.out = args.file
    return _export(store, args)


def cmd_qdc(store, args) -> int:
    if args.qdc_action == "import":
        return _codebook_import(store, args)
    args.out = args.file
    return _codebook_export(store, args)


def _import_options(p, REFI_CONVENTIONS) -> None:
    p.add_argument("--lenient", action="store_true", help="import what is valid and report the rest")
    p.add_argument("--positions", choices=sorted(REFI_CONVENTIONS),
                   help="how the file counts positions (default: from its origin)")
    p.add_argument("--dry-run", action="store_true", help="check and summarise, store nothing")
    p.add_argument("--local", action="store_true", help="a new project in local single-user mode (no passwords)")
    p.add_argument("--json", action="store_true", help="stable JSON report")


def _export_options(p, TOOLS) -> None:
    p.add_argument("--layer", default="project", metavar="LAYER",
                   help="project (default), coders, consensus, or coder:NAME")
    p.add_argument("--for", dest="for_tool", choices=sorted(TOOLS),
                   help="write positions and line endings as that tool reads them")


def add_parsers(sub) -> None:
    """Add ``refi`` (and ``qdpx``, ``qdc``) to the CLI's subcommands and register their handlers."""
    from coding.cli.common import COMMANDS
    from coding.text.offsets import REFI_CONVENTIONS, REFI_TOOLS  # not coding.interchange: --help stays light

    COMMANDS["refi"] = cmd_refi
    COMMANDS["qdpx"] = cmd_qdpx
    COMMANDS["qdc"] = cmd_qdc
    qp = sub.add_parser("qdpx", help="REFI-QDA projects: qdpx import|export NAME FILE")
    qs = qp.add_subparsers(dest="qdpx_action", required=True, metavar="ACTION")
    for action, helptext in (("import", "import FILE into project NAME (created if new, with --as as its lead)"),
                             ("export", "export project NAME (or one layer) to FILE")):
        p = qs.add_parser(action, help=helptext)
        p.add_argument("name", metavar="NAME")
        p.add_argument("file", metavar="FILE.qdpx")
        (_import_options(p, REFI_CONVENTIONS) if action == "import" else _export_options(p, REFI_TOOLS))
    cp = sub.add_parser("qdc", help="REFI-QDA codebooks: qdc import|export NAME FILE")
    cs = cp.add_subparsers(dest="qdc_action", required=True, metavar="ACTION")
    for action, helptext in (("import", "merge codebook FILE into project NAME (by GUID, then path)"),
                             ("export", "export the codebook of project NAME to FILE")):
        p = cs.add_parser(action, help=helptext)
        p.add_argument("name", metavar="NAME")
        p.add_argument("file", metavar="FILE.qdc")
        if action == "import":
            p.add_argument("--lenient", action="store_true", help="import what is valid and report the rest")
            p.add_argument("--json", action="store_true", help="stable JSON report")

    sp = sub.add_parser("refi", help="exchange projects and codebooks with NVivo, ATLAS.ti, MAXQDA (REFI-QDA)",
                        description=__doc__.split("\n\n")[1] if __doc__ else None)
    rs = sp.add_subparsers(dest="refi_action", required=True, metavar="ACTION")

    p = rs.add_parser("import", help="import a .qdpx project (a new project, or merge into one as its lead)")
    p.add_argument("file", metavar="FILE.qdpx")
    p.add_argument("--project", metavar="NAME", help="target project (default: the name in the file)")
    p.add_argument("--lenient", action="store_true", help="import what is valid and report the rest")
    p.add_argument("--positions", choices=sorted(REFI_CONVENTIONS),
                   help="how the file counts positions (default: from its origin)")
    p.add_argument("--dry-run", action="store_true", help="check and summarise, store nothing")
    p.add_argument("--local", action="store_true", help="a new project in local single-user mode (no passwords)")
    p.add_argument("--json", action="store_true", help="stable JSON report")

    p = rs.add_parser("export", help="export a project (or one layer) as .qdpx")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("out", metavar="OUT.qdpx")
    p.add_argument("--layer", default="project", metavar="LAYER",
                   help="project (default), coders, consensus, or coder:NAME")
    p.add_argument("--for", dest="for_tool", choices=sorted(REFI_TOOLS),
                   help="write positions and line endings as that tool reads them")

    p = rs.add_parser("codebook-import", help="merge a .qdc codebook (or a Taguette/QualCoder codebook .csv) into "
                                             "a project (by GUID, then path)")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("file", metavar="FILE.qdc|FILE.csv")
    p.add_argument("--lenient", action="store_true", help="import what is valid and report the rest")
    p.add_argument("--json", action="store_true", help="stable JSON report")

    p = rs.add_parser("codebook-export", help="export the codebook as .qdc")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("out", metavar="OUT.qdc")
