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
STORELESS = {"reliability"}  # commands that need no database


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

    with store.session() as s:
        report = compute_agreement(
            s, get_project(s, args.name), args.coders, unit=args.unit, codes=args.code or None,
            min_share=args.min_share, min_overlap=args.min_overlap, rollup=args.rollup,
            layer="coder", documents=args.document or None, ci=not args.no_ci, n_boot=args.n_boot)
    if args.json:
        _print_json(report.as_dict())
    elif args.csv:
        sys.stdout.write(report_csv(report))
    elif args.md:
        sys.stdout.write(report_markdown(report))
    else:
        sys.stdout.write(report_text(report))
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
    fmt = sp.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="stable JSON output")
    fmt.add_argument("--csv", action="store_true", help="CSV table per code")
    fmt.add_argument("--md", action="store_true", help="Markdown table (for a methods section)")

    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        store = None if args.command in STORELESS else Store(args.db)
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
