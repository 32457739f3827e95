"""Bootstrap intervals and paired tests: checked against naive re-scoring and exact computations."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pytest
import sacrebleu

from vlmadapt.evaluate.metrics import BLEU
from vlmadapt.evaluate.stats import (
    approximate_randomization,
    bootstrap_ci,
    paired_bootstrap,
    resample_indices,
    resampled_scores,
    score_metric,
)
from vlmadapt.evaluate.wer import WER


@dataclass
class Accuracy:
    """The simplest additive metric: stats [correct], score = mean x 100."""

    name: str = "accuracy"
    higher_is_better: bool = field(default=True)

    def signature(self) -> str:
        return "accuracy"

    def sample_stats(self, hyps: list[str], refs: list[list[str]]) -> np.ndarray:
        return np.array([[float(h in r)] for h, r in zip(hyps, refs, strict=True)])

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        return 100 * np.asarray(sums)[..., 0] / n


HYPS = ["un câine aleargă în parc", "o femeie citește", "doi copii se joacă", "un tren", "marea e albastră"]
REFS = [
    ["un câine aleargă prin parc"],
    ["o femeie citește o carte"],
    ["doi copii se joacă afară"],
    ["un tren roșu"],
    ["marea este albastră"],
]


def test_resamples_are_seeded_and_shaped() -> None:
    a, b = resample_indices(7, 4, seed=3), resample_indices(7, 4, seed=3)
    assert a.shape == (4, 7) and (a == b).all() and a.min() >= 0 and a.max() < 7
    assert not (resample_indices(7, 4, seed=4) == a).all()


def test_vectorised_resamples_equal_rescoring_with_sacrebleu() -> None:
    m = BLEU(lang="ro")
    stats = m.sample_stats(HYPS, REFS)
    idx = resample_indices(len(HYPS), 25, seed=0)
    fast = resampled_scores(m, stats, idx)
    for b, row in enumerate(idx):
        hyps = [HYPS[i] for i in row]
        refs = [[REFS[i][0] for i in row]]
        assert fast[b] == pytest.approx(sacrebleu.BLEU().corpus_score(hyps, refs).score, rel=1e-13, abs=0)


def test_interval_of_a_constant_is_that_constant() -> None:
    stats = np.ones((50, 1))
    assert bootstrap_ci(Accuracy(), stats, resamples=200, seed=1) == (100.0, 100.0)


def test_interval_of_a_proportion_matches_the_normal_approximation() -> None:
    stats = np.array([[1.0]] * 700 + [[0.0]] * 300)
    low, high = bootstrap_ci(Accuracy(), stats, resamples=2000, seed=0)
    half = 100 * 1.96 * np.sqrt(0.7 * 0.3 / 1000)  # 2.84 points
    assert low == pytest.approx(70 - half, abs=0.4) and high == pytest.approx(70 + half, abs=0.4)


def test_score_metric_carries_signature_interval_and_breakdown() -> None:
    m = WER(lang="ro")
    stats = m.sample_stats(["un barbat", "o femeie"], [["un bărbat"], ["o femeie"]])
    s = score_metric(m, stats, resamples=100, seed=0)
    assert s.name == "wer" and s.score == pytest.approx(25.0) and s.signature == m.signature()
    assert s.low is not None and s.high is not None and 0.0 <= s.low <= s.score <= s.high <= 50.0
    assert s.extra["breakdown"] == {"substitutions": 1, "deletions": 0, "insertions": 0, "hits": 3}
    no_ci = score_metric(m, stats, resamples=0)
    assert (no_ci.low, no_ci.high) == (None, None)


def test_paired_bootstrap_of_a_system_against_itself() -> None:
    stats = Accuracy().sample_stats(["a", "b", "c", "x"], [["a"], ["b"], ["z"], ["x"]])
    t = paired_bootstrap(Accuracy(), stats, stats.copy(), resamples=300, seed=0)
    assert (t.delta, t.p_value, t.low, t.high, t.win_rate) == (0.0, 1.0, 0.0, 0.0, 0.0)


def test_paired_bootstrap_uses_the_same_resamples_for_both_systems() -> None:
    base = np.array([[0.0]] * 20 + [[1.0]] * 20)
    better = np.array([[1.0]] * 40)  # right wherever the baseline is, and on 20 more
    t = paired_bootstrap(Accuracy(), base, better, resamples=500, seed=0)
    assert t.delta == pytest.approx(50.0) and t.baseline == 50.0 and t.system == 100.0
    # same resamples: the system wins every one of them, and no shifted delta reaches 50
    assert t.win_rate == 1.0 and t.p_value == pytest.approx(1 / 501)
    idx = resample_indices(40, 500, seed=0)
    expected = resampled_scores(Accuracy(), better, idx) - resampled_scores(Accuracy(), base, idx)
    assert (t.low, t.high) == (float(np.percentile(expected, 2.5)), float(np.percentile(expected, 97.5)))


def test_paired_bootstrap_direction_for_lower_is_better() -> None:
    m = WER(lang="en")
    refs = [["a b c d"]] * 6
    base = m.sample_stats(["a x c y"] * 6, refs)  # 50% WER
    better = m.sample_stats(["a b c y"] * 6, refs)  # 25% WER
    t = paired_bootstrap(m, base, better, resamples=200, seed=0)
    assert t.delta == pytest.approx(-25.0) and t.win_rate == 1.0


def test_approximate_randomisation_equals_the_exact_permutation_test() -> None:
    a = np.array([[1.0], [0.0], [1.0], [0.0], [0.0], [1.0], [0.0], [0.0]])
    b = np.array([[1.0], [1.0], [1.0], [1.0], [0.0], [1.0], [1.0], [0.0]])
    observed = 100 * (b.sum() - a.sum()) / 8  # 37.5
    swaps = list(itertools.product([0, 1], repeat=8))  # all 256 ways to swap the pairs
    deltas = [
        100 * sum((a[i, 0] if s else b[i, 0]) - (b[i, 0] if s else a[i, 0]) for i, s in enumerate(sw)) / 8
        for sw in swaps
    ]
    exact = sum(abs(d) >= observed for d in deltas) / len(deltas)  # 3 samples differ: 2 of 8 swaps
    assert exact == 0.25
    t = approximate_randomization(Accuracy(), a, b, trials=20000, seed=0)
    assert t.delta == observed and t.p_value == pytest.approx(exact, abs=0.01)
    assert approximate_randomization(Accuracy(), a, a.copy(), trials=100).p_value == 1.0


def test_paired_tests_refuse_misaligned_statistics() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        paired_bootstrap(Accuracy(), np.zeros((3, 1)), np.zeros((4, 1)))
