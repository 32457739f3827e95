"""`vlmadapt compare`: systems side by side, each tested against a baseline on the same examples.

Reads evaluate output directories (scores.json + per_sample.jsonl; a folder of them stands for them
all), lines the samples up by id, and runs a paired test per metric between each system and the
baseline, from the per-sample statistics saved by evaluate: no prediction is re-scored. Systems of
another task, scorer or language, or scored on different example sets, are refused. Reading, lining up
and testing are evaluate/runs.py's, which the report's delta columns use too.

compare.json
  {"baseline": str, "systems": [str], "n": int, "method": "paired_bootstrap" | "approximate_randomization",
   "trials": int, "seed": int, "confidence": float, "runs": {SYSTEM: dir},
   "metrics": {NAME: {"higher_is_better": bool, "signature": str,
                      "scores": {SYSTEM: {"score", "low", "high"}},
                      "tests": {SYSTEM: {"delta", "low", "high", "p_value", "win_rate", ...}}}},
   "skipped": {NAME: reason}, "provenance": {...}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.errors import VlmadaptError
from vlmadapt.evaluate.run import write_json
from vlmadapt.evaluate.runs import EvalRun, Method, line_up, load_runs, paired_tests, untestable
from vlmadapt.evaluate.stats import CONFIDENCE, RESAMPLES, SEED, PairedTest
from vlmadapt.provenance import provenance


class CompareConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runs: list[Path] = Field(
        min_length=1,
        description="Two or more `vlmadapt evaluate` output directories, or folders holding them.",
    )
    baseline: str | None = Field(
        default=None, description="System every other one is tested against (default: the first)."
    )
    out: Path = Field(default=Path("compare.json"), description="Where compare.json goes.")
    method: Method = Field(
        default="bootstrap", description="bootstrap: paired bootstrap; ar: approximate randomisation."
    )
    trials: int = Field(default=RESAMPLES, ge=1, description="Resamples (bootstrap) or shuffles (ar).")
    seed: int = Field(default=SEED, description="Random seed.")
    confidence: float = Field(default=CONFIDENCE, gt=0, lt=1, description="Interval confidence level.")


def compare(config: CompareConfig) -> Path:
    """Paired tests of every system against the baseline, per metric; writes compare.json."""
    cfg = config
    runs = [run for p in cfg.runs for run in load_runs([p])]  # a run given twice is named below
    if len(runs) < 2:
        raise VlmadaptError(f"compare needs at least two evaluate runs; {cfg.runs[0]} holds one")
    names = [r.system for r in runs]
    if len(set(names)) != len(names):
        raise VlmadaptError(
            f"two runs have the same system name ({names}); give each `evaluate --system NAME`"
        )
    base = _baseline(runs, cfg.baseline)
    pairs = [line_up(base, r) for r in runs if r is not base]  # refuses before any test runs
    skipped = {name: why for name in base.metrics if (why := untestable(name, runs)) is not None}
    testable = [name for name in base.metrics if name not in skipped]
    tests = {
        p.other.system: paired_tests(p, testable, cfg.method, cfg.trials, cfg.seed, cfg.confidence)
        for p in pairs
    }
    result = {
        "baseline": base.system,
        "systems": names,
        "n": len(base.rows),
        "method": "paired_bootstrap" if cfg.method == "bootstrap" else "approximate_randomization",
        "trials": cfg.trials,
        "seed": cfg.seed,
        "confidence": cfg.confidence,
        "runs": {r.system: str(r.path) for r in runs},
        "metrics": {name: _metric_entry(name, base, runs, tests) for name in testable},
        "skipped": skipped,
        "provenance": provenance(cfg.model_dump(mode="json")),
    }
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    return write_json(cfg.out, result)


def _baseline(runs: list[EvalRun], name: str | None) -> EvalRun:
    if name is None:
        return runs[0]
    for r in runs:
        if r.system == name:
            return r
    raise VlmadaptError(f"--baseline {name!r} is not one of the systems: {', '.join(r.system for r in runs)}")


def _metric_entry(
    name: str, base: EvalRun, runs: list[EvalRun], tests: dict[str, dict[str, PairedTest]]
) -> dict[str, Any]:
    entry = base.metrics[name]
    scores = {}
    for r in runs:
        e = r.metrics[name]
        scores[r.system] = {"score": e.get("score"), "low": e.get("low"), "high": e.get("high")}
    return {
        "higher_is_better": bool(entry.get("higher_is_better", True)),
        "signature": entry.get("signature", ""),
        "scores": scores,
        "tests": {system: t[name].to_dict() for system, t in tests.items()},
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
