"""Scorers for native multilingual benchmarks: XM3600, MaXM, xGQA, MaRVL, CVQA and MTVQA (base.Scorer).

Each scorer scores the examples of one language, as a paper's per-language column does; `vlmadapt
evaluate` on a references file in several languages splits it by language, runs the scorer once per
language and adds the mean over languages (macro, the papers' "average") and the pooled figure (micro).
A scorer may name the language an example is reported under (`language_of`): CVQA reports an English
question under the language of the country it was written for.

Answers are read in each record's own language (`Example.lang`): the pack's normalisation, articles,
number words and yes/no words (answers.py). An empty answer is never correct, and an unparsed one is
wrong and counted. The metrics here are dataclasses of plain arguments, like those of scorers.py, so
that `compare` can rebuild them; their `from_sums` do not depend on the language, so statistics of
several languages can be pooled.

Where each benchmark's rules come from:
- XM3600 (Thapliyal et al. 2022) reports CIDEr per language; here CIDEr-D and BLEU-4 with the
  language pack's units (characters for zh / ja / th) and sacrebleu tokenizer, not the English PTB one.
- MaXM (Changpinyo et al. 2023): exact-match accuracy; the relaxed accuracy is the M5 benchmark's
  (floschne/m5b src/m5b/util/evaluation.py: the prediction starts or ends with a reference), here at
  word boundaries after the language's VQA normalisation, where M5 compares raw strings ("cat" would
  match "catalogue").
- xGQA (Pfeiffer et al. 2022): GQA's exact-match accuracy. The questions are translated, the answers
  are GQA's English labels (meta.answer_lang), so answers are normalised as English.
- MaRVL (Liu et al. 2021): accuracy of the true/false verdict on a statement about two images.
- CVQA (Romero et al. 2024): multiple-choice accuracy, for the local-language and the English
  questions separately (accuracy@local, accuracy@en).
- MTVQA (Tang et al. 2024): see `MTVQAScorer`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from vlmadapt.errors import VlmadaptError
from vlmadapt.evaluate.answers import PARSER_VERSION, normalize_vqa, parse_option, parse_yes_no, vqa_matches
from vlmadapt.evaluate.base import SampleScores
from vlmadapt.languages import pack
from vlmadapt.records import Example

RefSets = list[list[str]]
MatchKind = Literal["exact", "relaxed", "contains"]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """100 * num / den, 0 where den is 0 (a resample without any sample of a subset)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, 100.0 * num / np.where(den > 0, den, 1.0), 0.0)


def _name(kind: str, subset: str | None, label: str | None) -> str:
    return label or (kind if subset is None else f"{kind}@{subset}")


# --- answer matching -------------------------------------------------------------------------------------


def relaxed_match(prediction: str, reference: str, lang: str) -> bool:
    """The normalised prediction starts or ends with the normalised reference, at a word boundary (for a
    language written without spaces, at any character). Empty texts never match."""
    pred, ref = normalize_vqa(prediction, lang), normalize_vqa(reference, lang)
    if not pred or not ref:
        return False
    if not pack(lang).spaced:
        return pred.startswith(ref) or pred.endswith(ref)
    p, r = pred.split(), ref.split()
    return p[: len(r)] == r or p[-len(r) :] == r


def mtvqa_contains(prediction: str, reference: str) -> bool:
    """MTVQA's official test (bytedance/MTVQA scripts/acc.py): the stripped, lowercased reference is a
    substring of the stripped, lowercased prediction with its periods removed. The periods go from the
    prediction only, so a reference "3.5" never matches; kept as published. An empty reference (none in
    the release), which acc.py would find in every prediction, matches nothing here."""
    ref = reference.strip().lower()
    return bool(ref) and ref in prediction.strip().lower().replace(".", "")


