"""Benchmark: character-unit agreement by interval arithmetic vs per-character arrays.

A seeded synthetic corpus: 1,000 documents of 20,000 characters, 2 coders,
50 codes, about 100,000 codings (spans of 50-800 characters; coder B's spans
derive from A's with shifted boundaries, some missed, some extra, some given
another code). For every code, Cohen's kappa and Krippendorff's alpha over
character units, pooled over all documents (the 2x2 tables are summed over
documents), are computed by

* ``baseline``: per document, one boolean array per coder and code
  (``codes x characters``), counted with numpy;
* ``char_table``: interval arithmetic, one :func:`char_table` call per
  (document, code);
* ``char_tables``: interval arithmetic vectorised over all (document, code)
  groups at once (:func:`char_tables`);

each followed by ``kappa_from_table`` / ``alpha_from_table``. Every method runs
in its own freshly spawned process so its peak RSS is its own. The results
must be identical (exact table counts, bit-equal floats). For a few codes, the
``krippendorff`` package on the per-character arrays confirms alpha.

Run: ``.venv/bin/python bench/agreement_bench.py`` (from the repository root).
Prints a table; it is not a timed test (DESIGN.md, How we know it works).
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from coding.agreement.alpha import krippendorff_alpha  # noqa: E402
from coding.agreement.two_by_two import alpha_from_table, kappa_from_table  # noqa: E402
from coding.agreement.characters import char_table, char_tables  # noqa: E402

SEED = 20240917
N_DOCS = 1000
DOC_LEN = 20_000
N_CODES = 50
CODINGS_A_PER_DOC = 50
REPEATS = 3
KRIPP_CODES = 3
KRIPP_DOCS = 100


# ---------------------------------------------------------------- corpus


def make_corpus(seed: int = SEED) -> dict[str, np.ndarray]:
    """Codings as flat arrays: doc, code, coder (0 = A, 1 = B), start, end."""
    rng = np.random.default_rng(seed)
    lengths = np.full(N_DOCS, DOC_LEN, dtype=np.int64)
    n_a = N_DOCS * CODINGS_A_PER_DOC
    # some codes are used far more than others, as in real codebooks
    popularity = 1.0 / np.arange(1, N_CODES + 1) ** 0.8
    popularity /= popularity.sum()

    def spans(n, docs):
        size = np.exp(rng.uniform(np.log(50), np.log(800), n)).astype(np.int64)
        start = (rng.random(n) * (lengths[docs] - size + 1)).astype(np.int64)
        return start, start + size

    doc_a = np.repeat(np.arange(N_DOCS), CODINGS_A_PER_DOC)
    code_a = rng.choice(N_CODES, size=n_a, p=popularity)
    start_a, end_a = spans(n_a, doc_a)

    keep = rng.random(n_a) >= 0.10  # B misses 10% of A's codings
    doc_b, code_b = doc_a[keep], code_a[keep].copy()
    shift_s = np.rint(rng.normal(0, 20, keep.sum())).astype(np.int64)
    shift_e = np.rint(rng.normal(0, 20, keep.sum())).astype(np.int64)
    start_b = np.clip(start_a[keep] + shift_s, 0, lengths[doc_b] - 1)
    end_b = np.clip(end_a[keep] + shift_e, start_b + 1, lengths[doc_b])
    swap = rng.random(keep.sum()) < 0.07  # B files 7% under another code
    code_b[swap] = (code_b[swap] + rng.integers(1, N_CODES, swap.sum())) % N_CODES

    n_extra = int(0.08 * n_a)  # and codes 8% more passages A left alone
    doc_x = rng.integers(0, N_DOCS, n_extra)
    code_x = rng.choice(N_CODES, size=n_extra, p=popularity)
    start_x, end_x = spans(n_extra, doc_x)

    doc = np.concatenate([doc_a, doc_b, doc_x])
    code = np.concatenate([code_a, code_b, code_x])
    coder = np.concatenate([np.zeros(n_a, np.int64), np.ones(keep.sum() + n_extra, np.int64)])
    start = np.concatenate([start_a, start_b, start_x])
    end = np.concatenate([end_a, end_b, end_x])
    order = np.lexsort((start, code, doc))  # codings as a database would return them
    return {
        "lengths": lengths,
        "doc": doc[order],
        "code": code[order],
        "coder": coder[order],
        "start": start[order],
        "end": end[order],
    }


def coefficients(tables: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = [tuple(int(x) for x in row) for row in tables]
    return (
        np.array([kappa_from_table(*r) for r in rows]),
        np.array([alpha_from_table(*r) for r in rows]),
    )


# ---------------------------------------------------------------- methods


def method_baseline(c: dict[str, np.ndarray]) -> np.ndarray:
    """Per document: (codes x characters) boolean arrays per coder, counted."""
    tables = np.zeros((N_CODES, 4), dtype=np.int64)
    bounds = np.searchsorted(c["doc"], np.arange(N_DOCS + 1))
    for d in range(N_DOCS):
        length = int(c["lengths"][d])
        marks = np.zeros((2, N_CODES, length), dtype=bool)
        lo, hi = bounds[d], bounds[d + 1]
        for k, who, s, e in zip(
            c["code"][lo:hi].tolist(), c["coder"][lo:hi].tolist(),
            c["start"][lo:hi].tolist(), c["end"][lo:hi].tolist(),
        ):
            marks[who, k, s:e] = True
        a, b = marks
        both = np.count_nonzero(a & b, axis=1)
        len_a = np.count_nonzero(a, axis=1)
        len_b = np.count_nonzero(b, axis=1)
        tables += np.column_stack([both, len_a - both, len_b - both, length - len_a - len_b + both])
    return tables


def method_char_table(c: dict[str, np.ndarray]) -> np.ndarray:
    """Interval arithmetic: one char_table call per (document, code)."""
    spans = defaultdict(lambda: ([], []))
    for d, k, who, s, e in zip(
        c["doc"].tolist(), c["code"].tolist(), c["coder"].tolist(),
        c["start"].tolist(), c["end"].tolist(),
    ):
        spans[d, k][who].append((s, e))
    tables = [[0, 0, 0, 0] for _ in range(N_CODES)]
    empty = ([], [])
    for d, length in enumerate(c["lengths"].tolist()):
        for k in range(N_CODES):
            a, b = spans.get((d, k), empty)
            both, only_a, only_b, neither = char_table(length, a, b)
            row = tables[k]
            row[0] += both
            row[1] += only_a
            row[2] += only_b
            row[3] += neither
    return np.array(tables, dtype=np.int64)


def method_char_tables(c: dict[str, np.ndarray]) -> np.ndarray:
    """Interval arithmetic vectorised over all (document, code) groups."""
    per_group = char_tables(
        np.repeat(c["lengths"], N_CODES),
        c["doc"] * N_CODES + c["code"],
        c["coder"],
        c["start"],
        c["end"],
    )
    return per_group.reshape(N_DOCS, N_CODES, 4).sum(axis=0)


METHODS = {
    "baseline: per-character arrays": method_baseline,
    "interval: char_table per (doc, code)": method_char_table,
    "interval: char_tables vectorised": method_char_tables,
}


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_method(name: str) -> dict:
    """Runs in a fresh spawned process: build the corpus, time the method (best of REPEATS)."""
    corpus = make_corpus()
    rss_before = _maxrss_mb()
    best = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        tables = METHODS[name](corpus)
        kappa, alpha = coefficients(tables)
        best = min(best, time.perf_counter() - t0)
    return {
        "name": name,
        "seconds": best,
        "tables": tables,
        "kappa": kappa,
        "alpha": alpha,
        "rss_peak": _maxrss_mb(),
        "rss_before": rss_before,
        "codings": int(corpus["start"].size),
    }


# ---------------------------------------------------------------- identity with krippendorff


def krippendorff_check(corpus: dict[str, np.ndarray]) -> list[tuple[int, float, float, float]]:
    """For the most used codes, over the first KRIPP_DOCS documents: the krippendorff
    package on per-character arrays vs alpha_from_table on the interval tables."""
    sel = corpus["doc"] < KRIPP_DOCS
    sub = {key: (val[sel] if val.shape == sel.shape else val) for key, val in corpus.items()}
    lengths = corpus["lengths"][:KRIPP_DOCS]
    tables = char_tables(
        np.repeat(lengths, N_CODES), sub["doc"] * N_CODES + sub["code"],
        sub["coder"], sub["start"], sub["end"],
    ).reshape(KRIPP_DOCS, N_CODES, 4).sum(axis=0)
    out = []
    for k in range(KRIPP_CODES):
        data = np.zeros((2, int(lengths.sum())), dtype=float)
        offset = np.concatenate(([0], np.cumsum(lengths)))
        mine = sub["code"] == k
        for d, who, s, e in zip(sub["doc"][mine], sub["coder"][mine], sub["start"][mine], sub["end"][mine]):
            data[who, offset[d] + s : offset[d] + e] = 1.0
        by_package = krippendorff_alpha(data, "nominal").value
        by_table = alpha_from_table(*(int(x) for x in tables[k]))
        if not abs(by_package - by_table) <= 1e-12:
            raise SystemExit(f"code {k}: krippendorff {by_package} != alpha_from_table {by_table}")
        out.append((k, by_table, by_package, abs(by_package - by_table)))
    return out


# ---------------------------------------------------------------- main


def main() -> None:
    ctx = mp.get_context("spawn")
    results = []
    for name in METHODS:
        with ctx.Pool(1) as pool:
            results.append(pool.apply(run_method, (name,)))

    base = results[0]
    for r in results[1:]:
        for key in ("tables", "kappa", "alpha"):
            if not np.array_equal(r[key], base[key], equal_nan=key != "tables"):
                raise SystemExit(f"{r['name']}: {key} differ from the baseline's")

    corpus = make_corpus()
    kripp = krippendorff_check(corpus)

    print(
        f"corpus: {N_DOCS} documents x {DOC_LEN:,} characters, 2 coders, {N_CODES} codes, "
        f"{base['codings']:,} codings (seed {SEED})"
    )
    print(
        "seconds = best of %d runs (tables + kappa + alpha for every code); memory = ru_maxrss "
        "of the method's own spawned process (peak RSS), and how far the method raised it above "
        "the peak reached while building the corpus" % REPEATS
    )
    header = f"{'method':<38} | {'seconds':>8} | {'ratio vs baseline':>17} | {'peak RSS MB':>11} | {'+MB over corpus':>15} | {'codes':>5} | {'codings':>8}"
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = base["seconds"] / r["seconds"]
        print(
            f"{r['name']:<38} | {r['seconds']:8.3f} | {ratio:16.1f}x | {r['rss_peak']:11.0f} | "
            f"{r['rss_peak'] - r['rss_before']:15.0f} | {N_CODES:>5} | {r['codings']:>8,}"
        )
    print()
    print("identical results: table counts equal for all 50 codes; kappa and alpha bit-equal: yes")
    tables = base["tables"]
    total = tables.sum(axis=0)
    print(
        f"pooled over codes: both={total[0]:,} only_a={total[1]:,} only_b={total[2]:,} "
        f"neither={total[3]:,} (= {N_DOCS * DOC_LEN * N_CODES:,} character-code cells)"
    )
    print(
        "kappa per code: min %.3f  median %.3f  max %.3f"
        % (np.nanmin(base["kappa"]), np.nanmedian(base["kappa"]), np.nanmax(base["kappa"]))
    )
    print(f"krippendorff package on per-character arrays (first {KRIPP_DOCS} documents):")
    for k, by_table, by_package, diff in kripp:
        print(f"  code {k:2d}: alpha_from_table {by_table:.15f}  krippendorff.alpha {by_package:.15f}  |diff| {diff:.1e}")

    fast = results[-1]
    print()
    print(
        "goal: >= 10x faster than baseline: %s (%.1fx); <= 3 s: %s (%.3f s); <= 1 GB: %s (%.0f MB)"
        % (
            "met" if base["seconds"] / fast["seconds"] >= 10 else "NOT met",
            base["seconds"] / fast["seconds"],
            "met" if fast["seconds"] <= 3 else "NOT met",
            fast["seconds"],
            "met" if fast["rss_peak"] <= 1024 else "NOT met",
            fast["rss_peak"],
        )
    )


if __name__ == "__main__":
    main()
