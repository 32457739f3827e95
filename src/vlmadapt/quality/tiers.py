"""Quality tiers (high / moderate / low) from the checks, with thresholds that can be fitted to audits.

Each feature has a **band**: for a feature where higher is better, a value >= ``high`` is high, one below
``low`` is low, anything between is moderate (mirrored where lower is better). A record's tier is the
worst of its features' tiers; a feature that could not be computed (None) does not count. The reasons
name the features that set the tier, with their values and the bound they crossed.

Default bands (starting points: fit them to your own audit with `fit_thresholds`):

================  ==========  =========  ====================================================
feature           high        low        why
================  ==========  =========  ====================================================
structure_errors  <= 0        > 0        any broken placeholder, option or turn makes it unusable
copy_share        <= 0        > 0.34     a third of the sentences left in the source language
lang_conf         >= 0.70     < 0.40     lingua's confidence in the target language (*)
length_dev        <= 0.53     > 1.10     |ln ratio|: within x1.7 is normal, beyond x3 is not
repetition        <= 0.10     > 0.30     repeated trigrams beyond the source's
chrf_roundtrip    >= 50       < 30       chrF of the back-translation against the source
judge_mqm         >= -1       < -5       GEMBA-MQM: -1 per minor, -5 per major, -25 critical
comet             >= 0.80     < 0.60     CometKiwi-style quality estimate in [0, 1]
================  ==========  =========  ====================================================

(*) On Multi30K val (1,014 Flickr30k captions with human French translations), lingua among
en/fr/ro/es/it/pt/de gives the French side >= 0.75 for 95% of captions (1st percentile 0.57), and the
English side, scored as French, at most 0.31.

`fit_thresholds(labels, checks)` moves each band, one feature at a time, to the candidate cut-points
(quantiles of the feature over the labelled records) that best agree with human tiers, measured by
quadratically weighted Cohen's kappa (an ordinal scale: calling a low item high costs more than calling
it moderate). Written by hand: numpy only, as the search is a few dozen lines.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from vlmadapt.errors import VlmadaptError

TIERS = ("low", "moderate", "high")


class Band(BaseModel):
    model_config = ConfigDict(extra="forbid")

    high: float
    low: float
    higher_is_better: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if (self.low > self.high) if self.higher_is_better else (self.high > self.low):
            side = "low <= high" if self.higher_is_better else "high <= low (lower is better)"
            raise ValueError(f"band needs {side}, got high={self.high}, low={self.low}")
        return self

    def tier(self, value: float) -> int:
        """0 low, 1 moderate, 2 high."""
        if self.higher_is_better:
            return 2 if value >= self.high else 0 if value < self.low else 1
        return 2 if value <= self.high else 0 if value > self.low else 1

    def why(self, value: float) -> str:
        t = self.tier(value)
        if self.higher_is_better:
            bound, sign = (self.low, "<") if t == 0 else (self.high, "<")
        else:
            bound, sign = (self.low, ">") if t == 0 else (self.high, ">")
        return f"{value:.3g} {sign} {bound:g}"


DEFAULT_BANDS: dict[str, Band] = {
    "structure_errors": Band(high=0, low=0, higher_is_better=False),
    "copy_share": Band(high=0.0, low=0.34, higher_is_better=False),
    "lang_conf": Band(high=0.7, low=0.4),
    "length_dev": Band(high=0.53, low=1.1, higher_is_better=False),
    "repetition": Band(high=0.1, low=0.3, higher_is_better=False),
    "chrf_roundtrip": Band(high=50, low=30),
    "judge_mqm": Band(high=-1, low=-5),
    "comet": Band(high=0.8, low=0.6),
}


def assign_tier(checks: Mapping[str, Any], bands: Mapping[str, Band]) -> tuple[str, list[str]]:
    """(tier, reasons): the worst feature tier, and the features that set it."""
    per = {
        name: (band.tier(float(checks[name])), band.why(float(checks[name])))
        for name, band in bands.items()
        if isinstance(checks.get(name), int | float) and not isinstance(checks.get(name), bool)
    }
    worst = min((t for t, _ in per.values()), default=2)
    reasons = [f"{name} {why}" for name, (t, why) in per.items() if t == worst and worst < 2]
    return TIERS[worst], reasons


def weighted_kappa(truth: np.ndarray, pred: np.ndarray, k: int = 3) -> float:
    """Quadratically weighted Cohen's kappa between two ordinal label arrays with values 0..k-1."""
    observed = np.zeros((k, k))
    np.add.at(observed, (truth, pred), 1)
    observed /= observed.sum()
    expected = np.outer(observed.sum(1), observed.sum(0))
    idx = np.arange(k)
    weights = (idx[:, None] - idx[None, :]) ** 2 / (k - 1) ** 2
    denom = float((weights * expected).sum())
    if denom == 0:
        return 1.0 if float((weights * observed).sum()) == 0 else 0.0
    return 1.0 - float((weights * observed).sum()) / denom


