"""The benchmark scorers (base.Scorer): POPE, ScienceQA, TextVQA, open VQA and captioning.

Each scorer parses answers in the evaluation language (answers.py) and returns additive per-sample
statistics; evaluate does the corpus scores and bootstrap intervals, compare the paired tests.

Subsets. POPE is scored pooled and per split (meta.split: random / popular / adversarial) and ScienceQA
per subject (meta.subject), as separate metrics named ``KIND@SUBSET`` ("accuracy@adversarial",
"accuracy@natural_science"), added when the examples hold two or more subsets. A subset metric's rows
are zero outside its subset and its score divides by its own counts, so every number, interval and
paired test of a subset comes from the same additive statistics as the pooled one.

Unparsed answers are never guessed: for POPE an unparsed answer is wrong (it counts in accuracy and,
for a "yes" question, in recall's denominator) and is left out of the yes-ratio, whose base is the parsed
answers; its share is the "unparsed" metric. For ScienceQA an unparsed answer is wrong and counted.

The metric classes here are dataclasses of plain arguments, so `compare` can rebuild them from the spec
evaluate writes next to each score. The POPE and ScienceQA metrics count *parsed labels* (the scorer
parses); VQAAccuracy parses itself. Open VQA and captions compose the corpus metrics of metrics.py,
bertscore.py and cider.py (imported when scoring).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from vlmadapt.errors import VlmadaptError, lookup
from vlmadapt.evaluate.answers import PARSER_VERSION, parse_option, parse_yes_no, vqa_accuracy, vqa_matches
from vlmadapt.evaluate.base import SampleScores, Scorer
from vlmadapt.evaluate.multilingual import (
    CVQAScorer,
    MaRVLScorer,
    MaXMScorer,
    MTVQAScorer,
    XGQAScorer,
    XM3600Scorer,
)
from vlmadapt.languages import RO_CEDILLA_LETTERS, pack
from vlmadapt.records import Example, Task

RefSets = list[list[str]]
POPE_SPLITS = ("random", "popular", "adversarial")  # shown in this order; other splits follow by name

# --- metrics over parsed labels --------------------------------------------------------------------------

YesNoKind = Literal["accuracy", "precision", "recall", "f1", "yes_ratio", "unparsed"]
_TP, _FP, _TN, _FN, _UP, _UN = range(6)  # unparsed with gold yes (_UP) / gold no (_UN)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """100 * num / den, 0 where den is 0 (a resample without any sample of a subset)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, 100.0 * num / np.where(den > 0, den, 1.0), 0.0)


def _metric_name(kind: str, subset: str | None, label: str | None) -> str:
    return label or (kind if subset is None else f"{kind}@{subset}")


@dataclass
class YesNoMetric:
    """POPE's metrics ("yes" is the positive class) x 100. stats: one-hot [tp, fp, tn, fn, unparsed with
    gold yes, unparsed with gold no] per sample.

    `sample_stats` takes parsed labels ("yes", "no", or "" when unparsed) against [[gold label]].
    `subset` only names the metric: the scorer zeroes the rows of other subsets.
    """

    kind: YesNoKind = "accuracy"
    lang: str = "en"
    subset: str | None = None
    label: str | None = None
    name: str = field(init=False)
    higher_is_better: bool = field(init=False)  # yes_ratio: lower is read as better (less yes bias)

    def __post_init__(self) -> None:
        self.name = _metric_name(self.kind, self.subset, self.label)
        self.higher_is_better = self.kind not in ("unparsed", "yes_ratio")

    def signature(self) -> str:
        return (
            f"pope|{self.kind}|subset:{self.subset or 'all'}|parser:vlmadapt-yn{PARSER_VERSION}|"
            f"lang:{self.lang}|unparsed:wrong|positive:yes"
        )

    def sample_stats(self, hyps: list[str], refs: RefSets) -> np.ndarray:
        out = np.zeros((len(hyps), 6))
        for i, (h, rs) in enumerate(zip(hyps, refs, strict=True)):
            gold_yes = rs[0] == "yes"
            if h not in ("yes", "no"):
                out[i, _UP if gold_yes else _UN] = 1
            elif h == "yes":
                out[i, _TP if gold_yes else _FP] = 1
            else:
                out[i, _FN if gold_yes else _TN] = 1
        return out

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        s = np.asarray(sums, dtype=float)
        tp, fp, tn, fn, up, un = (s[..., k] for k in range(6))
        total, parsed = tp + fp + tn + fn + up + un, tp + fp + tn + fn
        if self.kind == "accuracy":
            return _ratio(tp + tn, total)
        if self.kind == "precision":
            return _ratio(tp, tp + fp)
        if self.kind == "recall":
            return _ratio(tp, tp + fn + up)
        if self.kind == "f1":
            p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn + up)
            return _ratio(2 * p * r / 100.0, p + r)
        if self.kind == "yes_ratio":
            return _ratio(tp + fp, parsed)
        return _ratio(up + un, total)

    def breakdown(self, sums: np.ndarray, n: int) -> dict[str, Any]:
        keys = ("tp", "fp", "tn", "fn", "unparsed_gold_yes", "unparsed_gold_no")
        return {k: int(v) for k, v in zip(keys, np.asarray(sums), strict=True)}


