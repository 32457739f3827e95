"""Inter-annotator agreement on an ordinal scale: Cohen's kappa, Fleiss' kappa, Krippendorff's alpha.

Written by hand (numpy only) so the server has no statistics dependency; the tests check every
function against scikit-learn, statsmodels and the `krippendorff` package, and against worked examples
from the papers. Categories are integers 0..k-1 in scale order (low=0, moderate=1, high=2).
A statistic that is undefined (every rating in one category: no disagreement is possible by chance
either) is returned as None, not as a number that would look like perfect or no agreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

Weights = Literal["linear", "quadratic"] | None


def confusion(a: Sequence[int], b: Sequence[int], k: int) -> np.ndarray:
    """[k, k] counts: rows are rater A's category, columns rater B's."""
    table = np.zeros((k, k))
    np.add.at(table, (np.asarray(a, dtype=int), np.asarray(b, dtype=int)), 1)
    return table


def cohen_kappa(a: Sequence[int], b: Sequence[int], k: int, weights: Weights = None) -> float | None:
    """Cohen's kappa of two raters over the same items; weighted by |i-j| or (i-j)^2 when asked.

    Same definition as sklearn.metrics.cohen_kappa_score: 1 - sum(w * observed) / sum(w * expected),
    with expected the outer product of the two raters' marginals.
    """
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa: {len(a)} ratings against {len(b)}")
    if not len(a):
        return None
    observed = confusion(a, b, k)
    expected = np.outer(observed.sum(1), observed.sum(0)) / observed.sum()
    idx = np.arange(k)
    distance = np.abs(idx[:, None] - idx[None, :]).astype(float)
    w = (distance > 0).astype(float) if weights is None else distance if weights == "linear" else distance**2
    denominator = float((w * expected).sum())
    return None if denominator == 0 else 1.0 - float((w * observed).sum()) / denominator


def fleiss_kappa(table: np.ndarray) -> float | None:
    """Fleiss' kappa (1971) of a [items, k] table of counts, every item rated by the same number."""
    table = np.asarray(table, dtype=float)
    if table.size == 0:
        return None
    raters = table.sum(1)
    if not np.all(raters == raters[0]) or raters[0] < 2:
        raise ValueError("fleiss_kappa: every item needs the same number (>= 2) of ratings")
    n, m = table.shape[0], raters[0]
    p_item = ((table**2).sum(1) - m) / (m * (m - 1))  # [items]: agreeing pairs / all pairs
    p_cat = table.sum(0) / (n * m)  # [k]
    p_bar, p_e = float(p_item.mean()), float((p_cat**2).sum())
    return None if p_e == 1 else (p_bar - p_e) / (1 - p_e)


def krippendorff_alpha(
    units: Sequence[Sequence[int]], k: int, level: Literal["nominal", "ordinal"] = "ordinal"
) -> float | None:
    """Krippendorff's alpha; `units` holds each item's ratings (any number; items with one are ignored).

    alpha = 1 - (n - 1) * sum(o_ck * d_ck) / sum(n_c * n_k * d_ck), with o the coincidence matrix and,
    for the ordinal level, d_ck = (sum of n_g for g from c to k - (n_c + n_k) / 2) ** 2 (Krippendorff 2011).
    """
    o = np.zeros((k, k))  # coincidences: each ordered pair of ratings in a unit, weighted 1 / (m_u - 1)
    for values in units:
        if len(values) < 2:
            continue
        counts = np.bincount(np.asarray(values, dtype=int), minlength=k).astype(float)
        o += (np.outer(counts, counts) - np.diag(counts)) / (len(values) - 1)
    n_c = o.sum(1)  # [k]
    n = float(n_c.sum())
    if n == 0:
        return None
    d = _ordinal_distance(n_c) if level == "ordinal" else 1.0 - np.eye(k)
    expected = float((np.outer(n_c, n_c) * d).sum())
    return None if expected == 0 else 1.0 - (n - 1) * float((o * d).sum()) / expected


def _ordinal_distance(n_c: np.ndarray) -> np.ndarray:
    k = len(n_c)
    d = np.zeros((k, k))
    for c in range(k):
        for j in range(c + 1, k):
            d[c, j] = d[j, c] = (n_c[c : j + 1].sum() - (n_c[c] + n_c[j]) / 2) ** 2
    return d