def answer_matches(kind: MatchKind, prediction: str, references: list[str], lang: str) -> bool:
    if kind == "exact":
        return any(vqa_matches(prediction, references, lang)[1])
    if kind == "relaxed":
        return any(relaxed_match(prediction, r, lang) for r in references)
    return any(mtvqa_contains(prediction, r) for r in references)


_MATCH_RULES = {
    "exact": "norm:vqa+{lang}|match:equal",
    "relaxed": "norm:vqa+{lang}|match:prefix-or-suffix(words)",
    "contains": "norm:mtvqa-acc.py(strip,lower,pred-periods-removed)|match:substring",
}


@dataclass
class AnswerMatch:
    """Share x 100 of predictions that match one of the reference answers. stats: [match, counted] per
    sample, so a subset (the scorer zeroes the other rows) divides by its own count.

    kind "exact": equal after the language's VQA normalisation (answers.normalize_vqa); "relaxed": the
    prediction starts or ends with a reference (`relaxed_match`); "contains": MTVQA's substring test
    (`mtvqa_contains`). An empty prediction never matches.
    """

    kind: MatchKind = "exact"
    lang: str = "en"  # "en,fr": a scorer computed the stats per language; the metric only names them
    subset: str | None = None
    label: str | None = None
    name: str = field(init=False)
    higher_is_better: bool = field(init=False, default=True)

    def __post_init__(self) -> None:
        self.name = _name(
            f"{self.kind}_match" if self.kind != "contains" else "accuracy", self.subset, self.label
        )

    def signature(self) -> str:
        rule = _MATCH_RULES[self.kind].format(lang=self.lang)
        return (
            f"answer-match|{self.kind}|subset:{self.subset or 'all'}|lang:{self.lang}|{rule}|"
            f"refs:any|empty:wrong|parser:vlmadapt-vqa{PARSER_VERSION}"
        )

    def sample_stats(self, hyps: list[str], refs: RefSets) -> np.ndarray:
        rows = [
            [float(answer_matches(self.kind, h, rs, self.lang)), 1.0]
            for h, rs in zip(hyps, refs, strict=True)
        ]
        return np.array(rows, dtype=float).reshape(len(hyps), 2)

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        s = np.asarray(sums, dtype=float)
        return _ratio(s[..., 0], s[..., 1])


@dataclass
class ParsedAccuracy:
    """Accuracy or unparsed share x 100 of parsed answers (a yes/no label, an option index) against the
    gold one. stats: [correct, unparsed, counted] per sample; an unparsed answer ("") is wrong.

    `sample_stats` takes the parsed answers as strings ("" when unparsed) against [[gold]]; the scorer
    parses, with the parser `parser` names. `subset` only names the metric (the scorer zeroes other rows).
    """

    benchmark: str = "marvl"
    parser: Literal["yes_no", "option"] = "yes_no"
    kind: Literal["accuracy", "unparsed"] = "accuracy"
    lang: str = "en"  # the languages the answers were parsed in ("en,ro"), for the signature
    subset: str | None = None
    label: str | None = None
    name: str = field(init=False)
    higher_is_better: bool = field(init=False)

    def __post_init__(self) -> None:
        self.name = _name(self.kind, self.subset, self.label)
        self.higher_is_better = self.kind == "accuracy"

    def signature(self) -> str:
        parser = "yn" if self.parser == "yes_no" else "opt"
        return (
            f"{self.benchmark}|{self.kind}|subset:{self.subset or 'all'}|"
            f"parser:vlmadapt-{parser}{PARSER_VERSION}|lang:{self.lang}|unparsed:wrong"
        )

    def sample_stats(self, hyps: list[str], refs: RefSets) -> np.ndarray:
        rows = [
            [float(h != "" and h == rs[0]), float(h == ""), 1.0] for h, rs in zip(hyps, refs, strict=True)
        ]
        return np.array(rows, dtype=float).reshape(len(hyps), 3)

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        s = np.asarray(sums, dtype=float)
        return _ratio(s[..., 0] if self.kind == "accuracy" else s[..., 1], s[..., 2])


