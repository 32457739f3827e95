"""Charts for the report, drawn with matplotlib's Agg canvas (no display, no pyplot global state).

Each chart is written as PNG (embedded in the HTML as base64) and PDF (vector, to paste into a paper).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmadapt.report.languages import LanguageTable
from vlmadapt.report.load import TrainingLog
from vlmadapt.report.tables import TaskGroup

# Okabe-Ito: distinguishable with colour-blindness and in greyscale print
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


DPI = 150
SCREEN_PX_PER_INCH = 100  # display width in the page, so every chart's text shows at the same size


@dataclass
class Chart:
    title: str
    png: Path
    pdf: Path
    width_px: int = 800

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png.read_bytes()).decode("ascii")


def system_colors(systems: list[str]) -> dict[str, str]:
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(dict.fromkeys(systems))}


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8)


def _save(fig: Any, out_dir: Path, name: str, title: str) -> Chart:
    out_dir.mkdir(parents=True, exist_ok=True)
    png, pdf = out_dir / f"{name}.png", out_dir / f"{name}.pdf"
    fig.savefig(png, dpi=DPI)
    fig.savefig(pdf)
    return Chart(title, png, pdf, int(fig.get_figwidth() * SCREEN_PX_PER_INCH))


def _errors(cells: list[Any]) -> list[list[float]]:
    """[[below], [above]] whisker lengths; 0 where a cell has no interval."""
    low = [c.score - c.low if c.low is not None and c.score is not None else 0.0 for c in cells]
    high = [c.high - c.score if c.high is not None and c.score is not None else 0.0 for c in cells]
    return [[max(0.0, x) for x in low], [max(0.0, x) for x in high]]


def metric_bars(group: TaskGroup, colors: dict[str, str], out_dir: Path) -> Chart | None:
    """Small multiples: one panel per pooled metric, one bar per system, 95% interval whiskers."""
    metrics = group.pooled
    if not metrics:
        return None
    cols = min(4, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig = _figure(2.6 * cols + 0.4, 2.3 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    systems = group.systems
    for ax, m in zip(axes.flat, metrics, strict=False):
        cells = [group.cell(s, m.name) for s in systems]
        heights = [c.score if c.score is not None else 0.0 for c in cells]
        bars = ax.bar(
            range(len(systems)),
            heights,
            yerr=_errors(cells),
            color=[colors[s] for s in systems],
            capsize=3,
            error_kw={"elinewidth": 1, "ecolor": "#374151"},
        )
        for bar, s in zip(bars, systems, strict=True):
            if s == group.baseline:
                bar.set_hatch("///")
                bar.set_edgecolor("white")
        ax.bar_label(bars, labels=[f"{h:.1f}" for h in heights], fontsize=7, padding=2)
        ax.set_title(f"{m.name} {m.arrow}", fontsize=9)
        ax.set_xticks([])
        top = max([c.high or c.score or 0.0 for c in cells] + [1.0])
        ax.set_ylim(0, top * 1.18)
        _style(ax)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    _legend(fig, systems, colors, group.baseline)
    fig.suptitle(f"{group.title}  (n = {group.n()}, 95% bootstrap intervals)", fontsize=10)
    return _save(fig, out_dir, group.key, group.title)


def _grouped_bars(
    ax: Any, k: int, n_systems: int, cells: list[Any], color: str, label: str, baseline: bool
) -> tuple[Any, list[float]]:
    """System k's bars, one per group (subset, language), with interval whiskers; the baseline hatched."""
    width = 0.8 / max(1, n_systems)
    xs = [i - 0.4 + width * (k + 0.5) for i in range(len(cells))]
    heights = [c.score if c.score is not None else 0.0 for c in cells]
    bars = ax.bar(xs, heights, width, yerr=_errors(cells), color=color, capsize=2, label=label)
    if baseline:
        for bar in bars:
            bar.set_hatch("///")
            bar.set_edgecolor("white")
    return bars, heights