@dataclass
class Fit:
    bands: dict[str, Band]
    kappa: float  # with the fitted bands
    kappa_before: float  # with the bands the search started from
    accuracy: float
    n: int  # labelled records with checks


def fit_thresholds(
    labels: Iterable[Mapping[str, Any]] | Mapping[str, str],
    checks: Iterable[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
    bands: Mapping[str, Band] | None = None,
    rounds: int = 3,
) -> Fit:
    """Bands that best reproduce human tiers.

    `labels`: ``{id, tier}`` rows (the audit export) or a mapping id -> tier. `checks`: the rows of
    `vlmadapt quality` output (``{id, checks: {...}}``) or a mapping id -> {feature: value}.
    """
    truth, matrix, names = _join(labels, checks, dict(bands or DEFAULT_BANDS))
    current = {n: (bands or DEFAULT_BANDS)[n] for n in names}
    before = weighted_kappa(truth, _predict(matrix, current, names))
    best = before
    for _ in range(rounds):
        improved = False
        for j, name in enumerate(names):
            for band in _candidates(matrix[:, j], current[name]):
                trial = {**current, name: band}
                score = weighted_kappa(truth, _predict(matrix, trial, names))
                if score > best + 1e-12:
                    best, current, improved = score, trial, True
        if not improved:
            break
    pred = _predict(matrix, current, names)
    fitted = {**dict(bands or DEFAULT_BANDS), **current}
    return Fit(fitted, best, before, float((pred == truth).mean()), len(truth))


def _join(
    labels: Iterable[Mapping[str, Any]] | Mapping[str, str],
    checks: Iterable[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
    bands: Mapping[str, Band],
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    by_label = dict(labels) if isinstance(labels, Mapping) else {str(r["id"]): r["tier"] for r in labels}
    if isinstance(checks, Mapping):
        by_checks = dict(checks)
    else:
        by_checks = {str(r["id"]): r.get("checks", r) for r in checks}
    ids = [i for i in by_label if i in by_checks]
    if not ids:
        raise VlmadaptError("fit_thresholds: no labelled id has checks; are labels and checks from one set?")
    bad = [by_label[i] for i in ids if by_label[i] not in TIERS]
    if bad:
        raise VlmadaptError(f"fit_thresholds: tier {bad[0]!r} is not one of {', '.join(TIERS)}")
    names = [n for n in bands if any(_number(by_checks[i].get(n)) is not None for i in ids)]
    matrix = np.array([[_number(by_checks[i].get(n)) for n in names] for i in ids], dtype=float)
    truth = np.array([TIERS.index(by_label[i]) for i in ids])
    return truth, matrix.reshape(len(ids), len(names)), names


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _predict(matrix: np.ndarray, bands: Mapping[str, Band], names: list[str]) -> np.ndarray:
    """Tier indices of every row ([N]); missing values (NaN) count as high."""
    tiers = np.full(matrix.shape[0], 2)
    for j, name in enumerate(names):
        b, col = bands[name], matrix[:, j]
        if b.higher_is_better:
            t = np.where(col >= b.high, 2, np.where(col < b.low, 0, 1))
        else:
            t = np.where(col <= b.high, 2, np.where(col > b.low, 0, 1))
        tiers = np.minimum(tiers, np.where(np.isnan(col), 2, t))
    return tiers


def _candidates(column: np.ndarray, band: Band) -> Iterable[Band]:
    """Bands with cut-points at the column's quantiles (and beyond its range, to switch a side off)."""
    values = column[~np.isnan(column)]
    # Observed values (not interpolated ones), so a cut-point sits exactly on a labelled record.
    cuts: Any = (
        np.unique(np.quantile(values, np.linspace(0, 1, 21), method="inverted_cdf")) if values.size else []
    )
    span = float(values.max() - values.min()) if values.size else 1.0
    edge = [float(values.min()) - span - 1, float(values.max()) + span + 1] if values.size else []
    points = sorted({*map(float, cuts), *edge, band.high, band.low})
    for lo in points:
        for hi in points:
            if (lo <= hi) if band.higher_is_better else (hi <= lo):
                yield Band(high=hi, low=lo, higher_is_better=band.higher_is_better)
