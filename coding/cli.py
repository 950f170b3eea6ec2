"""``python -m coding``: a thin, scriptable shell over the engine.

Exit status: 0 success, 1 bad input (one line on stderr), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from . import __version__
from .errors import CodingError
from .store import Store

COMMANDS: dict[str, Callable] = {}


def command(name: str):
    def deco(fn):
        COMMANDS[name] = fn
        return fn
    return deco


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


@command("init")
def cmd_init(store: Store, args) -> int:
    from .projects import create_project

    with store.session() as s:
        p = create_project(s, args.name)
        print(f"created project {p.name!r} ({p.id})")
    return 0


@command("import")
def cmd_import(store: Store, args) -> int:
    from .documents import import_files
    from .projects import get_project

    with store.session() as s:
        report = import_files(s, get_project(s, args.name), args.paths, language=args.language,
                              attributes_csv=args.attributes, speaker_pattern=args.speaker_pattern)
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

    from .codebook import export_codebook, import_codebook, load_codebook_file
    from .projects import get_project

    with store.session() as s:
        project = get_project(s, args.name)
        if args.action == "import":
            counts = import_codebook(s, project, load_codebook_file(args.file))
            print(f"codebook imported: {counts['created']} created, {counts['updated']} updated")
        else:
            Path(args.file).write_text(export_codebook(s, project), encoding="utf-8")
            print(f"codebook written to {args.file}")
    return 0


@command("demo")
def cmd_demo(store: Store, args) -> int:
    from .demo import build_demo

    with store.session() as s:
        project, created = build_demo(s)
        print(f"{'built' if created else 'already present:'} project {project.name!r}")
    return 0


@command("documents")
def cmd_documents(store: Store, args) -> int:
    from .documents import document_summary, list_documents
    from .projects import get_project

    with store.session() as s:
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
    from .codebook import code_tree, coding_counts
    from .projects import get_project

    with store.session() as s:
        project = get_project(s, args.name)
        tree = code_tree(s, project)
        counts = coding_counts(s, project)
    rows = [{"id": i.id, "path": i.path, "name": i.name, "parent_id": i.parent_id, "depth": i.depth,
             "codable": i.codable, "colour": i.colour, "definition": i.definition,
             "codings": counts.get(i.id, 0)} for i in tree.infos]
    if args.json:
        _print_json(rows)
        return 0
    for r in rows:
        folder = "" if r["codable"] else "  (folder)"
        print(f"{'  ' * r['depth']}{r['name']}{folder}    [{r['path']}]")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m coding",
        description="Qualitative interview coding workbench: projects, transcripts, codebooks, agreement.",
        epilog="Database: --db URL, else $CODING_DB_URL, else data/coding.db (SQLite). "
               "Exit status: 0 success, 1 bad input, 2 wrong usage.",
    )
    p.add_argument("--db", metavar="URL", help="database URL: sqlite:///PATH or postgresql://USER:PW@HOST/DB")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sp = sub.add_parser("init", help="create an empty project")
    sp.add_argument("name", help="project name")

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

    sub.add_parser("demo", help="build the demo project from corpora/ and codebooks/ (idempotent)")

    sp = sub.add_parser("documents", help="list documents with language, length, attributes, speakers")
    sp.add_argument("name", help="project name")
    sp.add_argument("--json", action="store_true", help="stable JSON output")

    sp = sub.add_parser("codes", help="show the codebook tree with each code's path")
    sp.add_argument("name", help="project name")
    sp.add_argument("--json", action="store_true", help="stable JSON output")

    for extend in EXTENSIONS:
        extend(sub)
    return p


# Later modules (agreement, ...) add their sub-commands here.
EXTENSIONS: list[Callable] = []


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        store = Store(args.db)
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