def subset_bars(group: TaskGroup, colors: dict[str, str], out_dir: Path) -> Chart | None:
    """The first subset metric (POPE accuracy per split, ScienceQA accuracy per subject): grouped bars."""
    kinds, subsets = group.subset_kinds, group.subsets
    if not kinds:
        return None
    kind, systems = kinds[0], group.systems
    fig = _figure(min(10.4, 1.5 + 0.55 * len(subsets) * max(2, len(systems))), 3.0)
    ax = fig.subplots()
    for k, s in enumerate(systems):
        cells = [group.cell(s, f"{kind}@{sub}") for sub in subsets]
        bars, heights = _grouped_bars(ax, k, len(systems), cells, colors[s], s, s == group.baseline)
        ax.bar_label(bars, labels=[f"{h:.1f}" for h in heights], fontsize=6, padding=2)
    ax.set_xticks(range(len(subsets)), [sub.replace("_", " ") for sub in subsets], fontsize=8)
    ax.set_ylabel(kind, fontsize=8)
    ax.set_ylim(0, max([c.high or c.score or 0.0 for c in group.cells.values()] + [1.0]) * 1.15)
    _style(ax)
    _legend(fig, systems, colors, group.baseline)
    fig.suptitle(f"{group.title}: {kind} per subset", fontsize=10)
    return _save(fig, out_dir, f"{group.key}-subsets", f"{group.title}: {kind} per subset")


def language_bars(table: LanguageTable, colors: dict[str, str], out_dir: Path) -> Chart | None:
    """The first headline metric per language, then its macro mean and pooled figure: grouped bars, one
    per system, with 95% interval whiskers; a dotted line parts the languages from the two summaries."""
    if not table.metrics:
        return None
    g, m, columns = table.group, table.metrics[0], table.columns
    systems = g.systems
    fig = _figure(min(10.4, 1.5 + 0.55 * len(columns) * max(2, len(systems))), 3.0)
    ax = fig.subplots()
    labelled = len(columns) * len(systems) <= 32  # beyond, the value labels overlap
    for k, s in enumerate(systems):
        cells = [table.cell(s, m.name, c) for c in columns]
        bars, _ = _grouped_bars(ax, k, len(systems), cells, colors[s], s, s == g.baseline)
        if labelled:
            labels = [f"{c.score:.1f}" if c.score is not None else "" for c in cells]
            ax.bar_label(bars, labels=labels, fontsize=6, padding=2)
    ax.axvline(len(table.langs) - 0.5, color="#9ca3af", linewidth=0.8, linestyle=":")
    ax.set_xticks(range(len(columns)), columns, fontsize=8, rotation=90 if len(columns) > 14 else 0)
    ax.set_ylabel(f"{m.name} {m.arrow}", fontsize=8)
    cells = [c for (_, name, _), c in table.cells.items() if name == m.name]
    ax.set_ylim(0, max([c.high or c.score or 0.0 for c in cells] + [1.0]) * 1.15)
    _style(ax)
    _legend(fig, systems, colors, g.baseline)
    title = f"{g.title}: {m.name} per language"
    fig.suptitle(f"{title}  (95% bootstrap intervals)", fontsize=10)
    return _save(fig, out_dir, f"{g.key}-languages", title)


def loss_curves(logs: list[TrainingLog], colors: dict[str, str], out_dir: Path) -> Chart | None:
    """Training (solid) and evaluation (dashed) loss per step, one colour per system."""
    if not logs:
        return None
    fig = _figure(6.4, 3.4)
    ax = fig.subplots()
    for log in logs:
        color = colors.get(log.system, PALETTE[-1])
        if log.train:
            xs, ys = zip(*log.train, strict=True)
            ax.plot(xs, ys, color=color, linewidth=1.4, label=f"{log.system} train")
        if log.eval:
            xs, ys = zip(*log.eval, strict=True)
            ax.plot(xs, ys, color=color, linewidth=1.4, linestyle="--", marker="o", markersize=3,
                    label=f"{log.system} eval")  # fmt: skip
    ax.set_xlabel("step", fontsize=8)
    ax.set_ylabel("loss", fontsize=8)
    _style(ax)
    ax.grid(axis="x", color="#f3f4f6", linewidth=0.6)
    ax.legend(fontsize=7, frameon=False)
    fig.suptitle("Training loss", fontsize=10)
    return _save(fig, out_dir, "loss", "Training loss")


def _legend(fig: Any, systems: list[str], colors: dict[str, str], baseline: str | None) -> None:
    from matplotlib.patches import Patch

    handles = [
        Patch(
            facecolor=colors[s],
            hatch="///" if s == baseline else None,
            edgecolor="white",
            label=f"{s} (baseline)" if s == baseline else s,
        )
        for s in systems
    ]
    fig.legend(
        handles=handles, loc="outside lower center", ncols=min(4, len(systems)), fontsize=8, frameon=False
    )
