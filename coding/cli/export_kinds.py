"""``export agreement|segments|framework|document``: the exports beside excerpts and quotes.

``export agreement NAME --coders A B --format csv|xlsx|md|docx`` computes agreement as the
``--as`` member (``agreement``'s options; ``--table`` picks the CSV's table) and writes it;
``export segments`` (a 0/1 column per code, for SPSS/R), ``export framework`` (case x code,
the coded text in each cell) and ``export document`` (each coded document as DOCX, codes
as comments in the margin) take the filters of every export.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coding.errors import CodingError

KINDS = ("agreement", "segments", "framework", "document")


def add_kind_arguments(sp: argparse.ArgumentParser) -> None:
    """The options only ``export agreement`` reads (``--code``, ``--document`` and
    ``--rollup`` are every export's)."""
    g = sp.add_argument_group("agreement", "export agreement: as the agreement command")
    g.add_argument("--coders", nargs="+", metavar="CODER", help="two or more coders")
    g.add_argument("--unit", default="character", choices=["character", "sentence", "turn", "segment"])
    g.add_argument("--min-share", type=float, default=0.0, metavar="X",
                   help="sentence/turn units: share of the unit a coder's spans must cover (default: any overlap)")
    g.add_argument("--min-overlap", type=float, default=0.9, metavar="X",
                   help="segment unit: overlap / union two segments need to match (default 0.9)")
    g.add_argument("--no-ci", action="store_true", help="skip bootstrap intervals")
    g.add_argument("--n-boot", type=int, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    g.add_argument("--suggestions", choices=["include", "exclude", "only"], default="include",
                   help="codings made from accepted suggestions: count (default), leave out, or count only them")
    g.add_argument("--table", default="codes", choices=["codes", "documents", "overall"],
                   help="CSV: which table (default: per code, the overall row last)")


def run_kind(store, args, filters) -> int:
    """Write the file of ``args.what`` (one of :data:`KINDS`); ``filters``: the command's
    :class:`~coding.exporting.exports.Filters` (agreement reads only codes and documents)."""
    from coding.cli.common import signed_in
    from coding.team.projects import get_project

    _, member = signed_in(store, args)  # a write (the sign-in is recorded); the export only reads
    if args.what == "agreement":
        from coding.exporting.agreement_export import AGREEMENT_FORMATS, export_agreement

        if not args.coders:
            raise CodingError("export agreement needs the coders to compare: --coders NAME NAME")
        fmt = args.format or AGREEMENT_FORMATS[0]
        # Sentence units segment new documents once and store the sentences: a write.
        out = store.run(lambda s: export_agreement(
            s, get_project(s, args.name), member, fmt, coders=args.coders, unit=args.unit, codes=args.code or None,
            documents=args.document or None, min_share=args.min_share, min_overlap=args.min_overlap,
            rollup=args.rollup, ci=not args.no_ci, n_boot=args.n_boot, suggestions=args.suggestions,
            table=args.table), write=args.unit == "sentence")
    else:
        from coding.exporting.coded_exports import CODED_FORMATS, export_coded

        fmt = args.format or CODED_FORMATS[args.what][0]
        with store.session(write=False) as s:
            out = export_coded(s, get_project(s, args.name), member, args.what, fmt, filters)
    target = Path(args.out) if args.out else Path(out.filename)
    try:
        target.write_bytes(out.data)
    except OSError as exc:
        raise CodingError(f"{target}: cannot write the export ({exc.strerror}); choose another --out") from None
    print(f"wrote {target} ({len(out.data):,} bytes) as {member.name!r}", file=sys.stderr)
    return 0
