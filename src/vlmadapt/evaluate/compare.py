"""`vlmadapt compare`: systems side by side, each tested against a baseline on the same examples.

Reads evaluate output directories (scores.json + per_sample.jsonl), lines the samples up by id, and runs
a paired test per metric between each system and the baseline, from the per-sample statistics saved by
evaluate: no prediction is re-scored. Systems scored on different example sets are refused.

compare.json
  {"baseline": str, "systems": [str], "n": int, "method": "paired_bootstrap" | "approximate_randomization",
   "trials": int, "seed": int, "confidence": float, "runs": {SYSTEM: dir},
   "metrics": {NAME: {"higher_is_better": bool, "signature": str,
                      "scores": {SYSTEM: {"score", "low", "high"}},
                      "tests": {SYSTEM: {"delta", "low", "high", "p_value", "win_rate", ...}}}},
   "skipped": {NAME: reason}, "provenance": {...}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.errors import VlmadaptError
from vlmadapt.evaluate.metrics import metric_from_spec
from vlmadapt.evaluate.run import write_json
from vlmadapt.evaluate.stats import (
    CONFIDENCE,
    RESAMPLES,
    SEED,
    PairedTest,
    approximate_randomization,
    paired_bootstrap,
)
from vlmadapt.jsonl import iter_jsonl
from vlmadapt.provenance import provenance


class CompareConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runs: list[Path] = Field(min_length=2)
    baseline: str | None = None  # a system name; default: the first run
    out: Path = Path("compare.json")
    method: Literal["bootstrap", "ar"] = "bootstrap"
    trials: int = Field(default=RESAMPLES, ge=1)  # bootstrap resamples or randomisation shuffles
    seed: int = SEED
    confidence: float = Field(default=CONFIDENCE, gt=0, lt=1)


@dataclass
class Run:
    """One evaluate output directory, samples in its own order."""

    path: Path
    scores: dict[str, Any]
    ids: list[str]
    references: list[list[str]]
    stats: dict[str, np.ndarray]  # metric -> [N, K]

    @property
    def system(self) -> str:
        return str(self.scores.get("system", self.path.name))


def load_run(path: Path) -> Run:
    scores_path, rows_path = path / "scores.json", path / "per_sample.jsonl"
    if not scores_path.is_file() or not rows_path.is_file():
        raise VlmadaptError(
            f"{path}: no scores.json and per_sample.jsonl here; is it a `vlmadapt evaluate` output?"
        )
    try:
        scores = json.loads(scores_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise VlmadaptError(f"{scores_path}: not valid JSON: {e}") from None
    rows = [raw for _, raw in iter_jsonl(rows_path)]
    stats = {}
    for name in scores.get("metrics", {}):
        try:
            stats[name] = np.array([r["stats"][name] for r in rows], dtype=float)
        except (KeyError, TypeError, ValueError):
            raise VlmadaptError(f"{rows_path}: missing or null statistics for metric {name!r}") from None
    return Run(path, scores, [str(r["id"]) for r in rows], [r.get("references", []) for r in rows], stats)


def check_same_examples(base: Run, other: Run) -> np.ndarray:
    """Row order that lines `other` up with `base`; an error naming the counts if the sets differ."""
    a, b = set(base.ids), set(other.ids)
    if a != b:
        only_a, only_b = sorted(a - b), sorted(b - a)
        raise VlmadaptError(
            f"{other.path} ({other.system}) was scored on {len(b)} examples and {base.path} ({base.system}) "
            f"on {len(a)}: {len(only_a)} only in {base.system} (e.g. {only_a[:3]}), {len(only_b)} only in "
            f"{other.system} (e.g. {only_b[:3]}); evaluate both on the same references"
        )
    pos = {i: k for k, i in enumerate(other.ids)}
    order = np.array([pos[i] for i in base.ids], dtype=int)
    differ = [i for k, i in enumerate(base.ids) if other.references[order[k]] != base.references[k]]
    if differ:
        raise VlmadaptError(
            f"{other.path} and {base.path} have the same {len(a)} ids but different references for "
            f"{len(differ)} of them (e.g. {differ[:3]}); evaluate both on the same references file"
        )
    return order


def compare(config: CompareConfig) -> Path:
    """Paired tests of every system against the baseline, per metric; writes compare.json."""
    runs = [load_run(p) for p in config.runs]
    names = [r.system for r in runs]
    if len(set(names)) != len(names):
        raise VlmadaptError(
            f"two runs have the same system name ({names}); give each `evaluate --system NAME`"
        )
    base = _baseline(runs, config.baseline)
    orders = {r.system: check_same_examples(base, r) for r in runs}
    metrics, skipped = {}, {}
    for name in base.scores["metrics"]:
        reason = _skip_reason(name, base, runs)
        if reason:
            skipped[name] = reason
            continue
        metrics[name] = _compare_metric(name, base, runs, orders, config)
    result = {
        "baseline": base.system,
        "systems": names,
        "n": len(base.ids),
        "method": "paired_bootstrap" if config.method == "bootstrap" else "approximate_randomization",
        "trials": config.trials,
        "seed": config.seed,
        "confidence": config.confidence,
        "runs": {r.system: str(r.path) for r in runs},
        "metrics": metrics,
        "skipped": skipped,
        "provenance": provenance(config.model_dump(mode="json")),
    }
    config.out.parent.mkdir(parents=True, exist_ok=True)
    return write_json(config.out, result)


def _baseline(runs: list[Run], name: str | None) -> Run:
    if name is None:
        return runs[0]
    for r in runs:
        if r.system == name:
            return r
    raise VlmadaptError(f"--baseline {name!r} is not one of the systems: {', '.join(r.system for r in runs)}")


def _skip_reason(name: str, base: Run, runs: list[Run]) -> str | None:
    entry = base.scores["metrics"][name]
    absent = [r.system for r in runs if name not in r.scores["metrics"]]
    if absent:
        return f"not scored for {', '.join(absent)}"
    sigs = {r.scores["metrics"][name].get("signature") for r in runs}
    if len(sigs) > 1:
        return f"signatures differ between systems, the numbers are not comparable: {sorted(map(str, sigs))}"
    if not entry.get("spec"):
        return "the metric has no spec to rebuild it from, so resamples cannot be re-scored"
    return None


def _compare_metric(
    name: str, base: Run, runs: list[Run], orders: dict[str, np.ndarray], cfg: CompareConfig
) -> dict[str, Any]:
    entry = base.scores["metrics"][name]
    metric = metric_from_spec(entry["spec"], f"{base.path / 'scores.json'}: metrics.{name}.spec")
    base_stats = base.stats[name]
    scores, tests = {}, {}
    for r in runs:
        e = r.scores["metrics"][name]
        scores[r.system] = {"score": e["score"], "low": e.get("low"), "high": e.get("high")}
        if r is base:
            continue
        stats = r.stats[name][orders[r.system]]
        test: PairedTest
        if cfg.method == "ar":
            test = approximate_randomization(metric, base_stats, stats, cfg.trials, cfg.seed)
        else:
            test = paired_bootstrap(metric, base_stats, stats, cfg.trials, cfg.seed, cfg.confidence)
        tests[r.system] = test.to_dict()
    return {
        "higher_is_better": bool(entry.get("higher_is_better", True)),
        "signature": entry.get("signature", ""),
        "scores": scores,
        "tests": tests,
    }


def render_compare(result: dict[str, Any]) -> Any:
    """A rich table: one row per metric; the baseline's score, then each system's with delta and p."""
    from rich.table import Table

    base = result["baseline"]
    others = [s for s in result["systems"] if s != base]
    table = Table(
        title=f"{len(result['systems'])} systems on {result['n']} examples, baseline {base}",
        caption=f"{result['method']}, {result['trials']} trials, seed {result['seed']}; * p < 0.05",
    )
    table.add_column("metric")
    table.add_column(f"{base} (baseline)")
    for s in others:
        table.add_column(s)
    for name, m in result["metrics"].items():
        cells = [f"{m['scores'][base]['score']:.2f}"]
        for s in others:
            t = m["tests"][s]
            star = "*" if t["p_value"] < 0.05 else ""
            cells.append(f"{m['scores'][s]['score']:.2f} ({t['delta']:+.2f}, p={t['p_value']:.3f}{star})")
        arrow = "↑" if m["higher_is_better"] else "↓"
        table.add_row(f"{name} {arrow}", *cells)
    return table
