"""The per-language table of a task scored in several languages: systems x languages for each headline
metric, then the mean over languages (macro) and the pooled figure, the layout of multilingual papers.

`vlmadapt evaluate` on a references file in several languages (evaluate/by_language.py) writes each
language's metrics with their intervals under `languages` and the mean over languages, with a stratified
bootstrap interval, under `macro`; the pooled metrics (all examples together) stay under `metrics`, where
the main table reads them. This table shows those numbers as given: nothing is scored again here. The
headline metrics are the task's metrics without a subset (`KIND@SUBSET` ones are in the CSV only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vlmadapt.evaluate.runs import EvalRun
from vlmadapt.report.tables import Cell, MetricCol, TaskGroup, csv_row

MACRO = "macro"  # the mean over languages; a `lang` value in report.csv
POOLED = "pooled"  # all examples scored together; a `lang` value in report.csv


@dataclass
class LanguageTable:
    group: TaskGroup
    langs: list[str]  # language codes, in the order evaluate wrote them (code order)
    metrics: list[MetricCol]  # headline metrics some language has, in the group's order
    cells: dict[tuple[str, str, str], Cell] = field(default_factory=dict)  # (system, metric, column)
    n: dict[str, int] = field(default_factory=dict)  # examples per language
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return [*self.langs, MACRO, POOLED]

    def cell(self, system: str, metric: str, column: str) -> Cell:
        return self.cells.get((system, metric, column), Cell(None))


def language_table(group: TaskGroup) -> LanguageTable | None:
    """The group's per-language table, or None when none of its runs was scored per language."""
    scored = [r for r in group.runs if r.languages]
    if not scored:
        return None
    langs = list(dict.fromkeys(code for r in scored for code in r.languages))
    metrics = [m for m in group.pooled if any(m.name in _metrics(r, code) for r in scored for code in langs)]
    table = LanguageTable(group, langs, metrics)
    for r in scored:
        for code, part in r.languages.items():
            if isinstance(part.get("n"), int):
                table.n.setdefault(code, part["n"])
        for m in metrics:
            for code in r.languages:
                entry = _metrics(r, code).get(m.name)
                if entry is not None:
                    table.cells[(r.system, m.name, code)] = _cell(entry)
            if m.name in r.macro:
                table.cells[(r.system, m.name, MACRO)] = _cell(r.macro[m.name])
            pooled = group.cell(r.system, m.name)
            table.cells[(r.system, m.name, POOLED)] = Cell(pooled.score, pooled.low, pooled.high)
    table.notes = _notes(group, scored, langs)
    return table


def _metrics(run: EvalRun, code: str) -> dict[str, dict[str, Any]]:
    return dict((run.languages.get(code) or {}).get("metrics") or {})


def _cell(entry: dict[str, Any]) -> Cell:
    return Cell(entry.get("score"), entry.get("low"), entry.get("high"))


def _notes(group: TaskGroup, scored: list[EvalRun], langs: list[str]) -> list[str]:
    """Where the systems' macro means are not over the same languages."""
    notes = []
    for r in group.runs:
        if not r.languages:
            notes.append(f"{r.system} was not scored per language; only its pooled figure is shown")
        elif list(r.languages) != langs:
            notes.append(
                f"{r.system} was scored in {', '.join(r.languages)} only: its macro is the mean over those"
            )
    return notes


def legend(table: LanguageTable) -> str:
    sizes = " · ".join(f"{code} {table.n[code]}" for code in table.langs if code in table.n)
    return (
        f"Examples per language: {sizes}. Each language scored on its own examples; macro: the mean over "
        "languages [stratified bootstrap interval]; pooled: all examples together (the table above)."
    )


def language_csv_rows(table: LanguageTable) -> list[dict[str, Any]]:
    """One row per (system, language, metric), every metric a language has (subsets too), then one per
    (system, metric) of the macro mean; `lang` is the code or "macro"."""
    g, rows = table.group, []
    for r in g.runs:
        for code, part in r.languages.items():
            for name, entry in _metrics(r, code).items():
                if entry.get("score") is not None:
                    rows.append(csv_row(g, r, _column(name, entry), _cell(entry), code, part.get("n")))
        for name, entry in r.macro.items():
            if entry.get("score") is not None:
                rows.append(csv_row(g, r, _column(name, entry), _cell(entry), MACRO, r.scores.get("n")))
    return rows


def _column(name: str, entry: dict[str, Any]) -> MetricCol:
    return MetricCol(name, bool(entry.get("higher_is_better", True)), str(entry.get("signature", "")))
