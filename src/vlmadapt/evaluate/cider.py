"""CIDEr-D, written by hand after coco-caption's `pycocoevalcap/cider/cider_scorer.py` (CiderD variant).

Written here because the reference package wraps a Java tokenizer; the algorithm is small: tf-idf
vectors of 1..4-grams with document frequencies counted over the *references of the whole corpus*,
cosine similarity per order with clipping (min of the hypothesis and reference weights), a gaussian
penalty on the length difference (sigma = 6), averaged over orders and references, times 10.

Not additive: the document frequencies depend on the whole corpus, so a sample's score depends on the
others. The stats are per-sample CIDEr-D values computed with df from the full corpus, and the corpus
score is their mean (as coco-caption reports it). A bootstrap resample keeps the full-corpus df instead
of recounting it, an approximation that is tight for corpora of hundreds of images or more.

Scale: coco-caption's number x 100 (so 1.102 is reported as 110.2, as papers print it). It is not a
0-100 score (an exact match of a distinctive caption scores up to 1000), so the metric is named
"cider_d_x100" and its signature says `scale:x100`, where the other metrics beside it are 0-100.

Words are whitespace-split after normalisation; for a language whose pack has `metrics.unit: chars`
(zh, ja, th) the n-grams are of characters, else a whole sentence would be one "word".
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from vlmadapt.evaluate.metrics import RefSets, Unit, check_lengths, normalize_all
from vlmadapt.languages import pack

NGram = tuple[str, ...]


def ngram_counts(text: str, n: int = 4) -> Counter[NGram]:
    """coco-caption `precook`: counts of every 1..n-gram of the whitespace-split text."""
    words = text.split()
    return Counter(tuple(words[i : i + k]) for k in range(1, n + 1) for i in range(len(words) - k + 1))


def _chars(text: str) -> str:
    """The characters of a text as space-separated tokens, whitespace left out: "一只猫" -> "一 只 猫"."""
    return " ".join(c for c in text if not c.isspace())


@dataclass
class _Vec:
    weights: list[dict[NGram, float]]  # one tf-idf dict per order
    norms: list[float]
    length: int  # coco-caption counts the bigrams here (its `n == 1` branch), kept for fidelity


def _vector(counts: Counter[NGram], df: Counter[NGram], log_n: float, n: int) -> _Vec:
    weights: list[dict[NGram, float]] = [{} for _ in range(n)]
    norms = [0.0] * n
    length = 0
    for gram, tf in counts.items():
        k = len(gram) - 1
        w = float(tf) * (log_n - math.log(max(1.0, df[gram])))
        weights[k][gram] = w
        norms[k] += w * w
        if k == 1:
            length += tf
    return _Vec(weights, [math.sqrt(x) for x in norms], length)


def _similarity(hyp: _Vec, ref: _Vec, n: int, sigma: float) -> np.ndarray:
    delta = float(hyp.length - ref.length)
    val = np.zeros(n)
    for k in range(n):
        ref_w = ref.weights[k]
        for gram, w in hyp.weights[k].items():
            r = ref_w.get(gram, 0.0)
            val[k] += min(w, r) * r  # CIDEr-D clipping
        if hyp.norms[k] != 0 and ref.norms[k] != 0:
            val[k] /= hyp.norms[k] * ref.norms[k]
        val[k] *= math.e ** (-(delta**2) / (2 * sigma**2))
    return val


def cider_d(hyps: list[str], refs: RefSets, n: int = 4, sigma: float = 6.0) -> np.ndarray:
    """Per-sample CIDEr-D (coco-caption scale) of tokenised texts, df from these references."""
    ref_counts = [[ngram_counts(r, n) for r in rs] for rs in refs]
    df: Counter[NGram] = Counter()
    for rcs in ref_counts:
        df.update({g for rc in rcs for g in rc})
    log_n = math.log(float(len(refs)))
    out = np.zeros(len(hyps))
    for i, (h, rcs) in enumerate(zip(hyps, ref_counts, strict=True)):
        hv = _vector(ngram_counts(h, n), df, log_n, n)
        total = np.zeros(n)
        for rc in rcs:
            total += _similarity(hv, _vector(rc, df, log_n, n), n, sigma)
        out[i] = float(np.mean(total)) / max(len(rcs), 1) * 10.0
    return out


@dataclass
class CIDErD:
    """CIDEr-D x 100 (mean of per-sample values; df over this corpus's references), named "cider_d_x100".
    stats: [score]. `unit` None takes the language pack's ("chars": character n-grams)."""

    lang: str = "en"
    max_ngram_order: int = 4
    sigma: float = 6.0
    unit: Unit | None = None  # None: pack(lang).metrics.unit, resolved when built
    label: str | None = None
    name: str = field(init=False)
    higher_is_better: bool = field(init=False, default=True)

    def __post_init__(self) -> None:
        self.name = self.label or "cider_d_x100"
        if self.unit is None:
            self.unit = pack(self.lang).metrics.unit

    def signature(self) -> str:
        tok = "chars" if self.unit == "chars" else "whitespace"
        return (
            f"cider-d|n:{self.max_ngram_order}|sigma:{self.sigma:g}|df:corpus-refs|scale:x100|"
            f"tok:{tok}|lang:{self.lang}|norm:nfc+{self.lang}|case:lc|punct:strip"
        )

    def sample_stats(self, hyps: list[str], refs: RefSets) -> np.ndarray:
        check_lengths(hyps, refs)
        if not hyps:
            return np.zeros((0, 1))
        # coco-caption's PTB tokenizer lowercases and drops punctuation before scoring
        h, r = normalize_all(hyps, refs, self.lang, True, True)
        if self.unit == "chars":
            h, r = [_chars(t) for t in h], [[_chars(t) for t in rs] for rs in r]
        return 100 * cider_d(h, r, self.max_ngram_order, self.sigma)[:, None]

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        return np.asarray(sums, dtype=float)[..., 0] / max(n, 1)
