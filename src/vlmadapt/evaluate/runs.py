"""Evaluate output directories read back, lined up and tested in pairs: what `compare` and `report` share.

An evaluate output directory holds scores.json and per_sample.jsonl (layout in base.py). A directory
without scores.json that has such directories inside stands for them (`expand_runs`), so
`vlmadapt report runs/` works. Both files are checked where they are read: an error names the file, the
line of per_sample.jsonl and the field.

The rules `compare` and the report's delta columns both follow:

- Two runs are paired only when they are of the same (task, scorer, lang) group and were scored on the
  same example ids with the same references. Rows are matched by id, so the order of per_sample.jsonl
  does not matter. Otherwise `line_up` raises `ExamplesDiffer`, whose message counts and names the ids
  that differ: `compare` stops with it; the report shows that system without deltas against the
  baseline and prints the message under the table (scores on other examples are not a difference).
- A metric is tested only when every run scored it, with the same signature, a spec to rebuild it from
  and per-sample statistics of one width (`untestable` says why not).
- `paired_tests` rebuilds each metric from the baseline's spec and runs `stats.paired_bootstraps` (one
  seeded [B, N] index matrix for all metrics of the pair) or `stats.approximate_randomization`; the
  same pair, trials, seed and confidence give the same delta, interval and p-value in both commands.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vlmadapt.errors import RecordError, VlmadaptError
from vlmadapt.evaluate.stats import (
    CONFIDENCE,
    RESAMPLES,
    SEED,
    PairedTest,
    approximate_randomization,
    paired_bootstraps,
)
from vlmadapt.jsonl import iter_jsonl

Method = Literal["bootstrap", "ar"]
_FIX = "re-run `vlmadapt evaluate` to rewrite it"


@dataclass
class EvalRun:
    """One evaluate output directory."""

    path: Path
    scores: dict[str, Any]  # scores.json
    rows: list[dict[str, Any]]  # per_sample.jsonl, in its own (reference) order
    stats: dict[str, np.ndarray]  # metric -> [N, K] per-sample statistics, rows in `rows` order

    @property
    def system(self) -> str:
        return str(self.scores.get("system") or self.path.name)

    @property
    def group(self) -> tuple[str, str, str]:
        """(task, scorer, lang): runs of one group share a report table and can be paired."""
        s = self.scores
        return str(s.get("task", "?")), str(s.get("scorer", s.get("task", "?"))), str(s.get("lang", "?"))

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        return dict(self.scores["metrics"])

    @property
    def languages(self) -> dict[str, dict[str, Any]]:
        """{code: {"n", "counts", "metrics"}} of a run scored per language; {} for one language."""
        return dict(self.scores.get("languages") or {})

    @property
    def macro(self) -> dict[str, dict[str, Any]]:
        """{metric: {"score", "low", "high", "languages", ...}}: the mean over languages; {} for one."""
        return dict(self.scores.get("macro") or {})

    @property
    def ids(self) -> list[str]:
        return [str(r["id"]) for r in self.rows]

    @property
    def references(self) -> list[Any]:
        return [r.get("references", []) for r in self.rows]


class ExamplesDiffer(VlmadaptError):
    """Two runs that cannot be paired: another group, other example ids, or other references."""


# --- reading ---------------------------------------------------------------------------------------------


def expand_runs(paths: Sequence[Path]) -> list[Path]:
    """Evaluate output directories: each path itself, or the directories under it that hold scores.json."""
    found: list[Path] = []
    for p in paths:
        if (p / "scores.json").is_file():
            found.append(p)
            continue
        inner = sorted(d.parent for d in p.glob("*/scores.json")) if p.is_dir() else []
        if not inner:
            what = "no such directory" if not p.is_dir() else "no scores.json in it or in its subdirectories"
            raise VlmadaptError(f"{p}: {what}; pass `vlmadapt evaluate` output directories")
        found.extend(inner)
    return list(dict.fromkeys(found))


def load_runs(paths: Sequence[Path]) -> list[EvalRun]:
    """Every run the paths hold (`expand_runs`), read and checked."""
    return [load_run(p) for p in expand_runs(paths)]


def load_run(path: Path) -> EvalRun:
    """Read one evaluate output directory; a VlmadaptError names the file (and line) that is wrong."""
    scores = _read_scores(path)
    rows_path = path / "per_sample.jsonl"
    if not rows_path.is_file():
        raise VlmadaptError(f"{path}: no per_sample.jsonl beside scores.json; re-run `vlmadapt evaluate`")
    rows, lines = _read_rows(rows_path)
    n = scores.get("n")
    if isinstance(n, int) and n != len(rows):
        raise VlmadaptError(f"{rows_path}: {len(rows)} samples, but scores.json says n = {n}; {_FIX}")
    stats = {name: _stats(rows, lines, name, rows_path) for name in scores["metrics"]}
    return EvalRun(path, scores, rows, stats)


def _read_scores(path: Path) -> dict[str, Any]:
    scores_path = path / "scores.json"
    if not scores_path.is_file():
        what = "no such directory" if not path.is_dir() else "no scores.json here"
        raise VlmadaptError(f"{path}: {what}; pass a `vlmadapt evaluate` output directory")
    try:
        scores = json.loads(scores_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise VlmadaptError(f"{scores_path}: not valid JSON: {e}") from None
    if not isinstance(scores, dict) or not isinstance(scores.get("metrics"), dict):
        raise VlmadaptError(f"{scores_path}: no 'metrics' mapping; is it a `vlmadapt evaluate` output?")
    bad = [name for name, e in scores["metrics"].items() if not isinstance(e, dict)]
    if bad:
        raise VlmadaptError(f"{scores_path}: metrics.{bad[0]}: not a mapping; {_FIX}")
    _check_languages(scores, scores_path)
    return scores


def _check_languages(scores: dict[str, Any], where: Path) -> None:
    """The per-language sections, when present, have the layout evaluate writes (run.py)."""
    languages, macro = scores.get("languages"), scores.get("macro")
    if languages is None and macro is None:
        return
    if not isinstance(languages, dict) or not isinstance(macro, dict):
        raise VlmadaptError(f"{where}: 'languages' and 'macro' must both be mappings; {_FIX}")
    for code, part in languages.items():
        if not isinstance(part, dict) or not isinstance(part.get("metrics"), dict):
            raise VlmadaptError(f"{where}: languages.{code}: no 'metrics' mapping; {_FIX}")
        bad = [name for name, e in part["metrics"].items() if not isinstance(e, dict)]
        if bad:
            raise VlmadaptError(f"{where}: languages.{code}.metrics.{bad[0]}: not a mapping; {_FIX}")
    bad = [name for name, e in macro.items() if not isinstance(e, dict)]
    if bad:
        raise VlmadaptError(f"{where}: macro.{bad[0]}: not a mapping; {_FIX}")


def _read_rows(rows_path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """per_sample.jsonl rows and their line numbers; every row an object with an id of its own."""
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    first: dict[str, int] = {}
    for lineno, raw in iter_jsonl(rows_path):
        where = f"{rows_path}:{lineno}"
        if not isinstance(raw, dict):
            raise RecordError(where, "record", f"expected a JSON object, got {type(raw).__name__}; {_FIX}")
        if not isinstance(raw.get("id"), str | int) or isinstance(raw.get("id"), bool):
            raise RecordError(where, "id", f"missing or not a string; {_FIX}")
        ex_id = str(raw["id"])
        if ex_id in first:
            raise RecordError(where, "id", f"duplicate id {ex_id!r} (first on line {first[ex_id]}); {_FIX}")
        first[ex_id] = lineno
        rows.append(raw)
        lines.append(lineno)
    if not rows:
        raise VlmadaptError(f"{rows_path}: no samples; {_FIX}")
    return rows, lines


def _stats(rows: list[dict[str, Any]], lines: list[int], name: str, rows_path: Path) -> np.ndarray:
    """[N, K] statistics of metric `name`; null values (NaN when written) read as NaN."""
    values: list[list[Any]] = []
    for row, lineno in zip(rows, lines, strict=True):
        own = row.get("stats")
        value = own.get(name) if isinstance(own, dict) else None
        where = f"{rows_path}:{lineno}"
        if not isinstance(value, list) or not all(_number_or_null(x) for x in value):
            problem = "missing" if value is None else "not a list of numbers"
            raise RecordError(where, f"stats.{name}", f"{problem}; {_FIX}")
        if values and len(value) != len(values[0]):
            problem = f"{len(value)} values, but line {lines[0]} has {len(values[0])}"
            raise RecordError(where, f"stats.{name}", f"{problem}; {_FIX}")
        values.append(value)
    return np.array(values, dtype=float).reshape(len(rows), len(values[0]))


def _number_or_null(x: Any) -> bool:
    return x is None or (isinstance(x, int | float) and not isinstance(x, bool))


# --- lining up -------------------------------------------------------------------------------------------


@dataclass
class Pair:
    """A system's run lined up with the baseline's: `order[k]` is the system's row for baseline row k."""

    base: EvalRun
    other: EvalRun
    order: np.ndarray  # [N] int


