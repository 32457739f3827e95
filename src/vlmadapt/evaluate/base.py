"""The metric protocol every corpus metric and benchmark scorer follows.

A metric turns each (hypothesis, references) pair into a row of **additive sufficient statistics**
(`sample_stats`, shape [N, K]) and a score from their column sums (`from_sums`). Corpus BLEU (n-gram
matches and lengths), chrF (character n-gram counts), WER (edit counts and reference length) and plain
means (accuracy, ROUGE-L F, BERTScore F1: K = 1, a per-sample value) all fit. This makes a bootstrap
resample one index-and-sum over a matrix instead of re-running the metric, which is how 1,000 resamples
of 6,357 items stay within seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


class Metric(Protocol):
    name: str
    higher_is_better: bool

    def signature(self) -> str:
        """Everything needed to reproduce the number (tokenizer, casing, version, model hash...)."""
        ...

    def sample_stats(self, hyps: list[str], refs: list[list[str]]) -> np.ndarray:
        """[N, K] additive statistics, one row per sample."""
        ...

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        """Scores from column sums: sums [..., K] over n samples -> scores [...] (vectorised)."""
        ...


@dataclass
class MetricScore:
    """A corpus score with its 95% bootstrap interval, on the 0-100 scale unless the metric says otherwise."""

    name: str
    score: float
    low: float | None = None
    high: float | None = None
    signature: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def corpus_score(metric: Metric, stats: np.ndarray) -> float:
    """The corpus score of [N, K] statistics."""
    return float(metric.from_sums(stats.sum(axis=0), len(stats)))


def per_sample(metric: Metric, stats: np.ndarray) -> np.ndarray:
    """Each sample's own score ([N]): the metric applied to its row alone."""
    return np.asarray(metric.from_sums(stats, 1), dtype=float)


@dataclass
class SampleScores:
    """One metric's per-sample statistics for a scorer's examples, in example order."""

    metric: Metric
    stats: np.ndarray  # [N, K]


class Scorer(Protocol):
    """A benchmark scorer (pope, scienceqa, textvqa, open_vqa, caption): turns predictions into metrics.

    `score_samples` returns additive per-sample statistics for each metric; the evaluate stage does the
    corpus scores, bootstrap intervals and paired tests on them. `details` gives per-sample extras for
    per_sample.jsonl and reports (the parsed answer, the option letter recovered, ...).
    """

    name: str
    tasks: tuple[str, ...]

    def score_samples(self, examples: list[Any], predictions: list[str], lang: str) -> list[SampleScores]: ...

    def details(self, examples: list[Any], predictions: list[str], lang: str) -> list[dict[str, Any]]: ...


# Files written by `vlmadapt evaluate` into its output directory (read by `compare` and `report`):
#
# scores.json
#   {"system": str, "task": str, "scorer": str, "lang": str, "n": int,
#    "counts": {"references": int, "scored": int, "errors": int, "empty": int, "missing": int},
#    "metrics": {NAME: {"score": float, "low": float, "high": float, "signature": str, ...}},
#    "bootstrap": {"resamples": int, "seed": int, "confidence": 0.95},
#    "predictions": str (path), "references": str (path), "image_root": str | null,
#    "provenance": {...}}
# per_sample.jsonl (one line per reference example, in reference order)
#   {"id": str, "prediction": str | null, "references": [str], "scores": {NAME: float},
#    "stats": {NAME: [float, ...]}, "details": {...}}