# --- helpers ---------------------------------------------------------------------------------------------


def _references(examples: list[Example], benchmark: str) -> RefSets:
    empty = [e.id for e in examples if not e.answers]
    if empty:
        raise VlmadaptError(
            f"{len(empty)} {benchmark} examples have no reference answers (first: id {empty[0]!r}); "
            "score a split that has answers"
        )
    return [list(e.answers) for e in examples]


def _langs(examples: list[Example], lang: str, of: Callable[[Example], str] = lambda e: e.lang) -> str:
    """The languages the examples are read in, for a signature: "fr", or "en,ja" when they differ."""
    found = sorted({of(e) for e in examples}) or [lang]
    return ",".join(found)


def _per_language_stats(
    make: Callable[[str], Any],
    examples: list[Example],
    hyps: list[str],
    refs: RefSets,
    of: Callable[[Example], str],
) -> np.ndarray:
    """A metric's stats with each example read in its own language `of(example)`: one metric per language."""
    by_lang: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        by_lang.setdefault(of(e), []).append(i)
    out: np.ndarray | None = None
    for code, idx in by_lang.items():
        part = make(code).sample_stats([hyps[i] for i in idx], [refs[i] for i in idx])
        if out is None:
            out = np.zeros((len(examples), part.shape[1]))
        out[idx] = part
    return out if out is not None else np.zeros((0, 2))


def _masked(stats: np.ndarray, keep: list[bool]) -> np.ndarray:
    return stats * np.asarray(keep, dtype=float)[:, None]


# --- scorers ---------------------------------------------------------------------------------------------


@dataclass
class XM3600Scorer:
    """Crossmodal-3600 captions: CIDEr-D (x 100) and BLEU-4, tokenised as the language pack says:
    `metrics.unit` (character n-grams for languages written without spaces) for CIDEr-D, the sacrebleu
    tokenizer `metrics.bleu_tokenize` (zh, ja-mecab, 13a, ...) for BLEU. Never the English PTB tokenizer,
    which splits a Thai or Japanese sentence into one "word"."""

    name: str = "xm3600"
    tasks: tuple[str, ...] = ("caption",)
    named_only: bool = True  # used only when named with --task, never as a record task's default

    def score_samples(self, examples: list[Example], predictions: list[str], lang: str) -> list[SampleScores]:
        from vlmadapt.evaluate.cider import CIDErD
        from vlmadapt.evaluate.metrics import BLEU

        refs = _references(examples, "XM3600")
        rules = pack(lang).metrics
        metrics: list[Any] = [
            CIDErD(lang=lang, unit=rules.unit),
            BLEU(lang=lang, tokenize=rules.bleu_tokenize),
        ]
        return [SampleScores(m, m.sample_stats(predictions, refs)) for m in metrics]

    def details(self, examples: list[Example], predictions: list[str], lang: str) -> list[dict[str, Any]]:
        spaced = pack(lang).spaced
        return [{"units": len(p.split()) if spaced else len("".join(p.split()))} for p in predictions]


@dataclass
class MaXMScorer:
    """MaXM open VQA: exact-match accuracy ("exact_match") and relaxed accuracy ("relaxed_match": the
    prediction starts or ends with a reference answer), both after the language's VQA normalisation."""

    name: str = "maxm"
    tasks: tuple[str, ...] = ("open_vqa",)
    named_only: bool = True  # used only when named with --task, never as a record task's default

    def score_samples(self, examples: list[Example], predictions: list[str], lang: str) -> list[SampleScores]:
        refs = _references(examples, "MaXM")
        out = []
        for kind in ("exact", "relaxed"):

            def make(code: str, kind: MatchKind = kind) -> AnswerMatch:
                return AnswerMatch(kind, code)

            stats = _per_language_stats(make, examples, predictions, refs, lambda e: e.lang)
            out.append(SampleScores(AnswerMatch(kind, _langs(examples, lang)), stats))
        return out

    def details(self, examples: list[Example], predictions: list[str], lang: str) -> list[dict[str, Any]]:
        return [{"normalized": normalize_vqa(p, e.lang)} for e, p in zip(examples, predictions, strict=True)]