@dataclass
class ChoiceMetric:
    """Multiple-choice accuracy or unparsed share x 100. stats: [correct, unparsed, counted] per sample.

    `sample_stats` takes parsed option indices as strings ("" when unparsed) against [[gold index]];
    unparsed answers are wrong. `subset` only names the metric (the scorer zeroes other rows).
    """

    kind: Literal["accuracy", "unparsed"] = "accuracy"
    lang: str = "en"
    subset: str | None = None
    label: str | None = None
    name: str = field(init=False)
    higher_is_better: bool = field(init=False)

    def __post_init__(self) -> None:
        self.name = _metric_name(self.kind, self.subset, self.label)
        self.higher_is_better = self.kind == "accuracy"

    def signature(self) -> str:
        return (
            f"choice|{self.kind}|subset:{self.subset or 'all'}|parser:vlmadapt-opt{PARSER_VERSION}|"
            f"lang:{self.lang}|unparsed:wrong"
        )

    def sample_stats(self, hyps: list[str], refs: RefSets) -> np.ndarray:
        return np.array(
            [[float(h != "" and h == rs[0]), float(h == ""), 1.0] for h, rs in zip(hyps, refs, strict=True)]
        ).reshape(len(hyps), 3)

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        s = np.asarray(sums, dtype=float)
        return _ratio(s[..., 0] if self.kind == "accuracy" else s[..., 1], s[..., 2])


@dataclass
class VQAAccuracy:
    """VQA accuracy x 100 (mean over leave-one-out annotator subsets of min(1, matches/3)), answers
    normalised per language (answers.normalize_vqa). stats: [accuracy] per sample."""

    lang: str = "en"
    label: str | None = None
    name: str = field(init=False)
    higher_is_better: bool = field(init=False, default=True)

    def __post_init__(self) -> None:
        self.name = self.label or "vqa_accuracy"

    def signature(self) -> str:
        return f"vqa-acc|loo:min(1,m/3)|norm:vqa+{self.lang}|parser:vlmadapt-vqa{PARSER_VERSION}"

    def sample_stats(self, hyps: list[str], refs: RefSets) -> np.ndarray:
        values = [100.0 * vqa_accuracy(h, rs, self.lang) for h, rs in zip(hyps, refs, strict=True)]
        return np.asarray(values, dtype=float).reshape(len(hyps), 1)

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        return np.asarray(sums, dtype=float)[..., 0] / max(n, 1)


@dataclass
class ExactMatch:
    """Exact match x 100: the prediction equals a reference after VQA normalisation in the language (case,
    punctuation, articles, number words; diacritics kept: "roșu" is not "rosu"). stats: [match, counted]
    per sample, so a subset (the scorer zeroes other rows) is its own share."""

    lang: str = "en"
    subset: str | None = None
    label: str | None = None
    name: str = field(init=False)
    higher_is_better: bool = field(init=False, default=True)

    def __post_init__(self) -> None:
        self.name = _metric_name("exact_match", self.subset, self.label)

    def signature(self) -> str:
        return f"em|subset:{self.subset or 'all'}|norm:vqa+{self.lang}|parser:vlmadapt-vqa{PARSER_VERSION}"

    def sample_stats(self, hyps: list[str], refs: RefSets) -> np.ndarray:
        hits = [any(vqa_matches(h, rs, self.lang)[1]) for h, rs in zip(hyps, refs, strict=True)]
        return np.array([[float(hit), 1.0] for hit in hits]).reshape(len(hyps), 2)

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        s = np.asarray(sums, dtype=float)
        return _ratio(s[..., 0], s[..., 1])


# --- helpers -------------------------------------------------------------------------------------------


def subset_key(value: Any) -> str:
    """A metric-name-safe subset name: "natural science" -> "natural_science"."""
    return re.sub(r"\s+", "_", str(value).strip())


