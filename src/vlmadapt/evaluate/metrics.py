"""Language-aware corpus metrics: BLEU, chrF, ROUGE-L and WER as `Metric` objects (see base.py).

Every metric normalises hypotheses and references with `languages.normalize(lang)` first (NFC, Romanian
cedilla -> comma-below, French spaces and apostrophes), so a model is not penalised for the encoding of
a letter. BLEU and chrF take their per-sample sufficient statistics from sacrebleu itself, and
`from_sums` is a vectorised copy of sacrebleu's score-from-statistics code, so a corpus score from
summed statistics equals `sacrebleu.corpus_score` and a bootstrap resample is one matrix product.
WER (edit counts from jiwer) is in wer.py, BERTScore in bertscore.py, CIDEr-D in cider.py. ROUGE-L
is written here (a 20-line LCS) because rouge-score's tokenizer deletes every non-ASCII letter
("bărbat" -> "b rbat").

Tokenisation comes from the language pack (`pack(lang).metrics`): BLEU uses its sacrebleu tokenizer
(`bleu_tokenize`: "zh", "ja-mecab", "ko-mecab", "char", ...), and for `unit: chars` (scripts written
without spaces) ROUGE-L counts characters. `BLEU(raw=True)` / `ChrF(raw=True)` skip vlmadapt's
normalisation: sacrebleu's own number on the text as given, to compare with published scores.

Metrics are dataclasses of plain arguments: `metric_spec` writes one as JSON next to its score and
`metric_from_spec` rebuilds it, so that `vlmadapt compare` can re-score bootstrap resamples from the
statistics saved in per_sample.jsonl.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from vlmadapt.errors import VlmadaptError
from vlmadapt.languages import WORD, normalize, pack

RefSets = list[list[str]]  # one list of reference strings per sample


def norm_signature(lang: str, lowercase: bool | None, strip_punct: bool) -> str:
    """The normalisation part of a metric's signature (casing left out where sacrebleu states it)."""
    case = "" if lowercase is None else f"|case:{'lc' if lowercase else 'mixed'}"
    punct = "strip" if strip_punct else "keep"
    return f"lang:{lang}|norm:nfc+{lang}{case}|punct:{punct}"


def normalize_all(
    hyps: list[str], refs: RefSets, lang: str, lowercase: bool, strip_punct: bool
) -> tuple[list[str], RefSets]:
    """Normalised hypotheses and references. A sample without references is scored against ""."""

    def norm(t: str) -> str:
        return normalize(t, lang, lowercase=lowercase, strip_punct=strip_punct)

    return [norm(h) for h in hyps], [[norm(r) for r in rs] or [""] for rs in refs]


def ordered_sum(x: np.ndarray) -> np.ndarray:
    """Sum over the last axis left to right, as sacrebleu's Python loops do (numpy sums 8+ terms
    pairwise, which can differ in the last bit)."""
    acc = np.zeros(x.shape[:-1])
    for j in range(x.shape[-1]):
        acc = acc + x[..., j]
    return acc


def check_lengths(hyps: list[str], refs: RefSets) -> None:
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} reference sets")


def _streams(refs: RefSets) -> list[list[str | None]]:
    """Per-sample reference lists -> sacrebleu's reference streams, padded with None (variable refs)."""
    width = max((len(r) for r in refs), default=1)
    return [[r[j] if j < len(r) else None for r in refs] for j in range(width)]


def _sacrebleu_signature(obj: Any) -> str:
    """sacrebleu's own signature; 'nrefs:?' until the metric has seen references."""
    args = dict(vars(obj))
    args.setdefault("num_refs", "?")
    return str(obj._SIGNATURE_TYPE(args).format())


def _raw_signature(lang: str) -> str:
    return f"lang:{lang}|norm:none"


def _texts(
    hyps: list[str], refs: RefSets, lang: str, strip_punct: bool, raw: bool
) -> tuple[list[str], RefSets]:
    """What sacrebleu scores: the normalised texts, or (raw) the texts as given; no references -> [""]."""
    if raw:
        return list(hyps), [list(rs) or [""] for rs in refs]
    return normalize_all(hyps, refs, lang, False, strip_punct)


def _sacrebleu_stats(obj: Any, hyps: list[str], refs: RefSets) -> np.ndarray:
    # `_extract_corpus_statistics` is what sacrebleu's own significance tests use to get per-segment
    # statistics; corpus_score sums exactly these rows.
    check_lengths(hyps, refs)
    if not hyps:
        return np.zeros((0, 0))
    rows = obj._extract_corpus_statistics(hyps, _streams(refs))
    return np.asarray(rows, dtype=float)


