"""``report methods|saturation|history NAME``: the methods report (DOCX or Markdown), the
saturation table (Guest, Namey & Chen 2020) with its chart as PNG/SVG, and the codebook's history,
as the ``--as`` member may see them (the blind rule)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coding.errors import CodingError
from coding.cli.common import command, print_json, signed_in


def add_parser(sub) -> None:
    sp = sub.add_parser("report", help="the methods report, saturation and the codebook's history (issue 20)",
                        description="methods: a DOCX or Markdown methods section (--out FILE.docx|.md), every "
                                    "number with the command that reproduces it. saturation: new codes per "
                                    "document and the Guest, Namey & Chen (2020) saturation point (--png/--svg FILE: "
                                    "the chart). history: "
                                    "every codebook edit with the editor's role, and the rounds' codebook versions.")
    sp.add_argument("action", choices=["methods", "saturation", "history"])
    sp.add_argument("name", help="project name")
    sp.add_argument("--out", metavar="FILE", help="methods: write FILE.docx or FILE.md (else Markdown on stdout)")
    sp.add_argument("--names", action="store_true", help="methods: name the team members (default: roles only)")
    sp.add_argument("--base", type=int, default=4, metavar="N", help="saturation: base size in documents (default 4)")
    sp.add_argument("--run", type=int, default=2, metavar="N", help="saturation: run length in documents (default 2)")
    sp.add_argument("--threshold", type=float, default=0.05, metavar="X",
                    help="saturation: new-information threshold as a share (default 0.05 = 5%%)")
    sp.add_argument("--order-by", metavar="ATTRIBUTE",
                    help="saturation: order documents by this attribute (e.g. interview_date as YYYY-MM-DD) "
                         "rather than by when they were first coded")
    sp.add_argument("--layer", choices=["coder", "consensus"], default="coder", help="saturation: which codings")
    sp.add_argument("--coder", metavar="NAME", help="saturation: one coder's codings (default: all coders)")
    sp.add_argument("--level", choices=["code", "family"], default="code",
                    help="saturation: leaf codes, or code families (top-level codes)")
    sp.add_argument("--png", metavar="FILE", help="saturation: also write the chart as a PNG image")
    sp.add_argument("--svg", metavar="FILE", help="saturation: also write the chart as an SVG image")
    sp.add_argument("--n-boot", type=int, default=1000, metavar="N",
                    help="methods: bootstrap resamples for the agreement intervals (default 1000)")
    sp.add_argument("--json", action="store_true", help="stable JSON output")


@command("report")
def cmd_report(store, args: argparse.Namespace) -> int:
    from coding.team.projects import get_project

    _, member = signed_in(store, args)
    if (args.png or args.svg) and args.action != "saturation":
        raise CodingError("--png/--svg draw the saturation chart: use them with report saturation")
    if args.action == "methods":
        from coding.report.methods import methods_report
        from coding.report.methods_render import to_docx, to_markdown

        rep = store.run(lambda s: methods_report(
            s, get_project(s, args.name), member, names=args.names, base_size=args.base, run_length=args.run,
            threshold=args.threshold, order_attribute=args.order_by, n_boot=args.n_boot), write=False)
        if args.json:
            print_json({"numbers": rep.numbers, "notes": rep.notes})
        elif args.out:
            path = Path(args.out)
            if path.suffix.lower() not in (".docx", ".md"):
                raise CodingError(f"--out {args.out}: give a file ending in .docx or .md")
            _write(args.out, to_docx(rep) if path.suffix.lower() == ".docx" else to_markdown(rep).encode("utf-8"))
        else:
            sys.stdout.write(to_markdown(rep))
    elif args.action == "saturation":
        from coding.report.saturation import project_saturation

        res = store.run(lambda s: project_saturation(
            s, get_project(s, args.name), member, coder=args.coder, layer=args.layer, level=args.level,
            order_attribute=args.order_by, base_size=args.base, run_length=args.run, threshold=args.threshold),
            write=False)
        sat = res.saturation
        for fmt, out in (("png", args.png), ("svg", args.svg)):
            if out:
                from coding.report.saturation_chart import chart_spec, render

                _write(out, render(chart_spec(res, title=f"Saturation: {args.name}"), fmt))
        if args.json:
            print_json({"options": res.options, "base_size": sat.base_size, "run_length": sat.run_length,
                        "threshold": sat.threshold, "base_codes": sat.base_codes, "total_codes": sat.total_codes,
                        "point": sat.point, "confirmed_at": sat.confirmed_at, "documents": res.table()})
        else:
            for r in res.table():
                share = "" if r["new_information"] is None else f"  run: {r['new_in_run']} new, {r['new_information']:.0%}"
                print(f"{r['position']:>4}  {r['document']}: {r['new_codes']} new, {r['cumulative_codes']} in all{share}")
            print(sat.sentence())
    else:
        from coding.report.history import codebook_timeline, rounds_and_versions

        rows, rounds = store.run(lambda s: (codebook_timeline(s, get_project(s, args.name), member),
                                            rounds_and_versions(s, get_project(s, args.name), member)), write=False)
        if args.json:
            print_json({"edits": rows, "rounds": rounds})
        else:
            for r in rows:
                print(f"{r['when']:%Y-%m-%d %H:%M}  v{r['version'] or '-'}  {r['role']:<6} {r['kind']}: {r['code'] or r['summary']}")
            for r in rounds:
                snaps = "; ".join(f"{x['label']} (v{x['codebook_version']})" for x in r["snapshots"]) or "no snapshot"
                print(f"round {r['round']}: opened with codebook v{r['codebook_version']}; {snaps}")
    return 0


def _write(out: str, data: bytes) -> None:
    """Write ``data`` to the file ``out``, or say why not."""
    try:
        Path(out).write_bytes(data)
    except OSError as exc:
        raise CodingError(f"{out}: cannot write ({exc.strerror}); check the folder") from None
    print(f"wrote {out}", file=sys.stderr)  # stdout may carry the table or the JSON