def line_up(base: EvalRun, other: EvalRun) -> Pair:
    """`other` lined up with `base` by example id; ExamplesDiffer, naming both runs, when the two are of
    different groups, hold different ids, or give the same id different references."""
    if base.group != other.group:
        raise ExamplesDiffer(
            f"{other.path} ({other.system}) is {' / '.join(other.group)} and {base.path} ({base.system}) is "
            f"{' / '.join(base.group)} (task / scorer / lang): only runs of one task, scorer and language "
            "are paired"
        )
    ids_a, ids_b = base.ids, other.ids
    a, b = set(ids_a), set(ids_b)
    if a != b:
        only_a, only_b = sorted(a - b), sorted(b - a)
        raise ExamplesDiffer(
            f"{other.path} ({other.system}) was scored on {len(b)} examples and {base.path} ({base.system}) "
            f"on {len(a)}: {len(only_a)} only in {base.system} (e.g. {only_a[:3]}), {len(only_b)} only in "
            f"{other.system} (e.g. {only_b[:3]}); evaluate both on the same references"
        )
    pos = {i: k for k, i in enumerate(ids_b)}
    order = np.array([pos[i] for i in ids_a], dtype=int)
    refs_a, refs_b = base.references, other.references
    differ = [i for k, i in enumerate(ids_a) if refs_b[order[k]] != refs_a[k]]
    if differ:
        raise ExamplesDiffer(
            f"{other.path} and {base.path} have the same {len(a)} ids but different references for "
            f"{len(differ)} of them (e.g. {differ[:3]}); evaluate both on the same references file"
        )
    return Pair(base, other, order)