@dataclass
class BLEU:
    """Corpus BLEU (sacrebleu). stats: [sys_len, ref_len, matches 1..n, totals 1..n] per sample.

    `max_ngram_order` 1..4 gives BLEU-1..BLEU-4 for captions; the name is "bleu" for 4, else "bleuN",
    with "_raw" appended for `raw=True` (no vlmadapt normalisation: sacrebleu's number on the text as given).
    `tokenize` None takes the language pack's sacrebleu tokenizer (13a; zh, ja-mecab, ko-mecab, char, ...).
    """

    lang: str = "en"
    max_ngram_order: int = 4
    tokenize: str | None = None  # None: pack(lang).metrics.bleu_tokenize, resolved when built
    lowercase: bool = False
    strip_punct: bool = False
    smooth_method: Literal["exp", "floor", "add-k", "none"] = "exp"
    smooth_value: float | None = None
    effective_order: bool = False
    raw: bool = False
    label: str | None = None
    name: str = field(init=False)
    higher_is_better: bool = field(init=False, default=True)
    _bleu: Any = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        order = self.max_ngram_order
        self.name = self.label or ("bleu" if order == 4 else f"bleu{order}") + ("_raw" if self.raw else "")
        if self.tokenize is None:  # stored resolved, so the spec rebuilds the same metric
            self.tokenize = pack(self.lang).metrics.bleu_tokenize
        from sacrebleu.metrics.bleu import BLEU as SacreBLEU

        self._bleu = SacreBLEU(
            lowercase=self.lowercase,
            tokenize=self.tokenize,
            smooth_method=self.smooth_method,
            smooth_value=self.smooth_value,
            max_ngram_order=order,
            effective_order=self.effective_order,
        )

    def signature(self) -> str:
        norm = _raw_signature(self.lang) if self.raw else norm_signature(self.lang, None, self.strip_punct)
        return f"{_sacrebleu_signature(self._bleu)}|order:{self.max_ngram_order}|{norm}"

    def sample_stats(self, hyps: list[str], refs: RefSets) -> np.ndarray:
        # normalise without lowercasing: sacrebleu lowercases itself and says so in its signature
        h, r = _texts(hyps, refs, self.lang, self.strip_punct, self.raw)
        return _sacrebleu_stats(self._bleu, h, r).reshape(len(h), 2 + 2 * self.max_ngram_order)

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        value = self.smooth_value
        if value is None:  # sacrebleu's defaults: floor 0.1, add-k 1
            value = self._bleu.SMOOTH_DEFAULTS[self.smooth_method]
        return bleu_from_sums(sums, self.max_ngram_order, self.smooth_method, value, self.effective_order)

    def breakdown(self, sums: np.ndarray, n: int) -> dict[str, Any]:
        """sacrebleu's verbose line: n-gram precisions, brevity penalty, lengths."""
        k = self.max_ngram_order
        sys_len, ref_len = float(sums[0]), float(sums[1])
        correct, total = sums[2 : 2 + k], sums[2 + k : 2 + 2 * k]
        prec = [round(100 * c / t, 4) if t else 0.0 for c, t in zip(correct, total, strict=True)]
        bp = 1.0 if sys_len >= ref_len else (float(np.exp(1 - ref_len / sys_len)) if sys_len else 0.0)
        return {"precisions": prec, "bp": round(bp, 6), "sys_len": int(sys_len), "ref_len": int(ref_len)}


def bleu_from_sums(
    sums: np.ndarray, order: int, smooth_method: str, smooth_value: float | None, effective_order: bool
) -> np.ndarray:
    """sacrebleu's `BLEU.compute_bleu`, vectorised over leading axes: sums [..., 2 + 2*order] -> [...]."""
    sums = np.asarray(sums, dtype=float)
    sys_len, ref_len = sums[..., 0], sums[..., 1]
    correct = sums[..., 2 : 2 + order].copy()
    total = sums[..., 2 + order : 2 + 2 * order].copy()
    any_match = correct.sum(axis=-1) > 0  # sacrebleu returns 0.0 early when nothing matches (#141)
    if smooth_method == "add-k":
        correct[..., 1:] += smooth_value or 0.0
        total[..., 1:] += smooth_value or 0.0
    valid = np.cumprod(total > 0, axis=-1).astype(bool)  # sacrebleu stops at the first empty order
    zero = correct == 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        raw = 100.0 * correct / total
        if smooth_method == "exp":  # NIST: halve the floor at every further order without a match
            smoothed = 100.0 / (2.0 ** np.cumsum(zero & valid, axis=-1) * total)
        elif smooth_method == "floor":
            smoothed = 100.0 * (smooth_value or 0.0) / total
        else:
            smoothed = np.zeros_like(total)
        prec = np.where(valid, np.where(zero, smoothed, raw), 0.0)
        logs = np.where(prec > 0, np.log(np.where(prec > 0, prec, 1.0)), -9999999999.0)  # sacrebleu my_log
        bp = np.where(sys_len < ref_len, np.exp(1 - ref_len / np.where(sys_len > 0, sys_len, 1.0)), 1.0)
    bp = np.where((sys_len < ref_len) & (sys_len == 0), 0.0, bp)
    if effective_order:
        eff = np.maximum(valid.sum(axis=-1), 1)
        logs = np.where(np.arange(order) < eff[..., None], logs, 0.0)
    else:
        eff = np.full(sys_len.shape, order)
    score = bp * np.exp(ordered_sum(logs) / eff)
    return np.where(any_match, score, 0.0)


