"""The evaluate stage: predictions + reference examples -> scores.json and per_sample.jsonl (base.py).

Every reference example gets one row. A prediction with an `error` is scored as an empty answer and
counted as an error; an empty answer is counted as empty; with `allow_missing`, an example without a
prediction is scored as empty and counted as missing. Predictions for ids that are not in the
references, and references without predictions (unless allowed), stop the run with the ids named.
With `split`, only the references whose `meta.split` is that split are scored (the examples a predict
run with the same `split` answered).

A references file in several languages (or `--lang mul`) is scored per language (by_language.py):
scores.json then has `lang` "mul", the pooled metrics under `metrics`, each language's own under
`languages`, the mean over languages under `macro`, and each per_sample.jsonl row names its `lang`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.errors import UnknownNameError, VlmadaptError
from vlmadapt.evaluate.base import Scorer, per_sample
from vlmadapt.evaluate.by_language import MIXED, LanguageRun, language_of, macro, pooled, score_by_language
from vlmadapt.evaluate.metrics import metric_spec
from vlmadapt.evaluate.stats import CONFIDENCE, RESAMPLES, SEED, score_metric
from vlmadapt.jsonl import read_records, write_jsonl
from vlmadapt.provenance import provenance
from vlmadapt.records import Example, Prediction, Task

_SHOW = 5  # ids quoted in an error message


class EvaluateConfig(BaseModel):
    """What `vlmadapt evaluate` needs; defaults live here."""

    model_config = ConfigDict(extra="forbid")

    predictions: Path = Field(description="Predictions (.jsonl) from `vlmadapt predict`.")
    references: Path = Field(description="Reference examples (.jsonl or .parquet).")
    task: str = Field(description="Scorer: pope, scienceqa, textvqa, open_vqa, caption (or a record task).")
    lang: str | None = Field(
        default=None,
        description="Language (default: the references'; several languages are scored per language).",
    )
    out: Path | None = Field(
        default=None, description="Output directory (default: <predictions dir>/eval-<system>-<task>)."
    )
    system: str | None = Field(
        default=None,
        description="System name shown in reports and compare (default: the predictions file's name, "
        "its folder's for predictions.jsonl).",
    )
    allow_missing: bool = Field(
        default=False, description="Score examples without a prediction as empty (counted as missing)."
    )
    split: str | None = Field(
        default=None, description="Score only the references whose meta.split is this (predict's split)."
    )
    image_root: Path | None = Field(default=None, description="Image folder, recorded for the report.")
    resamples: int = Field(default=RESAMPLES, ge=0, description="Bootstrap resamples for the 95% intervals.")
    seed: int = Field(default=SEED, description="Bootstrap seed.")
    confidence: float = Field(default=CONFIDENCE, gt=0, lt=1, description="Interval confidence level.")
    # The BERTScore model must be a local directory, in the Hugging Face cache, or on a reachable hub:
    # else a one-line error, at once.
    bertscore: bool = Field(default=True, description="Compute BERTScore (open_vqa).")
    bertscore_model: str | None = Field(
        default=None,
        description="BERTScore model: local directory or hub id (default: the language pack's "
        "metrics.bertscore_model; bert-base-multilingual-cased, layer 9, for ro/fr).",
    )
    bertscore_layers: int | None = Field(
        default=None, ge=1, description="Layer to read (needed with a local --bertscore-model)."
    )

    def system_name(self) -> str:
        if self.system:
            return self.system
        stem = self.predictions.stem
        return self.predictions.resolve().parent.name if stem == "predictions" else stem

    def out_dir(self) -> Path:
        return self.out or self.predictions.parent / f"eval-{self.system_name()}-{self.task}"


def scorer_registry() -> Mapping[str, Scorer]:
    """The benchmark scorers by name (evaluate/scorers.py)."""
    from vlmadapt.evaluate.scorers import SCORERS

    return SCORERS


def resolve_scorer(task: str, registry: Mapping[str, Scorer]) -> Scorer:
    """The scorer named `task`, or the only scorer that scores record task `task` (scorers marked
    `named_only`, the multilingual benchmarks', are used only when named)."""
    if task in registry:
        return registry[task]
    matches = {id(s): s for s in registry.values() if task in s.tasks and not getattr(s, "named_only", False)}
    if len(matches) == 1:
        return next(iter(matches.values()))
    known = set(registry) | {t for s in registry.values() for t in s.tasks}
    raise UnknownNameError("task", task, sorted(known))


def with_bertscore_options(scorer: Scorer, cfg: EvaluateConfig) -> Scorer:
    """The scorer with the config's BERTScore choices, where it computes BERTScore; a named model that
    cannot be loaded is an error here, before anything is scored (the language pack's default model is
    checked by the scorer, once the language is known)."""
    if not (dataclasses.is_dataclass(scorer) and hasattr(scorer, "bertscore_model")):
        return scorer
    if cfg.bertscore and cfg.bertscore_model:
        from vlmadapt.evaluate.bertscore import check_available

        if cfg.bertscore_layers is None and Path(cfg.bertscore_model).exists():
            raise VlmadaptError(
                f"--bertscore-model {cfg.bertscore_model}: a local model needs --bertscore-layers "
                "(bert-score only knows the layer of the models it ships defaults for)"
            )
        check_available(cfg.bertscore_model)
    options = {
        "bertscore": cfg.bertscore,
        "bertscore_model": cfg.bertscore_model,
        "bertscore_layers": cfg.bertscore_layers,
    }
    return dataclasses.replace(scorer, **options)


def check_fit(examples: list[Example], scorer: Scorer, lang: str | None, where: Path, task: str) -> str:
    """The evaluation language ("mul" for examples in several languages, or when asked); errors when the
    examples' tasks or language do not fit."""
    bad = [e for e in examples if e.task.value not in scorer.tasks]
    if bad:
        kinds = sorted({e.task.value for e in bad})
        raise VlmadaptError(
            f"{where}: {len(bad)} of {len(examples)} examples have task {', '.join(kinds)} "
            f"(first: id {bad[0].id!r}), but --task {task} uses the {scorer.name!r} scorer, which scores "
            f"{', '.join(scorer.tasks)}; pick the scorer for these examples"
        )
    langs = Counter(language_of(scorer, e) for e in examples)
    if lang is None:
        return next(iter(langs)) if len(langs) == 1 else MIXED
    if lang == MIXED:
        return MIXED
    other = [e for e in examples if language_of(scorer, e) != lang]
    if other:
        first = language_of(scorer, other[0])
        raise VlmadaptError(
            f"{where}: {len(other)} examples are in {first!r} (first: id {other[0].id!r}), "
            f"but --lang is {lang!r}; evaluate against references in the predictions' language, "
            "or leave --lang out to score each language"
        )
    return lang


@dataclass
class Matched:
    """Predictions lined up with the examples (reference order)."""

    texts: list[str]  # what is scored: "" for an error or a missing prediction
    predictions: list[Prediction | None]
    status: list[str]  # ok | empty | error | missing


def match_predictions(
    examples: list[Example], preds: list[Prediction], pred_path: Path, ref_path: Path, allow_missing: bool
) -> Matched:
    by_id = {p.id: p for p in preds}
    ref_ids = {e.id for e in examples}
    extra = [p.id for p in preds if p.id not in ref_ids]
    if extra:
        raise VlmadaptError(
            f"{pred_path}: {len(extra)} predictions have ids that are not in {ref_path}: "
            f"{_few(extra)}; are both files from the same dataset and split?"
        )
    missing = [e.id for e in examples if e.id not in by_id]
    if missing and not allow_missing:
        raise VlmadaptError(
            f"{pred_path}: no prediction for {len(missing)} of the {len(examples)} examples in {ref_path}: "
            f"{_few(missing)}; finish the predict run, or pass --allow-missing to score them as empty"
        )
    matched = [by_id.get(e.id) for e in examples]
    status = [_status(p) for p in matched]
    texts = [
        (p.prediction or "") if p is not None and s != "error" else ""
        for p, s in zip(matched, status, strict=True)
    ]
    return Matched(texts, matched, status)


def _status(p: Prediction | None) -> str:
    if p is None:
        return "missing"
    if p.prediction is None or p.error:
        return "error"
    return "ok" if p.prediction.strip() else "empty"


def _few(ids: list[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:_SHOW])
    return shown + (f" and {len(ids) - _SHOW} more" if len(ids) > _SHOW else "")


def reference_texts(ex: Example) -> list[str]:
    """The reference strings shown in per_sample.jsonl: the answers, or the correct choice."""
    if ex.answers:
        return list(ex.answers)
    if ex.task is Task.multiple_choice and ex.choices and ex.answer_index is not None:
        return [ex.choices[ex.answer_index]]
    return []


def run(config: EvaluateConfig, registry: Mapping[str, Scorer] | None = None) -> Path:
    """Score predictions against reference examples; write scores.json and per_sample.jsonl there."""
    cfg = config
    if cfg.image_root is not None and not cfg.image_root.is_dir():
        raise VlmadaptError(f"--image-root {cfg.image_root}: no such directory")
    examples = read_records(cfg.references, Example)
    if cfg.split is not None:
        examples = [e for e in examples if e.meta.get("split") == cfg.split]
    if not examples:
        which = f" of split {cfg.split!r} (meta.split)" if cfg.split is not None else ""
        raise VlmadaptError(f"{cfg.references}: no examples{which} to evaluate against")
    preds = read_records(cfg.predictions, Prediction)
    scorer = with_bertscore_options(
        resolve_scorer(cfg.task, scorer_registry() if registry is None else registry), cfg
    )
    lang = check_fit(examples, scorer, cfg.lang, cfg.references, cfg.task)
    m = match_predictions(examples, preds, cfg.predictions, cfg.references, cfg.allow_missing)

    if lang == MIXED:
        metrics, rows, by_lang = _score_languages(scorer, examples, m, cfg)
    else:
        sample_scores = scorer.score_samples(examples, m.texts, lang)
        details = scorer.details(examples, m.texts, lang)
        metrics = {}
        for s in sample_scores:
            if s.metric.name in metrics or len(s.stats) != len(examples):
                raise ValueError(
                    f"scorer {scorer.name!r}: metric {s.metric.name!r} repeated or of wrong length"
                )
            metrics[s.metric.name] = _metric_entry(s.metric, s.stats, cfg)
        rows = _rows(examples, m, sample_scores, details)

    out = cfg.out_dir()
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "per_sample.jsonl", rows)
    result: dict[str, Any] = {
        "system": cfg.system_name(),
        "task": cfg.task,
        "scorer": scorer.name,
        "lang": lang,
        "n": len(examples),
        "counts": _counts(m.status),
        "metrics": metrics,
        "bootstrap": {"resamples": cfg.resamples, "seed": cfg.seed, "confidence": cfg.confidence},
        "predictions": str(cfg.predictions.resolve()),
        "references": str(cfg.references.resolve()),
        "image_root": None if cfg.image_root is None else str(cfg.image_root.resolve()),
        "provenance": provenance(cfg.model_dump(mode="json")),
    }
    analysis = getattr(scorer, "analysis", None)  # optional scorer hook (WER error pairs, ...)
    if lang == MIXED:
        result |= by_lang  # each language's analysis is in its section
    elif callable(analysis):
        result["analysis"] = analysis(examples, m.texts, lang)
    write_json(out / "scores.json", result)
    return out


