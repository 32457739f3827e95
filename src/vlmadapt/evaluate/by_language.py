"""Scoring a references file in several languages: per language, the mean over languages, and pooled.

The scorer runs once per language on that language's examples (its pack, its tokenisation, its
document frequencies for CIDEr), exactly as on a file of that language alone. From those runs:

- per language: each language's metrics, with bootstrap intervals over its own examples;
- macro: the mean over languages of a metric every language has (the "average" column of the
  multilingual papers), its interval from the same per-language resamples, averaged (a stratified
  bootstrap: each language resampled within itself);
- pooled (micro): a metric every language has, scored on the statistics of all examples together, each
  row computed in its own language. Every metric's `from_sums` is language-independent (counts, sums
  of per-sample values), so pooled BLEU is corpus BLEU over all n-gram counts, pooled accuracy the share
  of all examples answered right. These are the metrics `compare` and `report` read.

The language an example is reported under is `example.lang`, unless the scorer has a
`language_of(example)` method (CVQA: an English question counts for its country's language).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vlmadapt.evaluate.base import Scorer
from vlmadapt.evaluate.stats import interval, resample_indices, resampled_scores

MIXED = "mul"  # ISO 639-2 "multiple languages": the `lang` of a scores.json over several languages


def language_of(scorer: Scorer, example: Any) -> str:
    """The language `example` is scored and reported under."""
    hook = getattr(scorer, "language_of", None)
    return str(hook(example)) if callable(hook) else str(example.lang)


@dataclass
class LanguageRun:
    """The scorer's output for one language's examples."""

    lang: str
    index: list[int]  # the examples' positions in the references file
    samples: list[Any]  # SampleScores, stats [n_lang, K]
    details: list[dict[str, Any]]


def score_by_language(scorer: Scorer, examples: Sequence[Any], texts: Sequence[str]) -> list[LanguageRun]:
    """One scorer run per language (languages in code order), on that language's examples only."""
    groups: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        groups.setdefault(language_of(scorer, ex), []).append(i)
    runs = []
    for lang in sorted(groups):
        index = groups[lang]
        part, said = [examples[i] for i in index], [texts[i] for i in index]
        samples = scorer.score_samples(part, said, lang)
        names = [s.metric.name for s in samples]
        if len(set(names)) != len(names) or any(len(s.stats) != len(index) for s in samples):
            raise ValueError(f"scorer {scorer.name!r} ({lang}): a metric is repeated or of the wrong length")
        runs.append(LanguageRun(lang, index, samples, scorer.details(part, said, lang)))
    return runs


@dataclass
class Pooled:
    """A metric every language has, with the statistics of all examples in reference order."""

    metric: Any  # the first language's metric: its from_sums serves every language
    stats: np.ndarray  # [N, K]
    signature: str  # the languages' signatures merged
    same_everywhere: bool  # every language's signature is the same


def common_metrics(runs: list[LanguageRun]) -> list[str]:
    """Metric names every language has with statistics of the same width, in the first language's order."""
    first = runs[0].samples
    widths = [{s.metric.name: s.stats.shape[1] for s in r.samples} for r in runs]
    return [s.metric.name for s in first if all(w.get(s.metric.name) == s.stats.shape[1] for w in widths)]


def pooled(runs: list[LanguageRun], n: int) -> list[Pooled]:
    """The common metrics, pooled over all `n` examples."""
    out = []
    for name in common_metrics(runs):
        parts = [next(s for s in r.samples if s.metric.name == name) for r in runs]
        stats = np.zeros((n, parts[0].stats.shape[1]))
        for r, part in zip(runs, parts, strict=True):
            stats[r.index] = part.stats
        signatures = [p.metric.signature() for p in parts]
        out.append(Pooled(parts[0].metric, stats, merge_signatures(signatures), len(set(signatures)) == 1))
    return out


def merge_signatures(signatures: list[str]) -> str:
    """One signature for several languages': fields that differ list each language's value in turn
    ("lang:en|norm:nfc+en" and "lang:fr|norm:nfc+fr" -> "lang:en,fr|norm:nfc+en,nfc+fr")."""
    unique = list(dict.fromkeys(signatures))
    if len(unique) == 1:
        return unique[0]
    fields = [s.split("|") for s in signatures]
    if len({len(f) for f in fields}) != 1:
        return " || ".join(unique)
    merged = []
    for values in zip(*fields, strict=True):
        distinct = list(dict.fromkeys(values))
        keys = {v.partition(":")[0] for v in distinct if ":" in v}
        if len(distinct) == 1:
            merged.append(distinct[0])
        elif len(keys) == 1 and all(":" in v for v in distinct):
            key = keys.pop()
            merged.append(f"{key}:" + ",".join(v.partition(":")[2] for v in distinct))
        else:
            merged.append(",".join(distinct))
    return "|".join(merged)


def macro(name: str, runs: list[LanguageRun], resamples: int, seed: int, confidence: float) -> dict[str, Any]:
    """The mean over languages of metric `name`, with a stratified bootstrap interval: resample b of
    the mean is the mean of each language's resample b (the resamples its own interval comes from)."""
    parts = [next(s for s in r.samples if s.metric.name == name) for r in runs]
    scores = [float(p.metric.from_sums(p.stats.sum(axis=0), len(p.stats))) for p in parts]
    entry: dict[str, Any] = {"score": float(np.mean(scores)), "low": None, "high": None}
    if resamples > 0:
        draws = [
            resampled_scores(p.metric, p.stats, resample_indices(len(p.stats), resamples, seed))
            for p in parts
        ]
        entry["low"], entry["high"] = interval(np.mean(np.stack(draws), axis=0), confidence)
    signature = merge_signatures([p.metric.signature() for p in parts])
    return entry | {
        "higher_is_better": parts[0].metric.higher_is_better,
        "signature": f"{signature}|mean-of:{len(runs)}-languages",
        "languages": {r.lang: s for r, s in zip(runs, scores, strict=True)},
    }