def answer_lang(example: Example) -> str:
    """The language the reference answers are written in: meta.answer_lang (xGQA: "en"), else the record's."""
    value = example.meta.get("answer_lang")
    return value if isinstance(value, str) and value else example.lang


@dataclass
class XGQAScorer:
    """xGQA: exact-match accuracy against GQA's answer label, normalised in the answers' language (English
    for the published files, whatever the question's language: meta.answer_lang). A model asked in German
    must answer "yes", not "ja", as in the paper, where answers are classified over GQA's English labels."""

    name: str = "xgqa"
    tasks: tuple[str, ...] = ("open_vqa",)
    named_only: bool = True  # used only when named with --task, never as a record task's default

    def score_samples(self, examples: list[Example], predictions: list[str], lang: str) -> list[SampleScores]:
        refs = _references(examples, "xGQA")
        stats = _per_language_stats(
            lambda code: AnswerMatch("exact", code), examples, predictions, refs, answer_lang
        )
        return [
            SampleScores(AnswerMatch("exact", _langs(examples, lang, answer_lang), label="accuracy"), stats)
        ]

    def details(self, examples: list[Example], predictions: list[str], lang: str) -> list[dict[str, Any]]:
        rows = []
        for e, p in zip(examples, predictions, strict=True):
            rows.append({"normalized": normalize_vqa(p, answer_lang(e)), "answer_lang": answer_lang(e)})
        return rows


def _gold_yes_no(example: Example) -> str:
    answer = example.answers[0] if example.answers else ""
    label = parse_yes_no(answer, example.lang).label
    if label is None:
        raise VlmadaptError(
            f"example {example.id!r}: reference answer {answer!r} is not true/false or yes/no "
            f"in {example.lang!r}"
        )
    return label


@dataclass
class MaRVLScorer:
    """MaRVL: accuracy of the true/false verdict, read with the language's yes/no words (true/false,
    vrai/faux, adevărat/fals are among them) and English's; an unparsed answer is wrong, and its share is
    the "unparsed" metric."""

    name: str = "marvl"
    tasks: tuple[str, ...] = ("yes_no",)
    named_only: bool = True  # used only when named with --task, never as a record task's default

    def score_samples(self, examples: list[Example], predictions: list[str], lang: str) -> list[SampleScores]:
        labels: list[str] = [
            parse_yes_no(p, e.lang).label or "" for e, p in zip(examples, predictions, strict=True)
        ]
        gold = [[_gold_yes_no(e)] for e in examples]
        code = _langs(examples, lang)
        stats = ParsedAccuracy("marvl", "yes_no", "accuracy", code).sample_stats(labels, gold)  # [N, 3]
        return [
            SampleScores(ParsedAccuracy("marvl", "yes_no", kind, code), stats)
            for kind in ("accuracy", "unparsed")
        ]

    def details(self, examples: list[Example], predictions: list[str], lang: str) -> list[dict[str, Any]]:
        rows = []
        for e, p in zip(examples, predictions, strict=True):
            a = parse_yes_no(p, e.lang)
            rows.append({"parsed": a.label, "rule": a.rule, "cue": a.cue, "gold": _gold_yes_no(e)})
        return rows


CVQA_PROMPTS = ("local", "en")  # meta.question_lang: the question as written, or its English version


def cvqa_language(example: Example) -> str:
    """The language a CVQA example is reported under: its country's language, English questions too."""
    value = example.meta.get("local_lang")
    return value if isinstance(value, str) and value else example.lang


