"""Rendering the report as Markdown, CSV and a self-contained HTML page.

The HTML page opens offline: CSS is inline, charts and thumbnails are base64 data URIs, and nothing is
fetched. Every text in it comes through Jinja2 with autoescaping on, so a prediction that contains
markup (``<script>``) is shown as text, never run. A task scored in several languages gets a per-language
table and chart (languages.py) after its main tables; report.csv then has a row per language, and its
pooled and macro rows say so in `lang`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlmadapt.evaluate.runs import EvalRun
from vlmadapt.report.charts import Chart
from vlmadapt.report.examples import ExampleView
from vlmadapt.report.languages import POOLED, LanguageTable, language_csv_rows, legend
from vlmadapt.report.load import TrainingLog
from vlmadapt.report.tables import CSV_FIELDS, Cell, MetricCol, TaskGroup, ci_text, csv_rows, delta_text, fmt


@dataclass
class Section:
    group: TaskGroup
    chart: Chart | None = None
    subset_chart: Chart | None = None
    examples: list[ExampleView] = field(default_factory=list)
    languages: LanguageTable | None = None  # a task scored in several languages
    language_chart: Chart | None = None


@dataclass
class Report:
    title: str
    created: str
    sections: list[Section]
    runs: list[EvalRun]
    logs: list[TrainingLog]
    loss_chart: Chart | None
    trials: int
    colors: dict[str, str]
    image_note: str = ""


# --- Markdown ------------------------------------------------------------------------------------------


def _md(text: Any) -> str:
    """A Markdown table cell: pipes escaped, line breaks flattened."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _md_cell(c: Cell) -> str:
    if c.score is None:
        return "–"
    parts = [fmt(c.score)]
    if ci_text(c):
        parts.append(ci_text(c))
    if c.delta is not None:
        parts.append(f"({delta_text(c)})")
    return " ".join(parts)


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _system_label(g: TaskGroup, system: str) -> str:
    return f"{_md(system)} (baseline)" if system == g.baseline else _md(system)


def _rel(chart: Chart, out: Path) -> str:
    return chart.png.relative_to(out).as_posix() if chart.png.is_relative_to(out) else chart.png.as_posix()


def render_markdown(report: Report, out: Path) -> str:
    lines = [
        f"# {_md(report.title)}",
        "",
        f"Generated {report.created} from {len(report.runs)} evaluation runs.",
    ]
    lines += [_legend_line(report), ""]
    lines += _md_overview(report)
    for sec in report.sections:
        g = sec.group
        lines += ["", f"## {_md(g.title)}", "", f"n = {g.n()}, baseline: {_md(g.baseline or '–')}", ""]
        lines += _md_table(
            ["system", *[f"{m.name} {m.arrow}" for m in g.pooled]],
            [[_system_label(g, s), *[_md_cell(g.cell(s, m.name)) for m in g.pooled]] for s in g.systems],
        )
        if g.subset_kinds:
            lines += ["", f"### {_md(g.title)} per subset", ""]
            rows = [
                [
                    _md(sub.replace("_", " ")),
                    _system_label(g, s),
                    *[_md_cell(g.cell(s, f"{k}@{sub}")) for k in g.subset_kinds],
                ]
                for sub in g.subsets
                for s in g.systems
            ]
            lines += _md_table(["subset", "system", *g.subset_kinds], rows)
        if sec.languages is not None:
            lines += _md_languages(sec.languages)
        lines += [f"\n> {_md(note)}" for note in dict.fromkeys(g.notes)]
        for chart in (sec.chart, sec.subset_chart, sec.language_chart):
            if chart is not None:
                lines += ["", f"![{_md(chart.title)}]({_rel(chart, out)})"]
        lines += _md_examples(sec)
    if report.loss_chart is not None:
        lines += ["", "## Training loss", "", f"![training loss]({_rel(report.loss_chart, out)})"]
    lines += ["", "## Runs", ""]
    lines += _md_table(
        ["system", "task", "lang", "n", "answered", "empty", "errors", "missing", "git", "run"],
        _run_rows(report, _md),
    )
    return "\n".join(lines) + "\n"


def _md_languages(t: LanguageTable) -> list[str]:
    """Rows (metric, system), columns the languages, macro and pooled."""
    g = t.group
    lines = ["", f"### {_md(g.title)} per language", "", _md(legend(t)), ""]
    rows = [
        [
            f"{_md(m.name)} {m.arrow}",
            _system_label(g, s),
            *[_md_cell(t.cell(s, m.name, c)) for c in t.columns],
        ]
        for m in t.metrics
        for s in g.systems
    ]
    lines += _md_table(["metric", "system", *t.columns], rows)
    return lines + [f"\n> {_md(note)}" for note in dict.fromkeys(t.notes)]


