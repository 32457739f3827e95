"""The `vlmadapt` command. It parses arguments and dispatches to each stage's Python entry function.

A stage command is its config: `config_command` (options.py) generates its options from the stage's
pydantic model, with `--config FILE` and `key=value` overrides, so this file names which fields are
positional and which get a short extra name, and says what to print; it copies no field. User errors
(`VlmadaptError`) print one message naming the file/line/field/path and exit with status 2, without a
traceback. Configs and heavy libraries load when their command runs, so `vlmadapt --help` is fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console

from vlmadapt.bench.cli import bench_app
from vlmadapt.config import build_config
from vlmadapt.errors import VlmadaptError
from vlmadapt.options import Commands
from vlmadapt.study.registry import STAGES  # the stages' configs: the study runner reads the same

if TYPE_CHECKING:  # the configs load when their command runs: `vlmadapt --help` imports no stage
    from vlmadapt.audit.config import ExportConfig, ServeConfig, StatsConfig
    from vlmadapt.data.run import ImportConfig
    from vlmadapt.demo.config import DemoConfig
    from vlmadapt.evaluate.compare import CompareConfig
    from vlmadapt.evaluate.run import EvaluateConfig
    from vlmadapt.predict.run import PredictConfig
    from vlmadapt.quality.run import QualityConfig
    from vlmadapt.report.run import ReportConfig
    from vlmadapt.synthesize.config import SynthesizeConfig
    from vlmadapt.train.config import TrainConfig
    from vlmadapt.translate.run import TranslateConfig

HELP = """Adapt an English vision-language model to another language.

Pipeline (each stage reads and writes files, and runs alone or chained; each takes --config FILE,
options and key=value overrides):

  data import -> translate -> quality -> synthesize -> audit -> train -> predict -> evaluate -> report