def subsets(examples: list[Example], key: str, order: tuple[str, ...] = ()) -> list[str]:
    """The distinct meta[key] values (known order first), when there are two or more; else []."""
    found = {subset_key(e.meta[key]) for e in examples if e.meta.get(key) not in (None, "")}
    if len(found) < 2:
        return []
    return [s for s in order if s in found] + sorted(found - set(order))


def _masked(stats: np.ndarray, examples: list[Example], key: str, value: str) -> np.ndarray:
    keep = np.array([subset_key(e.meta.get(key, "")) == value for e in examples], dtype=float)
    return stats * keep[:, None]


def _references(examples: list[Example]) -> RefSets:
    """Each example's reference answers; an error naming the first example without any."""
    empty = [e.id for e in examples if not e.answers]
    if empty:
        raise VlmadaptError(
            f"{len(empty)} examples have no reference answers (first: id {empty[0]!r}); "
            "score a split that has answers (the TextVQA test split has none)"
        )
    return [list(e.answers) for e in examples]


# --- scorers -------------------------------------------------------------------------------------------

POPE_KINDS: tuple[YesNoKind, ...] = ("accuracy", "precision", "recall", "f1", "yes_ratio", "unparsed")


@dataclass
class PopeScorer:
    """POPE: accuracy, precision, recall, F1, yes-ratio and unparsed share, pooled and per split."""

    name: str = "pope"
    tasks: tuple[str, ...] = ("yes_no",)

    def score_samples(self, examples: list[Example], predictions: list[str], lang: str) -> list[SampleScores]:
        labels: list[str] = [parse_yes_no(p, lang).label or "" for p in predictions]
        gold = [[_gold_yes_no(e, lang)] for e in examples]
        stats = YesNoMetric(lang=lang).sample_stats(labels, gold)  # [N, 6]
        out = [SampleScores(YesNoMetric(kind, lang), stats) for kind in POPE_KINDS]
        for split in subsets(examples, "split", POPE_SPLITS):
            part = _masked(stats, examples, "split", split)
            out += [SampleScores(YesNoMetric(kind, lang, split), part) for kind in POPE_KINDS]
        return out + fidelity_scores(predictions, gold, lang, examples)

    def details(self, examples: list[Example], predictions: list[str], lang: str) -> list[dict[str, Any]]:
        rows = []
        for e, p in zip(examples, predictions, strict=True):
            a = parse_yes_no(p, lang)
            row = {"parsed": a.label, "rule": a.rule, "cue": a.cue, "gold": _gold_yes_no(e, lang)}
            rows.append(row | ({"split": e.meta["split"]} if "split" in e.meta else {}))
        return rows


def _gold_yes_no(example: Example, lang: str) -> str:
    answer = example.answers[0] if example.answers else ""
    label = parse_yes_no(answer, example.lang or lang).label
    if label is None:
        raise VlmadaptError(
            f"example {example.id!r}: reference answer {answer!r} is not a yes or no in {example.lang!r}"
        )
    return label


@dataclass
class ScienceQAScorer:
    """ScienceQA (any multiple choice): accuracy and unparsed share, pooled and per subject."""

    name: str = "scienceqa"
    tasks: tuple[str, ...] = ("multiple_choice",)
    subset_field: str = "subject"

    def score_samples(self, examples: list[Example], predictions: list[str], lang: str) -> list[SampleScores]:
        parsed = [
            parse_option(p, e.choices or [], lang).index for e, p in zip(examples, predictions, strict=True)
        ]
        hyps = ["" if i is None else str(i) for i in parsed]
        gold = [[str(_gold_index(e))] for e in examples]
        stats = ChoiceMetric(lang=lang).sample_stats(hyps, gold)  # [N, 3]
        out = [SampleScores(ChoiceMetric(kind, lang), stats) for kind in ("accuracy", "unparsed")]
        for subject in subsets(examples, self.subset_field):
            part = _masked(stats, examples, self.subset_field, subject)
            out.append(SampleScores(ChoiceMetric("accuracy", lang, subject), part))
        return out

    def details(self, examples: list[Example], predictions: list[str], lang: str) -> list[dict[str, Any]]:
        rows = []
        for e, p in zip(examples, predictions, strict=True):
            a = parse_option(p, e.choices or [], lang)
            rows.append(
                {"parsed": a.index, "letter": a.letter, "rule": a.rule, "cue": a.cue, "gold": _gold_index(e)}
            )
        return rows


def _gold_index(example: Example) -> int:
    if example.answer_index is not None:
        return example.answer_index
    choices = example.choices or []
    if example.answers and example.answers[0] in choices:
        return choices.index(example.answers[0])
    raise VlmadaptError(
        f"example {example.id!r}: no 'answer_index', and 'answers' does not name one of its choices"
    )


