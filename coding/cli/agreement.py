"""Commands that measure agreement: ``agreement`` on a project, ``reliability`` on a file."""

from __future__ import annotations
import sys
from typing import TYPE_CHECKING

from coding.errors import CodingError
from coding.cli.common import print_json, signed_in, command

if TYPE_CHECKING:
    from coding.store import Store


@command("reliability")
def cmd_reliability(store: Store | None, args) -> int:
    import csv

    from coding.agreement.coefficients import reliability_matrix_from_rows
    from coding.agreement.intervals import all_coefficients
    from coding.importing import decode_bytes

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
        print_json({"coders": header, "units": len(body), "labels": labels, "level": args.level,
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
    from coding.agreement.project import compute_agreement
    from coding.agreement.tables import report_csv, report_markdown, report_text

    from coding.team.projects import get_project

    _, member = signed_in(store, args)
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

        from coding.exporting.agreement_report import agreement_docx

        target = Path(args.docx)
        try:
            target.write_bytes(agreement_docx(report, args.name))
        except OSError as exc:
            raise CodingError(f"{target}: cannot write the report ({exc.strerror}); choose another --docx") from None
        print(f"wrote {target} (method sentence and table per code)", file=sys.stderr)
    elif args.json:
        print_json(report.as_dict())
    elif args.csv:
        sys.stdout.write(report_csv(report))
    elif args.md:
        sys.stdout.write(report_markdown(report))
    else:
        sys.stdout.write(report_text(report))
    return 0


def _recommender_agreement(store: Store, args, member) -> int:
    """`agreement NAME --recommender`: the code recommender measured as a third coder."""
    from coding.team.projects import get_project
    from coding.suggest.recommender_agreement import recommender_agreement, report_text

    if args.csv or args.md or args.docx:
        raise CodingError("--recommender prints a table or, with --json, JSON; leave out --csv, --md and --docx")
    if args.suggestions == "only":
        raise CodingError("--recommender learns from the coders' codings: use --suggestions exclude (default "
                          "for it) or include")
    if args.unit == "sentence":  # segment new documents in a short write first: training then only reads
        from coding.agreement.project import compute_agreement

        store.run(lambda s: compute_agreement(s, get_project(s, args.name), args.coders, member=member,
                                              unit="sentence", documents=args.document or None, ci=False))
    rep = store.run(lambda s: recommender_agreement(
        s, get_project(s, args.name), member, args.coders, unit=args.unit, folds=args.folds,
        min_share=args.min_share, documents=args.document or None, ci=not args.no_ci, n_boot=args.n_boot,
        suggestions=args.suggestions or "exclude"), write=False)
    if args.json:
        print_json(rep.as_dict())
    else:
        sys.stdout.write(report_text(rep))
    return 0
