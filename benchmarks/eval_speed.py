"""How long scoring the Flickr30k-RoQA test set takes: 6,357 Romanian open-VQA answers with diacritics.

Times BLEU, chrF, ROUGE-L and WER (normalisation + per-sample statistics) and 1,000 bootstrap resamples
of each, then a baseline measured in the same run: the naive bootstrap that re-runs sacrebleu's
`corpus_score` on every resample (what one writes without sufficient statistics), on a few resamples,
extrapolated to 1,000. Prints seconds, the ratio and the machine.

    .venv/bin/python benchmarks/eval_speed.py [--n 6357] [--resamples 1000] [--baseline-resamples 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time

import numpy as np

from vlmadapt.evaluate.base import corpus_score
from vlmadapt.evaluate.metrics import BLEU, ChrF, RougeL
from vlmadapt.evaluate.stats import bootstrap_ci, resample_indices
from vlmadapt.evaluate.wer import WER

_WORD_TEXT = (
    "bărbat femeie copil câine pisică stradă parc mașină bicicletă umbrelă roșie albastră verde "
    "șapte trei două fată băiat își ține mână apă râu munte iarbă zăpadă clădire oraș piață "
    "stă merge aleargă citește mănâncă poartă privește lângă în pe sub către după înaintea"
)
WORDS = _WORD_TEXT.split()
CEDILLA = str.maketrans({"ș": "ş", "ț": "ţ"})
PLAIN = str.maketrans({"ă": "a", "â": "a", "î": "i", "ș": "s", "ț": "t"})


def synthetic(n: int, seed: int) -> tuple[list[str], list[list[str]]]:
    """Seeded answers of 3-14 words and predictions made from them: words dropped, replaced, swapped,
    diacritics lost, or typed with cedilla letters."""
    rng = random.Random(seed)
    hyps, refs = [], []
    for _ in range(n):
        ref = [rng.choice(WORDS) for _ in range(rng.randint(3, 14))]
        hyp = [w for w in ref if rng.random() > 0.15]
        hyp = [rng.choice(WORDS) if rng.random() < 0.15 else w for w in hyp]
        if len(hyp) > 2 and rng.random() < 0.3:
            i = rng.randrange(len(hyp) - 1)
            hyp[i], hyp[i + 1] = hyp[i + 1], hyp[i]
        text = " ".join(hyp).capitalize() + "."
        mode = rng.random()
        text = text.translate(CEDILLA) if mode < 0.2 else text.translate(PLAIN) if mode < 0.3 else text
        hyps.append(text)
        refs.append([" ".join(ref).capitalize() + "."])
    return hyps, refs


def timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def naive_bootstrap_seconds(hyps: list[str], refs: list[list[str]], resamples: int, seed: int) -> float:
    """Seconds per resample of re-scoring each resample with sacrebleu (BLEU and chrF)."""
    import sacrebleu

    idx = resample_indices(len(hyps), resamples, seed)
    start = time.perf_counter()
    for row in idx:
        h = [hyps[i] for i in row]
        r = [[refs[i][0] for i in row]]
        sacrebleu.BLEU().corpus_score(h, r)
        sacrebleu.CHRF().corpus_score(h, r)
    return (time.perf_counter() - start) / resamples


def sacrebleu_builtin_seconds(hyps: list[str], refs: list[list[str]], resamples: int) -> float:
    """Seconds for sacrebleu's own BLEU bootstrap (`corpus_score(n_bootstrap=...)`), statistics included:
    it indexes a [B, N, K] copy of the statistics and scores each resample in a Python loop."""
    import sacrebleu

    start = time.perf_counter()
    sacrebleu.BLEU().corpus_score(hyps, [[r[0] for r in refs]], n_bootstrap=resamples)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=6357)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--baseline-resamples", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    hyps, refs = synthetic(args.n, args.seed)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {platform.platform()} | {platform.processor() or platform.machine()} | {cores} cores")
    print(f"data: {args.n} synthetic Romanian answers (seed {args.seed}), {args.resamples} resamples\n")

    total_stats = total_boot = 0.0
    bleu_chrf_boot = bleu_all = 0.0
    for metric in (BLEU(lang="ro"), ChrF(lang="ro"), RougeL(lang="ro"), WER(lang="ro")):
        stats, t_stats = timed(metric.sample_stats, hyps, refs)
        (low, high), t_boot = timed(bootstrap_ci, metric, stats, args.resamples, args.seed)
        total_stats += t_stats
        total_boot += t_boot
        if metric.name in ("bleu", "chrf"):
            bleu_chrf_boot += t_boot
        if metric.name == "bleu":
            bleu_all = t_stats + t_boot
        score = corpus_score(metric, stats)
        print(
            f"{metric.name:8s} {score:6.2f} [{low:6.2f}, {high:6.2f}]  "
            f"stats {t_stats:6.2f} s   bootstrap {t_boot:6.3f} s"
        )
    total = total_stats + total_boot
    print(f"\ntotal: {total:.2f} s (statistics {total_stats:.2f} s, bootstrap {total_boot:.2f} s)")

    per = naive_bootstrap_seconds(hyps, refs, args.baseline_resamples, args.seed)
    naive = per * args.resamples
    print(
        f"\nbaseline: naive bootstrap re-running sacrebleu corpus_score (BLEU + chrF) per resample: "
        f"{per:.2f} s/resample x {args.resamples} = {naive:.0f} s (from {args.baseline_resamples} resamples)"
    )
    print(f"ours, BLEU + chrF bootstrap: {bleu_chrf_boot:.3f} s -> {naive / bleu_chrf_boot:,.0f}x faster")
    print(f"ours, everything above: {total:.2f} s -> {naive / total:,.1f}x faster than the naive bootstrap")
    builtin = sacrebleu_builtin_seconds(hyps, refs, args.resamples)
    print(
        f"baseline: sacrebleu's own BLEU bootstrap (n_bootstrap={args.resamples}, statistics included): "
        f"{builtin:.2f} s; ours, BLEU statistics + bootstrap: {bleu_all:.2f} s -> {builtin / bleu_all:.1f}x"
    )
    print(f"target <= 10 s on 2 cores: {'met' if total <= 10 else 'NOT met'}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