def _cvqa_gold(example: Example) -> int:
    if example.answer_index is None:
        raise VlmadaptError(
            f"example {example.id!r} has no answer: CVQA's public test set hides its labels (Label -1); "
            "score these predictions on the CVQA leaderboard, or evaluate a labelled copy"
        )
    return example.answer_index


@dataclass
class CVQAScorer:
    """CVQA multiple choice: accuracy and unparsed share of the option read with `parse_option` in each
    question's own language, pooled and separately for the local-language questions ("accuracy@local")
    and their English versions ("accuracy@en"), as the CVQA paper reports them."""

    name: str = "cvqa"
    tasks: tuple[str, ...] = ("multiple_choice",)
    named_only: bool = True  # used only when named with --task, never as a record task's default

    def language_of(self, example: Example) -> str:
        return cvqa_language(example)

    def score_samples(self, examples: list[Example], predictions: list[str], lang: str) -> list[SampleScores]:
        parsed = [
            parse_option(p, e.choices or [], e.lang).index for e, p in zip(examples, predictions, strict=True)
        ]
        hyps = ["" if i is None else str(i) for i in parsed]
        gold = [[str(_cvqa_gold(e))] for e in examples]
        code = _langs(examples, lang)

        def metric(kind: Literal["accuracy", "unparsed"], subset: str | None = None) -> ParsedAccuracy:
            return ParsedAccuracy("cvqa", "option", kind, code, subset)

        stats = metric("accuracy").sample_stats(hyps, gold)  # [N, 3]
        out = [SampleScores(metric(kind), stats) for kind in ("accuracy", "unparsed")]
        prompts = [e.meta.get("question_lang", "local") for e in examples]
        for prompt in CVQA_PROMPTS:
            keep = [q == prompt for q in prompts]
            if any(keep):
                out.append(SampleScores(metric("accuracy", prompt), _masked(stats, keep)))
        return out

    def details(self, examples: list[Example], predictions: list[str], lang: str) -> list[dict[str, Any]]:
        rows = []
        for e, p in zip(examples, predictions, strict=True):
            a = parse_option(p, e.choices or [], e.lang)
            rows.append(
                {"parsed": a.index, "letter": a.letter, "rule": a.rule, "gold": _cvqa_gold(e)} | _prompt(e)
            )
        return rows


def _prompt(example: Example) -> dict[str, Any]:
    return {"question_lang": example.meta.get("question_lang", "local")}


@dataclass
class MTVQAScorer:
    """MTVQA text-in-image VQA, two readings side by side.

    "accuracy" is the official metric as published (bytedance/MTVQA scripts/acc.py): correct when the
    lowercased reference answer appears anywhere in the lowercased prediction (periods removed from the
    prediction). It rewards verbose answers: a prediction that lists every word on the sign is
    "correct", and "no" is found inside "not" or "none". "exact_match" is the stricter reading: the
    prediction equals a reference after the language's VQA normalisation (answers.normalize_vqa). Report
    both; the gap between them measures how much of the official number comes from long answers.
    """

    name: str = "mtvqa"
    tasks: tuple[str, ...] = ("open_vqa",)
    named_only: bool = True  # used only when named with --task, never as a record task's default

    def score_samples(self, examples: list[Example], predictions: list[str], lang: str) -> list[SampleScores]:
        refs = _references(examples, "MTVQA")
        code = _langs(examples, lang)
        official = AnswerMatch("contains", code)
        exact = _per_language_stats(
            lambda c: AnswerMatch("exact", c), examples, predictions, refs, lambda e: e.lang
        )
        return [
            SampleScores(official, official.sample_stats(predictions, refs)),
            SampleScores(AnswerMatch("exact", code), exact),
        ]

    def details(self, examples: list[Example], predictions: list[str], lang: str) -> list[dict[str, Any]]:
        return [{"words": len(re.findall(r"\S+", p))} for p in predictions]