def _metric_entry(metric: Any, stats: Any, cfg: EvaluateConfig) -> dict[str, Any]:
    ms = score_metric(metric, stats, cfg.resamples, cfg.seed, cfg.confidence)
    entry: dict[str, Any] = {"score": ms.score, "low": ms.low, "high": ms.high, "signature": ms.signature}
    entry |= {"higher_is_better": metric.higher_is_better, "spec": metric_spec(metric)}
    return entry | ms.extra


def _score_languages(
    scorer: Scorer, examples: list[Example], m: Matched, cfg: EvaluateConfig
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """Examples in several languages: (pooled metrics, per_sample rows, the `languages` and `macro`
    sections of scores.json). See by_language.py."""
    runs = score_by_language(scorer, examples, m.texts)
    metrics = {}
    for p in pooled(runs, len(examples)):
        entry = _metric_entry(p.metric, p.stats, cfg)
        if not p.same_everywhere:  # the breakdown would describe the first language's metric only
            entry = {k: v for k, v in entry.items() if k != "breakdown"}
        metrics[p.metric.name] = entry | {"signature": p.signature, "languages": [r.lang for r in runs]}
    analysis = getattr(scorer, "analysis", None)
    languages: dict[str, Any] = {}
    for r in runs:
        status = [m.status[i] for i in r.index]
        part = {s.metric.name: _metric_entry(s.metric, s.stats, cfg) for s in r.samples}
        languages[r.lang] = {"n": len(r.index), "counts": _counts(status), "metrics": part}
        if callable(analysis):
            said = [m.texts[i] for i in r.index]
            languages[r.lang]["analysis"] = analysis([examples[i] for i in r.index], said, r.lang)
    means = {name: macro(name, runs, cfg.resamples, cfg.seed, cfg.confidence) for name in metrics}
    return metrics, _language_rows(examples, m, runs), {"languages": languages, "macro": means}


def _language_rows(examples: list[Example], m: Matched, runs: list[LanguageRun]) -> list[dict[str, Any]]:
    """per_sample.jsonl rows in reference order, each with its language's metrics and a `lang`."""
    rows: list[dict[str, Any]] = [{} for _ in examples]
    for r in runs:
        part = Matched(
            [m.texts[i] for i in r.index], [m.predictions[i] for i in r.index], [m.status[i] for i in r.index]
        )
        own = _rows([examples[i] for i in r.index], part, r.samples, r.details)
        for i, row in zip(r.index, own, strict=True):
            rows[i] = {"id": row["id"], "lang": r.lang} | {k: v for k, v in row.items() if k != "id"}
    return rows


def _counts(status: list[str]) -> dict[str, int]:
    c = Counter(status)
    return {
        "references": len(status),
        "scored": c["ok"],
        "errors": c["error"],
        "empty": c["empty"],
        "missing": c["missing"],
    }


def _rows(
    examples: list[Example], m: Matched, sample_scores: list[Any], details: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    own = [(s.metric.name, per_sample(s.metric, s.stats), s.stats) for s in sample_scores]
    rows = []
    for i, ex in enumerate(examples):
        p = m.predictions[i]
        row: dict[str, Any] = {
            "id": ex.id,
            "prediction": None if p is None else p.prediction,
            "references": reference_texts(ex),
            "scores": {name: _num(values[i]) for name, values, _ in own},
            "stats": {name: [_num(x) for x in stats[i]] for name, _, stats in own},
            "details": details[i] if i < len(details) else {},
            "status": m.status[i],
        }
        if p is not None and p.error:
            row["error"] = p.error
        rows.append(row)
    return rows


def _num(x: Any) -> float | None:
    """A JSON-safe number: NaN and infinities become null."""
    x = float(x)
    return x if math.isfinite(x) else None


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Write a JSON file atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def render_scores(result: dict[str, Any]) -> Any:
    """A rich table of a scores.json: metric, score, 95% interval; signatures in the caption. Over several
    languages, the pooled metrics, then a table of each language's scores and their mean."""
    from rich.table import Table

    c = result["counts"]
    lang = result["lang"]
    if "languages" in result:
        lang = f"{lang}: {', '.join(result['languages'])}"
    title = f"{result['system']}  {result['task']} ({result['scorer']}, {lang}), n={result['n']}"
    table = Table(title=title, caption=_counts_line(c))
    for col in ("metric", "score", f"{int(100 * result['bootstrap']['confidence'])}% CI", "signature"):
        table.add_column(col, overflow="fold")
    for name, e in result["metrics"].items():
        ci = "" if e.get("low") is None else f"[{e['low']:.2f}, {e['high']:.2f}]"
        table.add_row(name, f"{e['score']:.2f}", ci, f"[dim]{e['signature']}[/]")
    if "languages" not in result:
        return table
    from rich.console import Group

    return Group(table, _languages_table(result))


def _languages_table(result: dict[str, Any]) -> Any:
    """Languages as rows (then their mean), the metrics every language has as columns."""
    from rich.table import Table

    names = list(result["macro"])
    table = Table(title="per language (macro: the mean over languages)")
    for col in ("lang", "n", *names):
        table.add_column(col, overflow="fold")
    for code, part in result["languages"].items():
        cells = [f"{part['metrics'][name]['score']:.2f}" for name in names]
        table.add_row(code, str(part["n"]), *cells)
    table.add_row("macro", "", *[f"{result['macro'][name]['score']:.2f}" for name in names])
    return table


def _counts_line(c: dict[str, int]) -> str:
    return (
        f"{c['references']} references: {c['scored']} answered, {c['empty']} empty, "
        f"{c['errors']} errors, {c['missing']} missing"
    )