`vlmadapt run STUDY.yaml` runs them all from one study file, re-running only what changed.
"""

app = Commands(
    order=[
        "run",
        "demo",
        "data",
        "translate",
        "quality",
        "synthesize",
        "audit",
        "train",
        "predict",
        "evaluate",
        "compare",
        "report",
        "export",
        "models",
        "languages",
        "bench",
    ],
    help=HELP,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = Commands(help="Import source datasets into vlmadapt records; inspect them.", no_args_is_help=True)
models_app = typer.Typer(help="VLM families: list them, build tiny offline fixtures.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(models_app, name="models")
app.add_typer(bench_app, name="bench")
audit_app = Commands(
    help="Rate translations by hand in a web page; agreement; keep what people rated well.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")

out = Console()
err = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        from vlmadapt import __version__

        out.print(f"vlmadapt {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
    language_pack: Annotated[
        list[Path] | None,
        typer.Option(
            "--language-pack",
            help="A language pack file (YAML) to use beside the shipped ones; repeatable. "
            "See `vlmadapt languages show en` for the keys.",
        ),
    ] = None,
) -> None:
    from vlmadapt.languages import add_pack_file

    for path in language_pack or []:
        add_pack_file(path)


languages_app = typer.Typer(
    help="Language packs: the rules vlmadapt applies to each language.", no_args_is_help=True
)
app.add_typer(languages_app, name="languages")


@languages_app.command("list")
def languages_list() -> None:
    """Every language with a pack: its scripts, metric units, and what it lacks."""
    from vlmadapt.languages.report import packs_table

    out.print(packs_table())


@languages_app.command("show")
def languages_show(
    code: Annotated[str, typer.Argument(help="Language code, as in records' `lang` (de, zh, fil, ...).")],
) -> None:
    """Print one pack as YAML (a starting point for your own: change `code` and the words)."""
    from vlmadapt.languages.report import pack_yaml

    out.print(pack_yaml(code), markup=False, highlight=False, soft_wrap=True)


@data_app.config_command(
    "import",
    STAGES["import"].config,
    arguments=("format", "src", "dest"),
    aliases={"rejects": "rejects"},
)
def data_import(cfg: ImportConfig) -> None:
    """Convert a source dataset into vlmadapt example records (provenance beside them)."""
    from vlmadapt.data.run import import_records

    result = import_records(cfg)
    out.print(f"wrote {result.written} records to {result.path}")
    if result.images:
        plural = "" if result.images == 1 else "s"
        out.print(f"wrote {result.images} embedded image{plural} to {result.images_path}")
    if result.rejected:
        err.print(f"[yellow]{result.rejected} rejected[/], with reasons, in {result.rejects_path}")


@data_app.command("formats")
def data_formats() -> None:
    """List the source formats `data import` reads."""
    from vlmadapt.data import IMPORTERS

    for name, imp in sorted(IMPORTERS.items()):
        out.print(f"[bold]{name}[/]  {imp.description}")


@data_app.command("stats")
def data_stats(
    path: Annotated[Path, typer.Argument(help="Records (.jsonl or .parquet).")],
    image_root: Annotated[Path | None, typer.Option(help="Also check that every image opens.")] = None,
) -> None:
    """Counts per task, language and split; text lengths; image checks."""
    from vlmadapt.data import dataset_stats, render_stats

    out.print(render_stats(dataset_stats(path, image_root=image_root)))


@models_app.command("list")
def models_list() -> None:
    """The VLM families vlmadapt knows, with their transformers classes."""
    from vlmadapt.models import FAMILIES

    for name, fam in FAMILIES.items():
        out.print(f"[bold]{name}[/]  {fam.model_class}  ({fam.description})")


@models_app.command("tiny")
def models_tiny(
    family: Annotated[str, typer.Argument(help="Family name (see `vlmadapt models list`).")],
    out_dir: Annotated[Path, typer.Argument(help="Directory to save the model and processor in.")],
    seed: Annotated[int, typer.Option(help="Seed for the random weights.")] = 0,
) -> None:
    """Build a tiny random model of FAMILY, with a locally trained tokenizer, for offline tests and demos."""
    from vlmadapt.models import build_tiny

    path = build_tiny(family, out_dir, seed=seed)
    out.print(f"saved a tiny {family} model and processor to {path}")


@app.config_command("evaluate", STAGES["evaluate"].config, arguments=("predictions",))
def evaluate_cmd(cfg: EvaluateConfig) -> None:
    """Score predictions against references: scores.json (with 95% intervals) and per_sample.jsonl."""
    import json

    from vlmadapt.evaluate.run import render_scores, run

    path = run(cfg)
    out.print(render_scores(json.loads((path / "scores.json").read_text(encoding="utf-8"))))
    out.print(f"wrote {path / 'scores.json'} and {path / 'per_sample.jsonl'}")


@app.config_command("compare", "vlmadapt.evaluate.compare:CompareConfig", arguments=("runs",))
def compare_cmd(cfg: CompareConfig) -> None:
    """Paired significance tests of systems against a baseline, per metric, on the same examples."""
    import json

    from vlmadapt.evaluate.compare import compare, render_compare

    path = compare(cfg)
    result = json.loads(path.read_text(encoding="utf-8"))
    out.print(render_compare(result))
    for name, reason in result["skipped"].items():
        err.print(f"[yellow]skipped {name}:[/] {reason}", highlight=False)
    out.print(f"wrote {path}")


@app.config_command(
    "predict",
    STAGES["predict"].config,
    aliases={"mt": "mt.name", "max-new-tokens": "generation.max_new_tokens"},
)
def predict_cmd(cfg: PredictConfig) -> None:
    """Answer every example with a VLM (optionally with an adapter); a re-run resumes where it stopped."""
    from vlmadapt.predict import run

    out.print(f"predictions in {run(cfg)}")


_BACKEND = {"backend": "backend.name", "model": "backend.model", "url": "backend.url"}


@app.config_command(
    "translate",
    STAGES["translate"].config,
    arguments=("input",),
    aliases={
        "to": "target",
        "from": "source",
        "out": "output",
        **_BACKEND,
        "concurrency": "backend.concurrency",
        "device": "backend.device",
    },
)
def translate_cmd(cfg: TranslateConfig) -> None:
    """Translate examples into another language, keeping the source beside each text; resumable."""
    import json

    from vlmadapt.translate.run import run

    path = run(cfg)
    runs = json.loads(cfg.provenance_path().read_text(encoding="utf-8")).get("runs", [{}])
    last = runs[-1] if runs else {}
    out.print(f"translated records in {path}")
    if last:
        out.print(
            "segments: {segments} distinct, {phrasebook} from the phrasebook, {cached} cached, {translated} "
            "translated, {retried} retried, {marked} marked with problems".format(**last),
            highlight=False,
        )


@app.config_command(
    "synthesize",
    STAGES["synthesize"].config,
    arguments=("input",),
    aliases={"lang": "target", "out": "output", **_BACKEND},
)
def synthesize_cmd(cfg: SynthesizeConfig) -> None:
    """Write question-answer pairs from image captions with an LLM, with balanced yes/no; resumable."""
    import json

    from vlmadapt.synthesize import run
    from vlmadapt.synthesize.output import render_summary

    path = run(cfg)
    out.print(render_summary(json.loads(cfg.summary_path().read_text(encoding="utf-8"))))
    rejects = cfg.rejects_path()
    out.print(
        f"wrote {path}; summary in {cfg.summary_path()}"
        + (f"; rejects in {rejects}" if rejects.exists() else "")
    )


@app.config_command(
    "quality",
    STAGES["quality"].config,
    arguments=("input",),
    aliases={"out": "output", "roundtrip-backend": "roundtrip.name", "comet": "comet.checkpoint"},
)
def quality_cmd(
    cfg: QualityConfig,
    show: Annotated[int, typer.Option(help="How many low records to explain.")] = 50,
) -> None:
    """Score a translated set: checks, tiers (high/moderate/low) and why each low record is low."""
    import json

    from vlmadapt.quality.run import render, run

    path = run(cfg)
    out.print(render(path, show), highlight=False)
    fit = json.loads(cfg.summary_path().read_text(encoding="utf-8")).get("fit")
    if fit:
        out.print(
            f"thresholds fitted to {fit['n']} audit labels: weighted kappa {fit['kappa_before']:.3f} -> "
            f"{fit['kappa']:.3f}, accuracy {fit['accuracy']:.3f} (bands in {cfg.summary_path()})"
        )
    out.print(f"wrote {path} and {cfg.summary_path()}")


@audit_app.config_command("serve", "vlmadapt.audit.config:ServeConfig", arguments=("data",))
def audit_serve(cfg: ServeConfig) -> None:
    """Serve the audit page: people rate a stratified sample high / moderate / low; a restart resumes."""
    from vlmadapt.audit import serve

    serve(cfg, lambda line: out.print(line, highlight=False, soft_wrap=True))


@audit_app.config_command("stats", "vlmadapt.audit.config:StatsConfig")
def audit_stats(cfg: StatsConfig) -> None:
    """Agreement on doubly rated items (kappas, alpha) and human against automatic tiers."""
    from vlmadapt.audit import run_stats
    from vlmadapt.audit.stats import load, render

    path = run_stats(cfg)
    out.print(render(load(path)))
    out.print(f"wrote {path}")


@audit_app.config_command("export", STAGES["audit_export"].config)
def audit_export(cfg: ExportConfig) -> None:
    """Keep the audited records whose consensus (the lower rating) is in --keep; write human labels."""
    from vlmadapt.audit import run_export

    path = run_export(cfg)
    out.print(f"wrote {path}" + (f" and {cfg.labels}" if cfg.labels else ""))


@app.config_command("report", STAGES["report"].config, arguments=("runs",))
def report_cmd(cfg: ReportConfig) -> None:
    """Systems side by side: tables with 95% intervals and deltas, charts, loss curves, examples."""
    from vlmadapt.report import run

    path = run(cfg)
    out.print(f"wrote {path / 'report.html'}, {path / 'report.md'} and {path / 'report.csv'}")


@app.config_command("demo", "vlmadapt.demo.config:DemoConfig")
def demo_cmd(cfg: DemoConfig) -> None:
    """Take a small English VLM to Romanian or French on a toy world (CPU, offline, minutes): `vlmadapt run`
    on the shipped study (its path is printed), English model cached, these options as its overrides."""
    from vlmadapt.demo import run

    if cfg.seeds:
        from vlmadapt.demo.seeds import run_seeds

        table = run_seeds(cfg, say=err.print)
        out.print(table.read_text(encoding="utf-8"), markup=False, highlight=False)
        out.print(f"wrote {table}")
        return
    path = run(cfg)
    out.print(f"report: {path / 'report.html'} (also report.md, report.csv, charts/)")


def _train_config(model: type[BaseModel], data: dict[str, Any], source: str) -> BaseModel:
    """A recipe is valid when each of its stages is (train/config.py)."""
    from vlmadapt.train.config import stage_configs

    cfg = build_config(model, data, source)
    stage_configs(cfg, source)  # type: ignore[arg-type]
    return cfg


@app.config_command("train", STAGES["train"].config, depth=0, config_argument=True, build=_train_config)
def train_cmd(
    cfg: TrainConfig,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and a memory estimate from config.json alone.")
    ] = False,
) -> None:
    """Train LoRA / QLoRA adapters or a staged LLaVA recipe (a recipe such as recipes/ro-qwen2vl-lora.yaml,
    then key=value overrides: train.lr=1e-4 lora.r=8); distribute with `accelerate launch`."""
    from vlmadapt.train import dry_run as plan_only
    from vlmadapt.train import run
    from vlmadapt.train.plan import render_plan

    if dry_run:
        for plan in plan_only(cfg):
            out.print(render_plan(plan))
        return
    out.print(f"outputs in {run(cfg)}")


@app.command("run")
def run_cmd(
    study: Annotated[Path, typer.Argument(help="Study file (YAML), e.g. studies/tiny.yaml.")],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="key=value overrides of the study, e.g. train.lora-ro.train.max_steps=100."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan (what runs, what is cached, why); run nothing.")
    ] = False,
    only: Annotated[
        str | None, typer.Option("--only", help="Run only this stage (train) or block (train.lora-ro).")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Run this stage or block and what depends on it.")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Where the stages' outputs go (default: the study's out).")
    ] = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Then delete this study's stage directories its stages no longer use (earlier configs).",
        ),
    ] = False,
) -> None:
    """Run a whole study in dependency order; stages whose config and inputs did not change are skipped."""
    from vlmadapt.study import load_study, run_study

    result = run_study(
        load_study(study, overrides or []),
        out_dir,
        dry_run=dry_run,
        only=only,
        start=start,
        prune=prune,
        say=lambda line: out.print(line, highlight=False, soft_wrap=True),
    )
    if not dry_run:
        out.print(f"{len(result.ran())} stage(s) run, outputs in {result.out}")


@app.command("export")
def export_cmd(
    adapter: Annotated[Path, typer.Argument(help="Adapter directory written by `vlmadapt train`.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where the merged model and processor go.")],
    base: Annotated[
        str | None, typer.Option(help="Base model (default: the adapter's recorded base).")
    ] = None,
    dtype: Annotated[str, typer.Option(help="auto, bfloat16, float16 or float32.")] = "auto",
) -> None:
    """Merge a LoRA adapter into its base model: a plain transformers checkpoint, no PEFT needed."""
    from vlmadapt.train.export import merge

    out.print(f"merged model in {merge(adapter, out_dir, base=base, dtype=dtype)}")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turning user errors into one clear line and exit status 2."""
    try:
        app(args=argv, prog_name="vlmadapt")
    except VlmadaptError as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
