"""The report stage: evaluate output directories -> report.md, report.csv, report.html and charts/.

    vlmadapt report runs/pope-fr-base runs/pope-fr-lora --baseline base --out report/

One table per (task, scorer, language) with systems as rows and each metric's score, 95% bootstrap
interval and delta against the baseline, with a paired bootstrap test (evaluate/runs.py, as `compare`);
for a task scored in several languages, a table of systems x languages with the mean over languages and
the pooled figure (languages.py); bar charts with interval whiskers and loss curves (PNG and PDF); a
sample of examples with every system's answer. The HTML page is self-contained (inline CSS, base64
images) and escapes all text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.evaluate.runs import EvalRun, load_runs
from vlmadapt.evaluate.stats import CONFIDENCE, RESAMPLES, SEED
from vlmadapt.report.load import TrainingLog, find_training_log


class ReportConfig(BaseModel):
    """What `vlmadapt report` needs; defaults live here."""

    model_config = ConfigDict(extra="forbid")

    runs: list[Path] = Field(
        min_length=1, description="`vlmadapt evaluate` output directories, or folders holding them."
    )
    out: Path = Field(default=Path("report"), description="Folder for report.html, .md, .csv and charts/.")
    baseline: str | None = Field(
        default=None, description="System the others are compared with (default: each task's first)."
    )
    image_root: Path | None = Field(
        default=None, description="Image folder for thumbnails (default: the one each run recorded)."
    )
    examples: int = Field(default=6, ge=0, description="Examples shown per task.")
    trials: int = Field(
        default=RESAMPLES, ge=0, description="Paired bootstrap resamples per delta (0: no tests)."
    )
    seed: int = Field(default=SEED, description="Seed of the tests and of the example sample.")
    confidence: float = Field(default=CONFIDENCE, gt=0, lt=1, description="Interval confidence level.")
    charts: bool = Field(default=True, description="Draw the charts (PNG and PDF).")
    title: str = Field(default="Evaluation report", description="Report title.")


def run(config: ReportConfig) -> Path:
    """Write the report into `config.out`; returns that directory."""
    from vlmadapt.errors import VlmadaptError
    from vlmadapt.report import charts as ch
    from vlmadapt.report.examples import sample_examples
    from vlmadapt.report.languages import language_table
    from vlmadapt.report.render import Report, Section, render_html, render_markdown, write_csv
    from vlmadapt.report.tables import build_groups

    cfg = config
    if cfg.image_root is not None and not cfg.image_root.is_dir():
        raise VlmadaptError(f"--image-root {cfg.image_root}: no such directory")
    runs = load_runs(cfg.runs)
    groups = build_groups(runs, cfg.baseline, cfg.trials, cfg.seed, cfg.confidence)
    colors = ch.system_colors([r.system for r in runs])
    out = cfg.out
    out.mkdir(parents=True, exist_ok=True)
    chart_dir = out / "charts"
    sections = []
    for g in groups:
        sec = Section(g, examples=sample_examples(g, cfg.examples, cfg.seed, cfg.image_root))
        sec.languages = language_table(g)
        if cfg.charts:
            sec.chart = ch.metric_bars(g, colors, chart_dir)
            sec.subset_chart = ch.subset_bars(g, colors, chart_dir)
            if sec.languages is not None:
                sec.language_chart = ch.language_bars(sec.languages, colors, chart_dir)
        sections.append(sec)
    logs = _training_logs(runs)
    report = Report(
        title=cfg.title,
        created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        sections=sections,
        runs=runs,
        logs=logs,
        loss_chart=ch.loss_curves(logs, colors, chart_dir) if cfg.charts else None,
        trials=cfg.trials,
        colors=colors,
    )
    _write(out / "report.md", render_markdown(report, out))
    write_csv(groups, out / "report.csv", [s.languages for s in sections if s.languages is not None])
    _write(out / "report.html", render_html(report))
    return out


def _training_logs(runs: list[EvalRun]) -> list[TrainingLog]:
    """One log per trainer_state.json, even when several evaluations share a training run."""
    logs: dict[Path, TrainingLog] = {}
    for r in runs:
        log = find_training_log(r)
        if log is not None:
            logs.setdefault(log.path.resolve(), log)
    return list(logs.values())


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