@dataclass
class ChrF:
    """chrF / chrF++ (sacrebleu). stats: [hyp, ref, match] counts per char (then word) n-gram order.

    `raw=True`: no vlmadapt normalisation (sacrebleu's number on the text as given), named "chrf_raw".
    """

    lang: str = "en"
    char_order: int = 6
    word_order: int = 0
    beta: int = 2
    lowercase: bool = False
    strip_punct: bool = False
    whitespace: bool = False
    eps_smoothing: bool = False
    raw: bool = False
    label: str | None = None
    name: str = field(init=False)
    higher_is_better: bool = field(init=False, default=True)
    _chrf: Any = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        self.name = self.label or ("chrf++" if self.word_order == 2 else "chrf") + (
            "_raw" if self.raw else ""
        )
        from sacrebleu.metrics.chrf import CHRF

        self._chrf = CHRF(
            char_order=self.char_order,
            word_order=self.word_order,
            beta=self.beta,
            lowercase=self.lowercase,
            whitespace=self.whitespace,
            eps_smoothing=self.eps_smoothing,
        )

    def signature(self) -> str:
        norm = _raw_signature(self.lang) if self.raw else norm_signature(self.lang, None, self.strip_punct)
        return f"{_sacrebleu_signature(self._chrf)}|{norm}"

    def sample_stats(self, hyps: list[str], refs: RefSets) -> np.ndarray:
        h, r = _texts(hyps, refs, self.lang, self.strip_punct, self.raw)
        return _sacrebleu_stats(self._chrf, h, r).reshape(len(h), 3 * (self.char_order + self.word_order))

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        """sacrebleu's `CHRF._compute_f_score`, vectorised over leading axes."""
        s = np.asarray(sums, dtype=float)
        s = s.reshape((*s.shape[:-1], self.char_order + self.word_order, 3))
        n_hyp, n_ref, n_match = s[..., 0], s[..., 1], s[..., 2]
        eps, factor = 1e-16, float(self.beta**2)
        with np.errstate(divide="ignore", invalid="ignore"):
            prec = np.where(n_hyp > 0, n_match / n_hyp, eps)
            rec = np.where(n_ref > 0, n_match / n_ref, eps)
            if self.eps_smoothing:
                denom = factor * prec + rec
                f = np.where(denom > 0, (1 + factor) * prec * rec / denom, eps)
                return 100 * ordered_sum(f) / (self.char_order + self.word_order)
            effective = (n_hyp > 0) & (n_ref > 0)
            n_eff = effective.sum(axis=-1)
            avg_prec = ordered_sum(np.where(effective, prec, 0.0)) / np.maximum(n_eff, 1)
            avg_rec = ordered_sum(np.where(effective, rec, 0.0)) / np.maximum(n_eff, 1)
            score = (1 + factor) * avg_prec * avg_rec / (factor * avg_prec + avg_rec)
        return np.where(avg_prec + avg_rec > 0, 100 * score, 0.0)


_WORD = WORD  # Unicode letters, digits and combining marks: "bărbat", "नहीं"; "l'été" -> "l", "été"
_ASCII_NON_ALNUM = re.compile(r"[^a-z0-9]+")
Unit = Literal["words", "chars"]