@dataclass
class TextVQAScorer:
    """TextVQA / VQA v2: VQA accuracy against the annotators' answers, normalised per language."""

    name: str = "textvqa"
    tasks: tuple[str, ...] = ("open_vqa",)

    def score_samples(self, examples: list[Example], predictions: list[str], lang: str) -> list[SampleScores]:
        metric = VQAAccuracy(lang)
        return [SampleScores(metric, metric.sample_stats(predictions, _references(examples)))]

    def details(self, examples: list[Example], predictions: list[str], lang: str) -> list[dict[str, Any]]:
        rows = []
        for e, p in zip(examples, predictions, strict=True):
            normalized, hits = vqa_matches(p, list(e.answers), lang)
            rows.append({"normalized": normalized, "matches": sum(hits), "annotators": len(hits)})
        return rows


@dataclass
class OpenVQAScorer:
    """Open VQA (Flickr30k-RoQA style): exact match, BERTScore P/R/F1, ROUGE-L, BLEU, chrF and WER (CER
    for languages written without spaces) against references. BLEU and chrF come twice: normalised, and
    raw ("bleu_raw", "chrf_raw": sacrebleu on the text as given, to compare with published numbers).

    `bertscore_model` None uses the language pack's BERTScore model; a local directory needs
    `bertscore_layers`. `bertscore=False` leaves BERTScore out (no model to load). The model is checked
    before anything is scored, so a missing one is a one-line error, not a minute of hub retries.
    """

    name: str = "open_vqa"
    tasks: tuple[str, ...] = ("open_vqa",)
    bertscore: bool = True
    bertscore_model: str | None = None
    bertscore_layers: int | None = None
    bertscore_device: str | None = None
    subset_field: str = "kind"  # exact match per meta[subset_field] when examples have two or more values

    def score_samples(self, examples: list[Example], predictions: list[str], lang: str) -> list[SampleScores]:
        from vlmadapt.evaluate.metrics import BLEU, ChrF, RougeL
        from vlmadapt.evaluate.wer import WER

        if self.bertscore:
            _bertscore_metric(self, lang, "f1").check_available()
        refs = _references(examples)
        exact = ExactMatch(lang).sample_stats(predictions, refs)  # [N, 2]
        out = [SampleScores(ExactMatch(lang), exact)]
        for kind in subsets(examples, self.subset_field):  # e.g. the toy world's colour / count / shape
            out.append(
                SampleScores(ExactMatch(lang, kind), _masked(exact, examples, self.subset_field, kind))
            )
        if self.bertscore:
            out += _bertscore(self, predictions, refs, lang)
        metrics: list[Any] = [RougeL(lang=lang), BLEU(lang=lang), BLEU(lang=lang, raw=True)]
        metrics += [ChrF(lang=lang), ChrF(lang=lang, raw=True), WER(lang=lang)]
        out += [SampleScores(m, m.sample_stats(predictions, refs)) for m in metrics]
        return out + fidelity_scores(predictions, refs, lang, examples)

    def details(self, examples: list[Example], predictions: list[str], lang: str) -> list[dict[str, Any]]:
        return [{"words": len(p.split())} for p in predictions]

    def analysis(self, examples: list[Example], predictions: list[str], lang: str) -> dict[str, Any]:
        """The Romanian study's error analysis: most frequent substitutions, deletions, insertions."""
        from vlmadapt.evaluate.wer import WER

        return {"wer_errors": WER(lang=lang).errors(predictions, _references(examples))}


def _bertscore_metric(cfg: OpenVQAScorer, lang: str, output: Literal["f1", "precision", "recall"]) -> Any:
    from vlmadapt.evaluate.bertscore import BERTScore

    return BERTScore(
        lang=lang,
        model=cfg.bertscore_model,
        num_layers=cfg.bertscore_layers,
        output=output,
        device=cfg.bertscore_device,
    )


def _bertscore(cfg: OpenVQAScorer, hyps: list[str], refs: RefSets, lang: str) -> list[SampleScores]:
    """BERTScore F1, precision and recall: one model pass, its [N, 3] stats shared by three metrics."""
    first = _bertscore_metric(cfg, lang, "f1")
    stats = first.sample_stats(hyps, refs)
    rest = [SampleScores(_bertscore_metric(cfg, lang, o), stats) for o in ("precision", "recall")]
    return [SampleScores(first, stats), *rest]


