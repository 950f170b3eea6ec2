"""CLI commands for retrieving and exporting coded excerpts (issue 10).

``python -m coding excerpts NAME [filters] [--json|--csv|--md]`` prints excerpts;
``python -m coding export WHAT NAME --format FMT [filters] --out FILE`` writes a file
(WHAT: excerpts, quotes, codebook, matrix). Both act as the ``--as`` member, so the
blind rule decides what they hold. ``--json`` prints a list of records, each with
document, code (path), code_levels, coder, layer, provenance, start, end, text,
attribution, speakers, timestamp, attributes, memo, coding_id (stable; fields may be added).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from coding.cli.common import print_json, signed_in, command
from coding.cli.export_kinds import KINDS, add_kind_arguments, run_kind
from coding.work.provenance import PROVENANCES
from coding.errors import CodingError

if TYPE_CHECKING:
    from coding.store import Store


def _filters(args):
    from coding.exporting.exports import Filters

    attributes: dict[str, list[str]] = {}
    for w in args.where or []:
        name, sep, value = w.partition("=")
        if not sep or not name.strip():
            raise CodingError(f"--where {w!r}: write ATTRIBUTE=VALUE (e.g. --where role=Principal)")
        attributes.setdefault(name.strip(), []).append(value.strip())
    return Filters(codes=args.code or [], include_descendants=args.descendants, layer=args.layer,
                   documents=args.document or None, attributes=attributes, round=args.round,
                   provenance=args.provenance or None, text_search=args.search, template=args.template)


def _pseudonyms(args):
    from coding.exporting.pseudonyms import parse_pseudonyms

    if not getattr(args, "pseudonyms", None):
        return None
    path = Path(args.pseudonyms)
    try:
        data = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CodingError(f"{path}: cannot read the pseudonym list ({exc}); give a UTF-8 CSV: name,pseudonym") from None
    return parse_pseudonyms(data, str(path))


@command("excerpts")
def cmd_excerpts(store: Store, args) -> int:
    from coding.exporting.exports import export

    fmt = "csv" if args.csv else "md" if args.md else "json" if args.json else None
    from coding.team.projects import get_project

    _, member = signed_in(store, args)  # a write (the sign-in is recorded); the rest only reads
    if fmt is None:
        from coding.exporting.excerpts import excerpts

        ps = _pseudonyms(args)
        filters = _filters(args)
        warnings: list[str] = []
        with store.session(write=False) as s:
            es = excerpts(s, get_project(s, args.name), member, **filters.kwargs(), warnings=warnings)
        es = ps.excerpts(es) if ps else es
        for e in es:
            where = ", ".join(x for x in (e.document, e.location) if x)
            print(f"{where}: {e.code} ({e.layer if e.layer == 'consensus' else e.coder}) {e.attribution}")
            print("    " + e.text.replace("\n", "\n    "))
        _warn(warnings)
        print(f"{len(es)} excerpt(s)", file=sys.stderr)
        return 0
    filters, ps, warnings = _filters(args), _pseudonyms(args), []
    with store.session(write=False) as s:
        out = export(s, get_project(s, args.name), member, "excerpts", fmt, filters, pseudonyms=ps,
                     warnings=warnings)
    _warn(warnings)
    if fmt == "json":
        import json

        print_json(json.loads(out.data))
    else:
        sys.stdout.write(out.data.decode("utf-8-sig"))
    return 0


@command("export")
def cmd_export(store: Store, args) -> int:
    from coding.exporting.exports import WHAT_FORMATS, MatrixSpec, export

    if args.what in KINDS:  # agreement, segments, framework, document: coding/cli/export_kinds.py
        return run_kind(store, args, _filters(args))
    fmt = args.format or WHAT_FORMATS[args.what][0]
    spec = MatrixSpec(kind=args.matrix, attribute=args.attribute, count=args.count, mode=args.mode,
                      rollup=args.rollup)
    from coding.team.projects import get_project

    from coding.exporting.quote_bank import BankOptions

    _, member = signed_in(store, args)  # a write (the sign-in is recorded); the export only reads
    filters, ps, warnings = _filters(args), _pseudonyms(args), []
    bank = BankOptions(memos=args.memos, toc=args.toc, other_codes=args.other_codes, variables=args.variables)
    with store.session(write=False) as s:
        out = export(s, get_project(s, args.name), member, args.what, fmt, filters, pseudonyms=ps,
                     matrix=spec, quotes=args.quotes, bank=bank, warnings=warnings)
    _warn(warnings)
    target = Path(args.out) if args.out else Path(out.filename)
    try:
        target.write_bytes(out.data)
    except OSError as exc:
        raise CodingError(f"{target}: cannot write the export ({exc.strerror}); choose another --out") from None
    print(f"wrote {target} ({len(out.data):,} bytes) as {member.name!r}", file=sys.stderr)
    return 0


def _warn(warnings: list[str]) -> None:
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)


def _add_filters(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("name", help="project name")
    sp.add_argument("--code", action="append", metavar="PATH", help="only this code path (repeatable)")
    sp.add_argument("--descendants", action=argparse.BooleanOptionalAction, default=True,
                    help="include the codes' sub-codes (default: yes)")
    sp.add_argument("--layer", default="coder", metavar="LAYER",
                    help="coder (every coder's own codings, the default), consensus, all, or coder:NAME")
    sp.add_argument("--document", action="append", metavar="NAME", help="only this document (repeatable)")
    sp.add_argument("--where", action="append", metavar="ATTR=VALUE",
                    help="participant attribute, e.g. role=Principal (repeatable; one attribute twice: either value)")
    sp.add_argument("--round", metavar="NAME", help="only codings of this round's assignments")
    sp.add_argument("--provenance", action="append", choices=list(PROVENANCES),
                    help="only codings of this provenance (repeatable)")
    sp.add_argument("--search", metavar="TEXT", help="only excerpts whose text contains TEXT (any case)")
    sp.add_argument("--template", metavar="TEMPLATE",
                    help="attribution template: {document}, {speaker}, {turn} and attribute columns, e.g. "
                         "'({speaker}, {site})' (default: the project's); a field a document lacks is left out")
    sp.add_argument("--pseudonyms", metavar="CSV",
                    help="CSV of real name,pseudonym: names replaced in the exported text only")


def add_export_parsers(sub) -> None:
    """Add ``excerpts`` and ``export`` to the CLI's subcommands."""
    sp = sub.add_parser("excerpts", help="print coded excerpts (as --as sees them) with their attribution",
                        description="Filters combine (AND). The blind rule applies: in an open blind round a "
                                    "coder gets only their own codings. --json: a stable list of records.")
    _add_filters(sp)
    fmt = sp.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="stable JSON: list of records")
    fmt.add_argument("--csv", action="store_true", help="CSV, one row per excerpt")
    fmt.add_argument("--md", action="store_true", help="Markdown table")

    sp = sub.add_parser("export", help="write excerpts, a quote bank, the codebook appendix or a matrix to a file",
                        description="excerpts: csv|xlsx|md|json; quotes: docx (quote bank grouped by the codebook); "
                                    "codebook: docx|md (appendix with counts); matrix: csv|xlsx|md; "
                                    "agreement: csv|xlsx|md|docx (--coders; per code, per document, overall); "
                                    "segments: csv|xlsx (one 0/1 column per code, for SPSS/R); framework: "
                                    "xlsx|docx|csv (case x code, the coded text in each cell); document: docx "
                                    "(each coded document, its codes as comments in the margin). "
                                    "Spreadsheet cells never hold formulas.")
    sp.add_argument("what", choices=["excerpts", "quotes", "codebook", "matrix", *KINDS])
    _add_filters(sp)
    sp.add_argument("--format", choices=["csv", "xlsx", "md", "json", "docx"],
                    help="file format (default: the first one WHAT offers)")
    sp.add_argument("--out", metavar="FILE", help="output file (default: PROJECT-WHAT.FORMAT here)")
    sp.add_argument("--memos", action="store_true", help="quotes: add each quote's coding memos and the document memos")
    sp.add_argument("--quotes", default="auto", choices=["auto", "passage", "coder"],
                    help="quotes: auto (the consensus layer where adjudicated, else one quote per passage with "
                         "overlapping codings merged), passage, or coder (every coder's coding apart)")
    sp.add_argument("--toc", action="store_true", help="quotes: a table of contents")
    sp.add_argument("--other-codes", action="store_true", help="quotes: the other codes on each quote's passage")
    sp.add_argument("--variables", action="store_true", help="quotes: the document's attributes under each quote")
    sp.add_argument("--matrix", default="attribute", choices=["attribute", "cooccurrence", "documents"],
                    help="matrix: code x attribute value (default), code x code, or code x document")
    sp.add_argument("--attribute", default="", metavar="NAME",
                    help="matrix attribute (default: role when the documents have it, else their first attribute)")
    sp.add_argument("--count", default="excerpts", choices=["excerpts", "documents", "participants"],
                    help="what a code x attribute cell counts (default excerpts)")
    sp.add_argument("--mode", default="overlap", choices=["overlap", "turn"],
                    help="co-occurrence: overlapping spans or the same speaker turn")
    sp.add_argument("--rollup", action="store_true", help="a code's row also counts its sub-codes")
    add_kind_arguments(sp)
