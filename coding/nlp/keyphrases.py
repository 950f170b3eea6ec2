"""Keyphrases of a group of texts against the rest: log-odds with an informative Dirichlet prior.

Monroe, Colaresi & Quinn (2008), "Fightin' Words", Political Analysis 16(4), section 3.5:
for a feature ``w`` with count ``y_gw`` in the group (``n_g`` features in all) and
``y_rw`` in the rest (``n_r``), and a prior ``a_w`` (summing to ``a0``),

    delta_w = log((y_gw + a_w) / (n_g + a0 - y_gw - a_w)) - log((y_rw + a_w) / (n_r + a0 - y_rw - a_w))
    var_w  ~= 1 / (y_gw + a_w) + 1 / (y_rw + a_w)

and features are ranked by the z-score ``delta_w / sqrt(var_w)``. Here the prior is the
pooled counts of the whole collection scaled to ``prior_size`` (a0), so a frequent word
needs much more evidence than a rare one to stand out. Pure: counts in, scores out.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

PRIOR_SIZE = 500.0


@dataclass(frozen=True)
class Scored:
    feature: str
    z: float
    count: int       # in the group
    rest: int        # in the rest


def log_odds(group: Counter, rest: Counter, *, prior_size: float = PRIOR_SIZE, min_count: int = 2) -> list[Scored]:
    """Features of ``group`` that occur at least ``min_count`` times there, by z-score, highest first."""
    pooled = group + rest
    total = sum(pooled.values())
    if not total:
        return []
    n_g, n_r = sum(group.values()), sum(rest.values())
    a0 = float(prior_size)
    out = []
    for w, y_g in group.items():
        if y_g < min_count:
            continue
        a = a0 * pooled[w] / total
        y_r = rest.get(w, 0)
        delta = (math.log((y_g + a) / (n_g + a0 - y_g - a))
                 - math.log((y_r + a) / (n_r + a0 - y_r - a)))
        z = delta / math.sqrt(1.0 / (y_g + a) + 1.0 / (y_r + a))
        out.append(Scored(w, z, y_g, y_r))
    out.sort(key=lambda x: (-x.z, x.feature))
    return out


def without_overlaps(scored: list[Scored], top: int) -> list[Scored]:
    """The first ``top`` features with a positive score, without repeats: a feature whose words
    are all inside a better-ranked one is left out ("time" after "protected time"), and a
    phrase takes the place of the better-ranked single words it holds ("special educator"
    replaces "special" and "educator"). Highest score first."""
    chosen: list[Scored] = []
    for x in scored:
        if x.z <= 0:
            break
        words = set(x.feature.split())
        if any(words <= set(c.feature.split()) for c in chosen):
            continue
        held = [j for j, c in enumerate(chosen) if " " not in c.feature and c.feature in words]
        if held:
            chosen[held[0]] = x
            chosen = [c for j, c in enumerate(chosen) if j not in held[1:]]
        else:
            chosen.append(x)
        if len(chosen) == top:
            break
    return sorted(chosen, key=lambda x: (-x.z, x.feature))
