"""The report's tables: one per (task, scorer, language), systems as rows, metrics with 95% intervals and
deltas against a baseline, each delta with a paired bootstrap interval and p-value when the metric can be
rebuilt from its spec. Pairing and testing are evaluate/runs.py's, the same as `vlmadapt compare`'s: a
system scored on other examples than the baseline gets no deltas, and a note under its table says why.

Metrics named ``KIND@SUBSET`` (POPE splits, ScienceQA subjects; see evaluate/scorers.py) go to a second
table per task, one row per (subset, system).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vlmadapt.errors import VlmadaptError
from vlmadapt.evaluate.runs import EvalRun, ExamplesDiffer, line_up, paired_tests, untestable
from vlmadapt.report.load import slug


@dataclass
class Cell:
    score: float | None
    low: float | None = None
    high: float | None = None
    delta: float | None = None  # system - baseline, in metric units
    delta_low: float | None = None
    delta_high: float | None = None
    p_value: float | None = None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < 0.05


@dataclass
class MetricCol:
    name: str
    higher_is_better: bool
    signature: str

    @property
    def kind(self) -> str:
        return self.name.split("@", 1)[0]

    @property
    def subset(self) -> str | None:
        return self.name.split("@", 1)[1] if "@" in self.name else None

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"


@dataclass
class TaskGroup:
    task: str
    scorer: str
    lang: str
    runs: list[EvalRun]
    baseline: str | None
    metrics: list[MetricCol]  # every metric, pooled and subset, in the baseline's order
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)  # (system, metric) -> cell
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        name = self.task if self.task == self.scorer else f"{self.task} ({self.scorer})"
        return f"{name} · {self.lang}"

    @property
    def key(self) -> str:
        return slug(
            f"{self.task}-{self.scorer}-{self.lang}"
            if self.task != self.scorer
            else f"{self.task}-{self.lang}"
        )

    @property
    def systems(self) -> list[str]:
        return [r.system for r in self.runs]

    @property
    def pooled(self) -> list[MetricCol]:
        return [m for m in self.metrics if m.subset is None]

    @property
    def subset_kinds(self) -> list[str]:
        return list(dict.fromkeys(m.kind for m in self.metrics if m.subset is not None))

    @property
    def subsets(self) -> list[str]:
        return list(dict.fromkeys(m.subset for m in self.metrics if m.subset is not None))

    @property
    def primary(self) -> MetricCol | None:
        return self.pooled[0] if self.pooled else None

    def cell(self, system: str, metric: str) -> Cell:
        return self.cells.get((system, metric), Cell(None))

    def n(self) -> int:
        return max((int(r.scores.get("n", len(r.rows))) for r in self.runs), default=0)


def build_groups(
    runs: list[EvalRun], baseline: str | None, trials: int, seed: int, confidence: float = 0.95
) -> list[TaskGroup]:
    """One TaskGroup per (task, scorer, lang), in the order the runs were given."""
    if baseline is not None and baseline not in {r.system for r in runs}:
        known = ", ".join(dict.fromkeys(r.system for r in runs))
        raise VlmadaptError(f"--baseline {baseline!r} is not one of the systems: {known}")
    by_group: dict[tuple[str, str, str], list[EvalRun]] = {}
    for r in runs:
        by_group.setdefault(r.group, []).append(r)
    groups = []
    for (task, scorer, lang), members in sorted(by_group.items(), key=_benchmark_order):
        _check_unique(members)
        base = baseline if baseline in {r.system for r in members} else members[0].system
        group = TaskGroup(task, scorer, lang, members, base, _columns(members))
        if baseline is not None and base != baseline:
            group.notes.append(f"{baseline} was not evaluated on this task; deltas are against {base}")
        _fill(group, trials, seed, confidence)
        groups.append(group)
    return groups


def _benchmark_order(item: tuple[tuple[str, str, str], list[EvalRun]]) -> int:
    """POPE, ScienceQA, TextVQA, open VQA, captions (the registry's order), then any other scorer."""
    from vlmadapt.evaluate.scorers import SCORERS

    order = list(SCORERS)
    return order.index(item[0][1]) if item[0][1] in order else len(order)


def _check_unique(members: list[EvalRun]) -> None:
    seen: dict[str, EvalRun] = {}
    for r in members:
        if r.system in seen:
            raise VlmadaptError(
                f"{seen[r.system].path} and {r.path} are both system {r.system!r} on {r.group[0]} "
                f"({r.group[2]}); give each `vlmadapt evaluate --system NAME`"
            )
        seen[r.system] = r


def _columns(members: list[EvalRun]) -> list[MetricCol]:
    cols: dict[str, MetricCol] = {}
    for r in members:
        for name, e in r.metrics.items():
            if name not in cols:
                cols[name] = MetricCol(
                    name, bool(e.get("higher_is_better", True)), str(e.get("signature", ""))
                )
    return list(cols.values())


def _fill(group: TaskGroup, trials: int, seed: int, confidence: float) -> None:
    base = next(r for r in group.runs if r.system == group.baseline)
    for r in group.runs:
        for m in group.metrics:
            e = r.metrics.get(m.name)
            if e is not None:
                group.cells[(r.system, m.name)] = Cell(e.get("score"), e.get("low"), e.get("high"))
    for r in group.runs:
        if r is not base:
            _deltas(group, base, r, trials, seed, confidence)


def _deltas(
    group: TaskGroup, base: EvalRun, other: EvalRun, trials: int, seed: int, confidence: float
) -> None:
    try:
        pair = line_up(base, other)
    except ExamplesDiffer as e:
        group.notes.append(f"no deltas for {other.system} against {base.system}: {e}")
        return
    testable = []
    for m in group.metrics:
        cell, ref = group.cells.get((other.system, m.name)), group.cells.get((base.system, m.name))
        if cell is None or ref is None or cell.score is None or ref.score is None:
            continue
        if other.metrics[m.name].get("signature") != base.metrics[m.name].get("signature"):
            group.notes.append(f"{m.name}: {other.system} and {base.system} differ in signature; no delta")
            continue
        cell.delta = float(cell.score) - float(ref.score)
        if trials > 0 and untestable(m.name, [base, other]) is None:
            testable.append(m.name)
    for name, t in paired_tests(pair, testable, "bootstrap", trials, seed, confidence).items():
        cell = group.cells[(other.system, name)]
        cell.delta, cell.delta_low, cell.delta_high, cell.p_value = t.delta, t.low, t.high, t.p_value


# --- plain-text renderings ------------------------------------------------------------------------------


def fmt(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "–"
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def ci_text(c: Cell) -> str:
    return "" if c.low is None or c.high is None else f"[{c.low:.2f}, {c.high:.2f}]"


def delta_text(c: Cell) -> str:
    if c.delta is None:
        return ""
    return fmt(c.delta, signed=True) + ("*" if c.significant else "")


def csv_rows(groups: list[TaskGroup]) -> list[dict[str, Any]]:
    """One row per (task, system, metric): the long format a spreadsheet or pandas pivots."""
    rows = []
    for g in groups:
        for r in g.runs:
            for m in g.metrics:
                c = g.cell(r.system, m.name)
                if c.score is not None:
                    rows.append(csv_row(g, r, m, c, g.lang, r.scores.get("n")))
    return rows


def csv_row(g: TaskGroup, r: EvalRun, m: MetricCol, c: Cell, lang: str, n: Any) -> dict[str, Any]:
    """A CSV row (CSV_FIELDS) of one cell."""
    return {
        "task": g.task,
        "scorer": g.scorer,
        "lang": lang,
        "system": r.system,
        "baseline": g.baseline,
        "metric": m.kind,
        "subset": m.subset or "",
        "score": c.score,
        "low": c.low,
        "high": c.high,
        "delta": c.delta,
        "delta_low": c.delta_low,
        "delta_high": c.delta_high,
        "p_value": c.p_value,
        "higher_is_better": m.higher_is_better,
        "n": n,
        "signature": m.signature,
        "run": str(r.path),
    }


CSV_FIELDS = [
    "task", "scorer", "lang", "system", "baseline", "metric", "subset", "score", "low", "high",
    "delta", "delta_low", "delta_high", "p_value", "higher_is_better", "n", "signature", "run",
]  # fmt: skip
