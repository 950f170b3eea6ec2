"""``export agreement|segments|framework|document``: the exports beside excerpts and quotes.

``export agreement NAME --coders A B --format csv|xlsx|md|docx`` computes agreement as the
``--as`` member (``agreement``'s options; ``--table`` picks the CSV's table) and writes it;
``export segments`` (a 0/1 column per code, for SPSS/R), ``export framework`` (case x code,
the coded text in each cell) and ``export document`` (each coded document as DOCX, codes
as comments in the margin) take the filters of every export. ``export segments --names spss``
names columns for SPSS/Stata/R; its key (name -> code path, definition) is the XLSX's
"Variables" sheet, and beside a CSV ``OUT_variables.csv`` (or ``--codebook-out FILE``).
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
    g = sp.add_argument_group("segments", "export segments: the column names and their key")
    g.add_argument("--names", default="paths", choices=["paths", "spss"],
                   help="column names: code paths and attribute names as the project has them (default; Excel, "
                        "R's readr, pandas), or spss: variable names SPSS, Stata and base R accept unchanged "
                        "(letters, digits, _, a letter first, <= 32 characters, unique ignoring case)")
    g.add_argument("--codebook-out", metavar="FILE",
                   help="write the variables table (name, kind, code path or attribute, definition) as CSV here; "
                        "with --names spss and CSV it is written anyway, as OUT_variables.csv")


def run_kind(store, args, filters) -> int:
    """Write the file of ``args.what`` (one of :data:`KINDS`); ``filters``: the command's
    :class:`~coding.exporting.exports.Filters` (agreement reads only codes and documents)."""
    from coding.cli.common import signed_in
    from coding.team.projects import get_project

    _, member = signed_in(store, args)  # a write (the sign-in is recorded); the export only reads
    if args.what == "agreement":
        from coding.exporting.agreement_export import (
            AGREEMENT_FORMATS,
            export_agreement,
        )

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
        from coding.exporting.coded_exports import (
            CODED_FORMATS,
            export_coded,
            export_segments,
        )

        fmt = args.format or CODED_FORMATS[args.what][0]
        with store.session(write=False) as s:
            if args.what == "segments":
                out, variables = export_segments(s, get_project(s, args.name), member, fmt, filters, names=args.names)
            else:
                out = export_coded(s, get_project(s, args.name), member, args.what, fmt, filters)
    target = Path(args.out) if args.out else Path(out.filename)
    files = [(target, out.data)]
    if args.what == "segments" and (args.codebook_out or (args.names == "spss" and fmt == "csv")):
        # The key to the variable names: beside a CSV, which has no second sheet.
        files.append((Path(args.codebook_out) if args.codebook_out
                      else target.with_name(f"{target.stem}_variables.csv"), variables.data))
    for path, data in files:
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise CodingError(f"{path}: cannot write the export ({exc.strerror}); choose another path") from None
        print(f"wrote {path} ({len(data):,} bytes) as {member.name!r}", file=sys.stderr)
    return 0
