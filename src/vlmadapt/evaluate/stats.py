"""Bootstrap confidence intervals and paired significance tests for any `Metric`, from its statistics.

All resamples are drawn at once as one [B, N] index matrix; each row becomes per-sample counts, and a
resample's column sums are `counts @ stats`, so B resamples cost one matrix product and one vectorised
`from_sums` call, not B re-runs of the metric. Paired tests use the same index matrix for both systems
(Koehn 2004); approximate randomisation swaps each sample's statistics between the systems with
probability 1/2 (Riezler & Maxwell 2005), the test sacrebleu's `--paired-ar` runs.

For CIDEr-D the statistics are per-sample scores with document frequencies from the full corpus; the
bootstrap keeps those frequencies fixed (see cider.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from vlmadapt.evaluate.base import Metric, MetricScore, corpus_score

RESAMPLES = 1000
SEED = 12345  # sacrebleu's default seed
CONFIDENCE = 0.95
_CHUNK_CELLS = 1 << 22  # [b, N] counts per chunk: 32 MiB of float64


def resample_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """[B, N] sample indices drawn with replacement: row b is bootstrap resample b."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def _count_chunks(idx: np.ndarray) -> Iterator[np.ndarray]:
    """[b, N] per-sample counts of successive row blocks of an index matrix."""
    b_all, n = idx.shape
    step = max(1, _CHUNK_CELLS // max(n, 1))
    for start in range(0, b_all, step):
        block = idx[start : start + step]
        flat = (block + (np.arange(len(block)) * n)[:, None]).ravel()
        yield np.bincount(flat, minlength=len(block) * n).reshape(len(block), n).astype(float)


def resampled_sums(stats: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """[B, K] column sums of each resample of [N, K] statistics."""
    return resampled_sums_many([stats], idx)[0]


def resampled_sums_many(stats: Sequence[np.ndarray], idx: np.ndarray) -> list[np.ndarray]:
    """`resampled_sums` of several [N, K_i] statistics on the same resamples: the per-sample counts of
    each block of resamples are built once and multiplied with every matrix, so the result for each is
    the one `resampled_sums` gives it alone."""
    parts: list[list[np.ndarray]] = [[] for _ in stats]
    for counts in _count_chunks(idx):
        for part, s in zip(parts, stats, strict=True):
            part.append(counts @ s)
    return [np.concatenate(part, axis=0) for part in parts]


def resampled_scores(metric: Metric, stats: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """[B] metric scores of each resample."""
    return np.asarray(metric.from_sums(resampled_sums(stats, idx), stats.shape[0]), dtype=float)


def interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile interval holding `confidence` of the values."""
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_ci(
    metric: Metric,
    stats: np.ndarray,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the corpus score."""
    idx = resample_indices(len(stats), resamples, seed)
    return interval(resampled_scores(metric, stats, idx), confidence)


def score_metric(
    metric: Metric,
    stats: np.ndarray,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> MetricScore:
    """Corpus score with its bootstrap interval (none for 0 resamples or no samples), signature and
    the metric's `breakdown` (precisions, edit counts, rescaling note...) when it has one."""
    score = MetricScore(metric.name, corpus_score(metric, stats), signature=metric.signature())
    if resamples > 0 and len(stats) > 0:
        score.low, score.high = bootstrap_ci(metric, stats, resamples, seed, confidence)
    breakdown = getattr(metric, "breakdown", None)
    if callable(breakdown):
        score.extra["breakdown"] = breakdown(stats.sum(axis=0), len(stats))
    return score


@dataclass
class PairedTest:
    """A system against the baseline on one metric. delta = system - baseline (in metric units)."""

    metric: str
    method: str  # "paired_bootstrap" | "approximate_randomization"
    baseline: float
    system: float
    delta: float
    p_value: float  # two-sided
    trials: int
    seed: int
    low: float | None = None  # bootstrap interval of delta
    high: float | None = None
    win_rate: float | None = None  # share of resamples where the system is better (Koehn 2004)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_bootstrap(
    metric: Metric,
    baseline_stats: np.ndarray,
    system_stats: np.ndarray,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> PairedTest:
    """Paired bootstrap: both systems scored on the same resamples of the same samples.

    p-value: share of resampled deltas, shifted to mean zero (the null), at least as far from zero as
    the observed delta (two-sided, +1 smoothed). win_rate: Koehn's share of resamples the system wins.
    """
    return paired_bootstraps([(metric, baseline_stats, system_stats)], resamples, seed, confidence)[0]


def paired_bootstraps(
    items: Sequence[tuple[Metric, np.ndarray, np.ndarray]],
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> list[PairedTest]:
    """`paired_bootstrap` of several (metric, baseline stats, system stats) on the same N samples.

    One seeded [B, N] index matrix serves every metric, as `paired_bootstrap` would draw it for each
    (same n, resamples and seed), so each test equals the one-metric call; the per-sample counts are
    built once, which makes the 24 POPE metrics of 9,000 answers cost about one metric's time.
    """
    if not items:
        return []
    n = len(items[0][1])
    for _, a, b in items:
        _check_paired(a, b)
        if len(a) != n:
            raise ValueError(f"paired statistics differ in samples: {len(a)} vs {n}")
    idx = resample_indices(n, resamples, seed)  # [B, N]
    sums = resampled_sums_many([s for _, a, b in items for s in (a, b)], idx)  # [B, K_i] each
    return [
        _bootstrap_test(metric, a, b, sums[2 * k], sums[2 * k + 1], seed, confidence)
        for k, (metric, a, b) in enumerate(items)
    ]


def _bootstrap_test(
    metric: Metric,
    baseline_stats: np.ndarray,
    system_stats: np.ndarray,
    base_sums: np.ndarray,
    sys_sums: np.ndarray,
    seed: int,
    confidence: float,
) -> PairedTest:
    """The paired bootstrap test of one metric from both systems' [B, K] resampled sums."""
    n, resamples = len(baseline_stats), len(base_sums)
    base_b = np.asarray(metric.from_sums(base_sums, n), dtype=float)
    sys_b = np.asarray(metric.from_sums(sys_sums, n), dtype=float)
    base, system = corpus_score(metric, baseline_stats), corpus_score(metric, system_stats)
    deltas = sys_b - base_b  # [B]
    observed = system - base
    extreme = np.abs(deltas - deltas.mean()) >= abs(observed) - 1e-9
    wins = deltas > 0 if metric.higher_is_better else deltas < 0
    low, high = interval(deltas, confidence)
    return PairedTest(
        metric=metric.name,
        method="paired_bootstrap",
        baseline=base,
        system=system,
        delta=observed,
        p_value=float((extreme.sum() + 1) / (resamples + 1)),
        trials=resamples,
        seed=seed,
        low=low,
        high=high,
        win_rate=float(wins.mean()),
    )


def approximate_randomization(
    metric: Metric,
    baseline_stats: np.ndarray,
    system_stats: np.ndarray,
    trials: int = 10000,
    seed: int = SEED,
) -> PairedTest:
    """Paired approximate randomisation: swap each sample's statistics between systems at random.

    p-value: share of shuffles whose |delta| reaches the observed |delta| (two-sided, +1 smoothed).
    """
    _check_paired(baseline_stats, system_stats)
    n = len(baseline_stats)
    diff = system_stats - baseline_stats  # [N, K]
    base_total, sys_total = baseline_stats.sum(axis=0), system_stats.sum(axis=0)
    rng = np.random.default_rng(seed)
    step = max(1, _CHUNK_CELLS // max(n, 1))
    deltas = []
    for start in range(0, trials, step):
        swap = (rng.random((min(step, trials - start), n)) < 0.5).astype(float)  # [b, N]
        moved = swap @ diff  # [b, K]
        deltas.append(metric.from_sums(sys_total - moved, n) - metric.from_sums(base_total + moved, n))
    d = np.concatenate(deltas)
    base, system = corpus_score(metric, baseline_stats), corpus_score(metric, system_stats)
    observed = system - base
    extreme = np.abs(d) >= abs(observed) - 1e-9
    return PairedTest(
        metric=metric.name,
        method="approximate_randomization",
        baseline=base,
        system=system,
        delta=observed,
        p_value=float((extreme.sum() + 1) / (trials + 1)),
        trials=trials,
        seed=seed,
    )


def _check_paired(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"paired statistics differ in shape: {a.shape} vs {b.shape}")