# --- paired tests ----------------------------------------------------------------------------------------


def untestable(name: str, runs: Sequence[EvalRun]) -> str | None:
    """Why metric `name` cannot be tested between these runs (the first is the baseline), or None."""
    absent = [r.system for r in runs if name not in r.metrics]
    if absent:
        return f"not scored for {', '.join(absent)}"
    sigs = {r.metrics[name].get("signature") for r in runs}
    if len(sigs) > 1:
        return f"signatures differ between systems, the numbers are not comparable: {sorted(map(str, sigs))}"
    if not runs[0].metrics[name].get("spec"):
        return "the metric has no spec to rebuild it from, so resamples cannot be re-scored"
    widths = {r.stats[name].shape[1] for r in runs}
    if len(widths) > 1:
        return f"per-sample statistics differ in width between systems: {sorted(widths)}"
    return None


def paired_tests(
    pair: Pair,
    names: Sequence[str],
    method: Method = "bootstrap",
    trials: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> dict[str, PairedTest]:
    """{metric: the pair's system tested against its baseline}, for metrics `untestable` passes.

    Each metric is rebuilt from the baseline's spec and scored again on resamples of the saved
    statistics; nothing is re-scored from predictions. A spec that does not rebuild is an error naming
    the field. The bootstrap shares one index matrix across `names` (stats.paired_bootstraps), so a
    metric's numbers do not depend on which other metrics are tested with it.
    """
    from vlmadapt.evaluate.metrics import metric_from_spec

    base, other = pair.base, pair.other
    items = []
    for name in names:
        reason = untestable(name, [base, other])
        if reason is not None:
            raise ValueError(f"{name}: {reason}")
        where = f"{base.path / 'scores.json'}: metrics.{name}.spec"
        metric = metric_from_spec(base.metrics[name]["spec"], where)
        items.append((metric, base.stats[name], other.stats[name][pair.order]))
    if method == "ar":
        tests = [approximate_randomization(m, a, b, trials, seed) for m, a, b in items]
    else:
        tests = paired_bootstraps(items, trials, seed, confidence)
    return dict(zip(names, tests, strict=True))