def _legend_line(report: Report) -> str:
    tests = f"paired bootstrap, {report.trials} resamples" if report.trials else "no paired tests"
    return (
        "Cells: score [95% bootstrap interval] (delta against the baseline; * p < 0.05, "
        f"{tests}). ↑ higher is better, ↓ lower is better."
    )


def _md_overview(report: Report) -> list[str]:
    header, rows = overview(report)
    return ["## Overview", "", *_md_table(header, [[_md(x) for x in row] for row in rows])]


def overview(report: Report) -> tuple[list[str], list[list[str]]]:
    """Systems x tasks on each task's first metric: the one-glance summary."""
    systems = list(dict.fromkeys(s for sec in report.sections for s in sec.group.systems))
    cols = [(sec.group, sec.group.primary) for sec in report.sections if sec.group.primary]
    header = ["system", *[f"{g.title}: {m.name} {m.arrow}" for g, m in cols if m]]
    rows = []
    for s in systems:
        cells = [delta_cell(g.cell(s, m.name)) if s in g.systems and m else "" for g, m in cols]
        rows.append([s, *cells])
    return header, rows


def delta_cell(c: Cell) -> str:
    if c.score is None:
        return "–"
    return fmt(c.score) + (f" ({delta_text(c)})" if c.delta is not None else "")


def _md_examples(sec: Section) -> list[str]:
    if not sec.examples:
        return []
    lines = ["", f"### Examples ({_md(sec.group.title)})"]
    for ex in sec.examples:
        lines += ["", f"**{_md(ex.id)}**" + (f" · image `{_md(ex.image)}`" if ex.image else "")]
        if ex.question:
            lines += ["", f"Question: {_md(ex.question)}"]
        if ex.choices:
            lines += [
                "",
                "Choices: " + "; ".join(f"{chr(65 + i)}. {_md(c)}" for i, c in enumerate(ex.choices)),
            ]
        lines += ["", "Reference: " + " / ".join(_md(r) for r in ex.references), ""]
        rows = [
            [
                _md(a.system),
                _md(a.text if a.text is not None else f"({a.status})"),
                fmt(a.score),
                _md(a.reading),
            ]
            for a in ex.answers
        ]
        lines += _md_table(
            ["system", "answer", sec.group.primary.name if sec.group.primary else "score", "read as"], rows
        )
    return lines


def _run_rows(report: Report, esc: Any) -> list[list[str]]:
    rows = []
    for r in report.runs:
        c = r.scores.get("counts") or {}
        prov = r.scores.get("provenance") or {}
        rows.append(
            [
                esc(x)
                for x in (
                    r.system,
                    r.group[0],
                    f"{r.group[2]}: {', '.join(r.languages)}" if r.languages else r.group[2],
                    r.scores.get("n", ""),
                    c.get("scored", ""),
                    c.get("empty", ""),
                    c.get("errors", ""),
                    c.get("missing", ""),
                    prov.get("git") or "",
                    r.path,
                )
            ]
        )
    return rows


# --- CSV -----------------------------------------------------------------------------------------------


def write_csv(groups: list[TaskGroup], path: Path, languages: list[LanguageTable] | None = None) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in report_rows(groups, languages or []):
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return path


def report_rows(groups: list[TaskGroup], languages: list[LanguageTable]) -> list[dict[str, Any]]:
    """csv_rows, with a task scored per language given its language and macro rows first and its pooled
    rows marked `lang` "pooled" (they hold the deltas and paired tests)."""
    rows: list[dict[str, Any]] = []
    for g in groups:
        table = next((t for t in languages if t.group is g), None)
        if table is None:
            rows += csv_rows([g])
        else:
            rows += language_csv_rows(table) + [row | {"lang": POOLED} for row in csv_rows([g])]
    return rows


# --- HTML ----------------------------------------------------------------------------------------------


def delta_class(c: Cell, m: MetricCol) -> str:
    """CSS class of a delta: good/bad by the metric's direction, faint when not significant."""
    if c.delta is None or c.delta == 0:
        return "flat"
    good = (c.delta > 0) == m.higher_is_better
    return ("good" if good else "bad") + ("" if c.significant else " faint")


def render_html(report: Report) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vlmadapt.report", "."),
        autoescape=True,  # every value is escaped; nothing in the page is marked safe
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt
    env.filters["signed"] = lambda x: fmt(x, signed=True)
    template = env.get_template("report.html.jinja")
    header, rows = overview(report)
    return template.render(
        r=report,
        overview_header=header,
        overview_rows=rows,
        legend=_legend_line(report),
        ci_text=ci_text,
        delta_text=delta_text,
        delta_class=delta_class,
        language_legend=legend,
        run_rows=_run_rows(report, str),
    )