def rouge_tokens(
    text: str, lang: str, tokenizer: Literal["unicode", "ascii-compat"], unit: Unit = "words"
) -> list[str]:
    """ROUGE tokens: lowercase words of Unicode letters/digits; or rouge-score's ASCII-only default.

    unit="chars" (zh, ja, th: no spaces between words): every character but whitespace and punctuation,
    combining marks included (Thai vowel signs are characters of their own, not split off a "word").
    """
    if tokenizer == "ascii-compat":  # rouge_score.tokenize.tokenize without a stemmer, byte for byte
        return [t for t in _ASCII_NON_ALNUM.sub(" ", text.lower()).split() if t]
    if unit == "chars":
        return [c for c in normalize(text, lang, lowercase=True, strip_punct=True) if not c.isspace()]
    return _WORD.findall(normalize(text, lang, lowercase=True))


def lcs_length(a: list[str], b: list[str]) -> int:
    """Longest common subsequence of two token lists (Hyyrö's bit-parallel algorithm, O(|a||b|/64))."""
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, tok in enumerate(a):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for tok in b:
        u = v & masks.get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l_f(hyp: list[str], ref: list[str]) -> float:
    """ROUGE-L F1 of one pair (rouge-score's `_score_lcs`): 0 when either side is empty."""
    lcs = lcs_length(ref, hyp)
    if lcs == 0:
        return 0.0
    p, r = lcs / len(hyp), lcs / len(ref)
    return 2 * p * r / (p + r)


@dataclass
class RougeL:
    """ROUGE-L F (mean of per-sample F x 100; best reference per sample). stats: [F] per sample.

    tokenizer="unicode" keeps Romanian and French letters; "ascii-compat" reproduces rouge-score's
    default tokenizer (every character outside [a-z0-9] becomes a space) for comparison with old numbers.
    `unit` None takes the language pack's: "chars" for scripts without spaces (the LCS is of characters).
    """

    lang: str = "en"
    tokenizer: Literal["unicode", "ascii-compat"] = "unicode"
    unit: Unit | None = None  # None: pack(lang).metrics.unit, resolved when built
    label: str | None = None
    name: str = field(init=False)
    higher_is_better: bool = field(init=False, default=True)

    def __post_init__(self) -> None:
        self.name = self.label or "rouge_l"
        if self.unit is None:
            self.unit = pack(self.lang).metrics.unit

    def signature(self) -> str:
        norm = "none" if self.tokenizer == "ascii-compat" else f"nfc+{self.lang}"
        unit = "words" if self.tokenizer == "ascii-compat" else self.unit
        return (
            f"rougeL|f:mean-of-samples|tok:{self.tokenizer}|unit:{unit}|lang:{self.lang}|norm:{norm}|"
            "case:lc|refs:max"
        )

    def sample_stats(self, hyps: list[str], refs: RefSets) -> np.ndarray:
        check_lengths(hyps, refs)
        unit: Unit = self.unit or "words"
        out = np.zeros((len(hyps), 1))
        for i, (h, rs) in enumerate(zip(hyps, refs, strict=True)):
            ht = rouge_tokens(h, self.lang, self.tokenizer, unit)
            out[i, 0] = 100 * max(
                (rouge_l_f(ht, rouge_tokens(r, self.lang, self.tokenizer, unit)) for r in rs), default=0.0
            )
        return out

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        return np.asarray(sums, dtype=float)[..., 0] / max(n, 1)


def metric_spec(metric: Any) -> dict[str, Any] | None:
    """{"class": "module.Class", "args": {...}} for a dataclass metric in vlmadapt, else None.

    Written next to each score so that `compare` can rebuild the metric's `from_sums`.
    """
    cls = type(metric)
    if not dataclasses.is_dataclass(metric) or not cls.__module__.startswith("vlmadapt."):
        return None
    args = {f.name: getattr(metric, f.name) for f in dataclasses.fields(metric) if f.init}
    args = {k: list(v) if isinstance(v, tuple) else v for k, v in args.items()}
    if not all(isinstance(v, str | int | float | bool | list | type(None)) for v in args.values()):
        return None
    return {"class": f"{cls.__module__}.{cls.__qualname__}", "args": args}


def metric_from_spec(spec: dict[str, Any], where: str) -> Any:
    """The metric a `metric_spec` describes; only classes inside the vlmadapt package are loaded."""
    path = str(spec.get("class", ""))
    module, _, name = path.rpartition(".")
    if not module.startswith("vlmadapt."):
        raise VlmadaptError(f"{where}: metric class {path!r} is not a vlmadapt metric")
    try:
        cls = getattr(importlib.import_module(module), name)
        return cls(**spec.get("args", {}))
    except (ImportError, AttributeError, TypeError) as e:
        raise VlmadaptError(f"{where}: cannot rebuild metric {path!r}: {e}") from None