@dataclass
class CaptionScorer:
    """Captioning against several references: BLEU-1..4, ROUGE-L, chrF, CIDEr-D (x100) and WER (CER for
    languages written without spaces); BLEU-4 and chrF also raw ("bleu4_raw", "chrf_raw": sacrebleu on the
    text as given). Open-VQA records are scored the same way, their answers read as captions."""

    name: str = "caption"
    tasks: tuple[str, ...] = ("caption", "open_vqa")

    def score_samples(self, examples: list[Example], predictions: list[str], lang: str) -> list[SampleScores]:
        from vlmadapt.evaluate.cider import CIDErD
        from vlmadapt.evaluate.metrics import BLEU, ChrF, RougeL
        from vlmadapt.evaluate.wer import WER

        refs = _references(examples)
        metrics: list[Any] = [BLEU(lang=lang, max_ngram_order=k, label=f"bleu{k}") for k in (1, 2, 3, 4)]
        metrics += [BLEU(lang=lang, raw=True, label="bleu4_raw"), RougeL(lang=lang)]
        metrics += [ChrF(lang=lang), ChrF(lang=lang, raw=True), CIDErD(lang=lang), WER(lang=lang)]
        out = [SampleScores(m, m.sample_stats(predictions, refs)) for m in metrics]
        return out + fidelity_scores(predictions, refs, lang, examples)

    def details(self, examples: list[Example], predictions: list[str], lang: str) -> list[dict[str, Any]]:
        return [{"words": len(p.split())} for p in predictions]

    def analysis(self, examples: list[Example], predictions: list[str], lang: str) -> dict[str, Any]:
        from vlmadapt.evaluate.wer import WER

        return {"wer_errors": WER(lang=lang).errors(predictions, _references(examples))}


def fidelity_scores(
    predictions: list[str], refs: Any, lang: str, examples: list[Example] | None = None
) -> list[SampleScores]:
    """Share of answers in the target language (an adapted model that answers in English shows up here),
    and for Romanian the share of legacy cedilla letters ş ţ among ș/ț-type letters.

    The question asked is "target language or English, the model's original language?": with more
    candidates lingua misreads short answers ("Il y a un chien." comes out German among seven). When the
    examples are translations with their source answers, short answers are also decided by the words of
    the answers in each language (fidelity.reference_lexicon).
    """
    from vlmadapt.evaluate.fidelity import (
        CANDIDATES,
        LanguageFidelity,
        RomanianCedillaShare,
        reference_lexicon,
    )

    if not pack(lang).lingua:  # lingua does not know the language: no fidelity to measure
        return []
    candidates = CANDIDATES if lang == "en" else ("en", lang)
    pairs = [
        pair
        for ex in examples or []
        for pair in [(ex.lang, list(ex.answers))]
        + ([(ex.source.lang, list(ex.source.answers))] if ex.source and ex.source.answers else [])
    ]
    lexicon = reference_lexicon(pairs) if any(code != lang for code, _ in pairs) else None
    metrics: list[Any] = [LanguageFidelity(lang=lang, candidates=candidates, lexicon=lexicon)]
    if set(RO_CEDILLA_LETTERS) <= set(pack(lang).normalize.replace):  # the pack folds legacy ş ţ
        metrics.append(RomanianCedillaShare())
    return [SampleScores(m, m.sample_stats(predictions, refs)) for m in metrics]


SCORERS: dict[str, Scorer] = {
    "pope": PopeScorer(),
    "scienceqa": ScienceQAScorer(),
    "textvqa": TextVQAScorer(),
    "open_vqa": OpenVQAScorer(),
    "caption": CaptionScorer(),
    # native multilingual benchmarks (multilingual.py): named with --task, never a task's default
    "xm3600": XM3600Scorer(),
    "maxm": MaXMScorer(),
    "xgqa": XGQAScorer(),
    "marvl": MaRVLScorer(),
    "cvqa": CVQAScorer(),
    "mtvqa": MTVQAScorer(),
}

# The scorer a record task gets when none is named (TextVQA is open VQA scored by VQA accuracy: name it).
DEFAULT_SCORER: dict[Task, str] = {
    Task.yes_no: "pope",
    Task.multiple_choice: "scienceqa",
    Task.open_vqa: "open_vqa",
    Task.caption: "caption",
}


def scorer_for(task: Task | str) -> Scorer:
    """The default scorer of a record task ("yes_no" -> pope), or the scorer named `task`."""
    by_task = {t.value: name for t, name in DEFAULT_SCORER.items()}
    return lookup(SCORERS, by_task.get(str(task), str(task)), "scorer")
