"""The `vlmadapt` command. It parses arguments and dispatches to each stage's Python entry function.

User errors (`VlmadaptError`) print one message naming the file/line/field/path and exit with status 2,
without a traceback. Heavy libraries load inside the stage functions, so `vlmadapt --help` is fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from vlmadapt.bench.cli import bench_app
from vlmadapt.errors import VlmadaptError

HELP = """Adapt an English vision-language model to another language.

Pipeline (each stage reads and writes files, and runs alone or chained):

  data import -> translate -> quality -> synthesize -> audit -> train -> predict -> evaluate -> report

`vlmadapt run STUDY.yaml` runs them all from one study file, re-running only what changed.
"""

app = typer.Typer(
    help=HELP,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(
    help="Import source datasets into vlmadapt records; inspect them.", no_args_is_help=True
)
models_app = typer.Typer(help="VLM families: list them, build tiny offline fixtures.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(models_app, name="models")
app.add_typer(bench_app, name="bench")
audit_app = typer.Typer(
    help="Rate translations by hand in a web page; agreement; keep what people rated well.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")

out = Console()
err = Console(stderr=True)

OnErrorOpt = Annotated[
    str,
    typer.Option(
        "--on-error",
        help="raise: stop at the first bad record; "
        "skip: write it with its reason to the rejects file and go on.",
    ),
]


def _on_error(value: str) -> Literal["raise", "skip"]:
    if value == "raise":
        return "raise"
    if value == "skip":
        return "skip"
    raise VlmadaptError(f"--on-error must be 'raise' or 'skip', not {value!r}")


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


@data_app.command("import")
def data_import(
    fmt: Annotated[str, typer.Argument(help="Source format (see `vlmadapt data formats`).")],
    src: Annotated[Path, typer.Argument(help="Source file in its original layout.")],
    dest: Annotated[Path, typer.Argument(help="Output records (.jsonl, or .parquet).")],
    image_root: Annotated[
        Path | None,
        typer.Option(
            help="Check every image exists and opens under this folder; images embedded in the source "
            "(CVQA, MTVQA Parquet) are written here (default: DEST's stem + .images/)."
        ),
    ] = None,
    lang: Annotated[
        str,
        typer.Option(
            help="Language of the source text; for multilingual benchmarks one of theirs, or 'mul' for all."
        ),
    ] = "en",
    split: Annotated[
        str | None, typer.Option(help="Keep one split (train/val/test) where the format has splits.")
    ] = None,
    on_error: OnErrorOpt = "raise",
    rejects: Annotated[
        Path | None, typer.Option(help="Where rejected records go (default: DEST with .rejects.jsonl).")
    ] = None,
) -> None:
    """Convert a source dataset into vlmadapt example records."""
    from vlmadapt.data import import_dataset

    result = import_dataset(
        fmt,
        src,
        dest,
        image_root=image_root,
        lang=lang,
        split=split,
        on_error=_on_error(on_error),
        rejects_path=rejects,
    )
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


@app.command("evaluate")
def evaluate_cmd(
    predictions: Annotated[Path, typer.Argument(help="Predictions (.jsonl) from `vlmadapt predict`.")],
    references: Annotated[Path, typer.Option(help="Reference examples (.jsonl or .parquet).")],
    task: Annotated[
        str, typer.Option(help="Scorer: pope, scienceqa, textvqa, open_vqa, caption (or a record task).")
    ],
    lang: Annotated[
        str | None,
        typer.Option(help="Language (default: the references'; several languages are scored per language)."),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Output directory (default: beside the predictions).")
    ] = None,
    system: Annotated[str | None, typer.Option(help="System name shown in reports and compare.")] = None,
    allow_missing: Annotated[
        bool, typer.Option(help="Score examples without a prediction as empty (counted as missing).")
    ] = False,
    image_root: Annotated[Path | None, typer.Option(help="Image folder, recorded for the report.")] = None,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples for the 95% intervals.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 12345,
    bertscore: Annotated[bool, typer.Option(help="Compute BERTScore (open_vqa).")] = True,
    bertscore_model: Annotated[
        str | None,
        typer.Option(
            help="BERTScore model: local directory or hub id (default: the language pack's "
            "metrics.bertscore_model)."
        ),
    ] = None,
    bertscore_layers: Annotated[
        int | None, typer.Option(help="Layer to read (needed with a local --bertscore-model).")
    ] = None,
) -> None:
    """Score predictions against references: scores.json (with 95% intervals) and per_sample.jsonl."""
    import json

    from vlmadapt.config import build_config
    from vlmadapt.evaluate.run import EvaluateConfig, render_scores, run

    args = {
        "predictions": predictions,
        "references": references,
        "task": task,
        "lang": lang,
        "out": out_dir,
        "system": system,
        "allow_missing": allow_missing,
        "image_root": image_root,
        "resamples": resamples,
        "seed": seed,
        "bertscore": bertscore,
        "bertscore_model": bertscore_model,
        "bertscore_layers": bertscore_layers,
    }
    cfg = build_config(EvaluateConfig, args, "evaluate")
    path = run(cfg)
    out.print(render_scores(json.loads((path / "scores.json").read_text(encoding="utf-8"))))
    out.print(f"wrote {path / 'scores.json'} and {path / 'per_sample.jsonl'}")


@app.command("compare")
def compare_cmd(
    runs: Annotated[list[Path], typer.Argument(help="Two or more `vlmadapt evaluate` output directories.")],
    baseline: Annotated[
        str | None, typer.Option(help="System every other one is tested against (default: the first).")
    ] = None,
    out_path: Annotated[Path, typer.Option("--out", help="Where compare.json goes.")] = Path("compare.json"),
    method: Annotated[
        str, typer.Option(help="bootstrap: paired bootstrap; ar: approximate randomisation.")
    ] = "bootstrap",
    trials: Annotated[int, typer.Option(help="Resamples (bootstrap) or shuffles (ar).")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 12345,
) -> None:
    """Paired significance tests of systems against a baseline, per metric, on the same examples."""
    import json

    from vlmadapt.config import build_config
    from vlmadapt.evaluate.compare import CompareConfig, compare, render_compare

    if len(runs) < 2:
        raise VlmadaptError("compare needs at least two evaluate output directories")
    args = {
        "runs": runs,
        "baseline": baseline,
        "out": out_path,
        "method": method,
        "trials": trials,
        "seed": seed,
    }
    cfg = build_config(CompareConfig, args, "compare")
    path = compare(cfg)
    result = json.loads(path.read_text(encoding="utf-8"))
    out.print(render_compare(result))
    for name, reason in result["skipped"].items():
        err.print(f"[yellow]skipped {name}:[/] {reason}", highlight=False)
    out.print(f"wrote {path}")


@app.command("predict")
def predict_cmd(
    model: Annotated[str, typer.Option(help="Model directory or hub id.")],
    data: Annotated[Path, typer.Option(help="Examples to answer (.jsonl or .parquet).")],
    out_path: Annotated[Path, typer.Option("--out", help="Predictions (.jsonl), appended and resumable.")],
    adapter: Annotated[
        Path | None, typer.Option(help="LoRA adapter directory from `vlmadapt train`.")
    ] = None,
    family: Annotated[str | None, typer.Option(help="VLM family (default: from config.json).")] = None,
    task: Annotated[str | None, typer.Option(help="Check every example has this task.")] = None,
    lang: Annotated[str | None, typer.Option(help="Check every example is in this language.")] = None,
    image_root: Annotated[
        Path | None, typer.Option(help="Image folder (default: the data's folder).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Examples per generate call.")] = 8,
    max_new_tokens: Annotated[
        int | None, typer.Option(help="Longest answer, in tokens (default 64).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N examples.")] = None,
    backend: Annotated[
        str | None, typer.Option(help="Generation backend: transformers (default) or vllm.")
    ] = None,
    translate_test: Annotated[
        bool, typer.Option("--translate-test", help="Ask in English via MT; translate answers back.")
    ] = False,
    mt: Annotated[
        str | None, typer.Option(help="Translation backend for --translate-test (openai, seq2seq, ...).")
    ] = None,
    mt_model: Annotated[str | None, typer.Option(help="Translation model (--translate-test).")] = None,
    mt_url: Annotated[str | None, typer.Option(help="Translation endpoint URL (openai backend).")] = None,
    mt_phrasebook: Annotated[
        Path | None, typer.Option(help="YAML/JSON `source: English` entries consulted before MT.")
    ] = None,
    recipe: Annotated[
        Path | None,
        typer.Option(
            help="YAML with prompt templates and generation settings "
            "(keys of PredictConfig); options here override it."
        ),
    ] = None,
) -> None:
    """Answer every example with a VLM (optionally with an adapter); a re-run resumes where it stopped."""
    from vlmadapt.config import build_config
    from vlmadapt.predict import PredictConfig, run

    args = {
        "model": model,
        "data": data,
        "out": out_path,
        "adapter": adapter,
        "family": family,
        "task": task,
        "lang": lang,
        "image_root": image_root,
        "batch_size": batch_size,
        "limit": limit,
        "backend": backend,
        "translate_test": translate_test or None,
        "mt": {"name": mt, "model": mt_model, "url": mt_url},
        "mt_phrasebook": mt_phrasebook,
        "generation": {"max_new_tokens": max_new_tokens},
    }
    path = run(build_config(PredictConfig, _stage_config(recipe, args, None), str(recipe or "predict")))
    out.print(f"predictions in {path}")


def _stage_config(recipe: Path | None, args: dict, sets: list[str] | None) -> dict:
    """Recipe YAML, then the options given (nested dicts merge), then --set key=value overrides."""
    from vlmadapt.config import apply_overrides, read_yaml

    data = read_yaml(recipe) if recipe else {}
    for key, value in args.items():
        if isinstance(value, dict):
            nested = {k: v for k, v in value.items() if v is not None}
            if nested:
                data[key] = {**(data.get(key) or {}), **nested}
        elif value is not None:
            data[key] = value
    return apply_overrides(data, sets or [])


SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="key=value override of a config key, e.g. backend.temperature=0.2 (repeatable)."
    ),
]


@app.command("translate")
def translate_cmd(
    src: Annotated[Path, typer.Argument(help="Examples to translate (.jsonl).")],
    to: Annotated[str, typer.Option("--to", help="Target language (ISO 639-1: fr, ro, ...).")],
    out_path: Annotated[Path, typer.Option("--out", help="Translated examples (.jsonl); re-runs resume it.")],
    backend: Annotated[str | None, typer.Option(help="Backend: openai, seq2seq or causal.")] = None,
    model: Annotated[
        str | None, typer.Option(help="Served model name (openai), or hub id / folder (seq2seq, causal).")
    ] = None,
    url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL (default :8000/v1).")] = None,
    source: Annotated[
        str | None, typer.Option("--from", help="Source language (default: the records').")
    ] = None,
    concurrency: Annotated[int | None, typer.Option(help="Requests in flight (openai backend).")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda, ... (local backends).")] = None,
    phrasebook: Annotated[
        Path | None, typer.Option(help="YAML/JSON of fixed `source: target` strings.")
    ] = None,
    cache: Annotated[Path | None, typer.Option(help="SQLite cache (default: beside --out).")] = None,
    recipe: Annotated[Path | None, typer.Option("--config", help="YAML with TranslateConfig keys.")] = None,
    sets: SetOpt = None,
    progress: Annotated[bool, typer.Option(help="Show the progress bars.")] = True,
) -> None:
    """Translate examples into another language, keeping the source beside each text; resumable."""
    import json

    from vlmadapt.config import build_config
    from vlmadapt.translate.run import TranslateConfig, run

    args = {
        "input": src,
        "output": out_path,
        "target": to,
        "source": source,
        "phrasebook": phrasebook,
        "cache": cache,
        "progress": progress,
        "backend": {
            "name": backend,
            "model": model,
            "url": url,
            "concurrency": concurrency,
            "device": device,
        },
    }
    cfg = build_config(TranslateConfig, _stage_config(recipe, args, sets), str(recipe or "translate"))
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


@app.command("synthesize")
def synthesize_cmd(
    src: Annotated[Path, typer.Argument(help="Caption records (.jsonl or .parquet) in the target language.")],
    lang: Annotated[str, typer.Option("--lang", help="Language of the captions and the QA (a pack's code).")],
    out_path: Annotated[Path, typer.Option("--out", help="QA records (.jsonl); re-runs resume it.")],
    backend: Annotated[str | None, typer.Option(help="LLM backend: openai or causal.")] = None,
    model: Annotated[str | None, typer.Option(help="Served model name (openai), or hub id / folder.")] = None,
    url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL (default :8000/v1).")] = None,
    per_image: Annotated[int | None, typer.Option(help="QA pairs asked per image (default 3).")] = None,
    grounding: Annotated[str | None, typer.Option(help="lexical (default), judge or none.")] = None,
    cache: Annotated[Path | None, typer.Option(help="SQLite cache (default: beside --out).")] = None,
    recipe: Annotated[Path | None, typer.Option("--config", help="YAML with SynthesizeConfig keys.")] = None,
    sets: SetOpt = None,
    progress: Annotated[bool, typer.Option(help="Show the progress bars.")] = True,
) -> None:
    """Write question-answer pairs from image captions with an LLM, with balanced yes/no; resumable."""
    import json

    from vlmadapt.config import build_config
    from vlmadapt.synthesize import SynthesizeConfig, run
    from vlmadapt.synthesize.output import render_summary

    args = {
        "input": src,
        "output": out_path,
        "target": lang,
        "per_image": per_image,
        "grounding": grounding,
        "cache": cache,
        "progress": progress,
        "backend": {"name": backend, "model": model, "url": url},
    }
    cfg = build_config(SynthesizeConfig, _stage_config(recipe, args, sets), str(recipe or "synthesize"))
    path = run(cfg)
    out.print(render_summary(json.loads(cfg.summary_path().read_text(encoding="utf-8"))))
    rejects = cfg.rejects_path()
    out.print(
        f"wrote {path}; summary in {cfg.summary_path()}"
        + (f"; rejects in {rejects}" if rejects.exists() else "")
    )


@app.command("quality")
def quality_cmd(
    src: Annotated[Path, typer.Argument(help="Translated examples (.jsonl) from `vlmadapt translate`.")],
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Per-record checks (default IN.quality.jsonl).")
    ] = None,
    roundtrip_backend: Annotated[str | None, typer.Option(help="Backend for back-translation chrF.")] = None,
    roundtrip_model: Annotated[str | None, typer.Option(help="Its model (target -> source).")] = None,
    roundtrip_url: Annotated[str | None, typer.Option(help="Its URL (openai backend).")] = None,
    judge_url: Annotated[str | None, typer.Option(help="OpenAI-compatible URL of a GEMBA-MQM judge.")] = None,
    judge_model: Annotated[str | None, typer.Option(help="The judge's served model name.")] = None,
    comet: Annotated[
        Path | None, typer.Option(help="Local CometKiwi checkpoint (needs unbabel-comet).")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option(help="Audit labels {id, tier}: fit the thresholds to them.")
    ] = None,
    recipe: Annotated[Path | None, typer.Option("--config", help="YAML with QualityConfig keys.")] = None,
    sets: SetOpt = None,
    show: Annotated[int, typer.Option(help="How many low records to explain.")] = 50,
) -> None:
    """Score a translated set: checks, tiers (high/moderate/low) and why each low record is low."""
    import json

    from vlmadapt.config import build_config
    from vlmadapt.quality.run import QualityConfig, render, run

    args: dict = {"input": src, "output": out_path, "labels": labels}
    if roundtrip_backend or roundtrip_model:
        args["roundtrip"] = {"name": roundtrip_backend, "model": roundtrip_model, "url": roundtrip_url}
    if judge_url or judge_model:
        args["judge"] = {"name": "openai", "url": judge_url, "model": judge_model}
    if comet:
        args["comet"] = {"checkpoint": comet}
    cfg = build_config(QualityConfig, _stage_config(recipe, args, sets), str(recipe or "quality"))
    path = run(cfg)
    out.print(render(path, show), highlight=False)
    fit = json.loads(cfg.summary_path().read_text(encoding="utf-8")).get("fit")
    if fit:
        out.print(
            f"thresholds fitted to {fit['n']} audit labels: weighted kappa {fit['kappa_before']:.3f} -> "
            f"{fit['kappa']:.3f}, accuracy {fit['accuracy']:.3f} (bands in {cfg.summary_path()})"
        )
    out.print(f"wrote {path} and {cfg.summary_path()}")


@audit_app.command("serve")
def audit_serve(
    data: Annotated[Path, typer.Argument(help="Translated examples or synthesized QA (.jsonl).")],
    sample: Annotated[int, typer.Option(help="Items to audit (all when the data is smaller).")] = 300,
    stratify: Annotated[
        str, typer.Option(help="tier (automatic, from `vlmadapt quality`), task, lang, meta.<key> or none.")
    ] = "tier",
    quality: Annotated[
        Path | None, typer.Option(help="`vlmadapt quality` output (default DATA.quality.jsonl if present).")
    ] = None,
    double_share: Annotated[float, typer.Option(help="Share of items rated by two annotators.")] = 0.2,
    annotators: Annotated[
        str | None, typer.Option(help="Comma-separated names; each gets a login link, printed once.")
    ] = None,
    tokens: Annotated[Path | None, typer.Option(help="Or a file of `name token` lines.")] = None,
    db: Annotated[
        Path | None, typer.Option(help="Audit database (default audit.sqlite beside DATA).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    images: Annotated[Path | None, typer.Option(help="Image folder (default: DATA's folder).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample and of who rates what.")] = 12345,
) -> None:
    """Serve the audit page: people rate a stratified sample high / moderate / low; a restart resumes."""
    from vlmadapt.audit import ServeConfig, serve
    from vlmadapt.config import build_config

    args = {
        "data": data,
        "sample": sample,
        "stratify": stratify,
        "quality": quality,
        "double_share": double_share,
        "annotators": [a for a in (annotators or "").split(",") if a.strip()],
        "tokens": tokens,
        "db": db,
        "host": host,
        "port": port,
        "images": images,
        "seed": seed,
    }
    cfg = build_config(ServeConfig, args, "audit serve")
    serve(cfg, lambda line: out.print(line, highlight=False, soft_wrap=True))


@audit_app.command("stats")
def audit_stats(
    db: Annotated[Path, typer.Option(help="Audit database written by `vlmadapt audit serve`.")],
    out_path: Annotated[
        Path | None, typer.Option("--out", help="JSON output (default: DB with .stats.json).")
    ] = None,
) -> None:
    """Agreement on doubly rated items (kappas, alpha) and human against automatic tiers."""
    from vlmadapt.audit import StatsConfig, run_stats
    from vlmadapt.audit.stats import load, render
    from vlmadapt.config import build_config

    path = run_stats(build_config(StatsConfig, {"db": db, "out": out_path}, "audit stats"))
    out.print(render(load(path)))
    out.print(f"wrote {path}")


@audit_app.command("export")
def audit_export(
    db: Annotated[Path, typer.Option(help="Audit database written by `vlmadapt audit serve`.")],
    out_path: Annotated[Path, typer.Option("--out", help="Kept records (.jsonl).")],
    keep: Annotated[str, typer.Option(help="Consensus tiers to keep: high, or high,moderate.")] = "high",
    labels: Annotated[
        Path | None, typer.Option(help="Also write {id, tier} labels for `vlmadapt quality --labels`.")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="The audited data (default: the file the audit started on).")
    ] = None,
) -> None:
    """Keep the audited records whose consensus (the lower rating) is in --keep; write human labels."""
    from vlmadapt.audit import ExportConfig, run_export
    from vlmadapt.config import build_config

    args = {
        "db": db,
        "out": out_path,
        "keep": [k.strip() for k in keep.split(",") if k.strip()],
        "labels": labels,
        "data": data,
    }
    path = run_export(build_config(ExportConfig, args, "audit export"))
    out.print(f"wrote {path}" + (f" and {labels}" if labels else ""))


@app.command("report")
def report_cmd(
    runs: Annotated[
        list[Path], typer.Argument(help="`vlmadapt evaluate` output directories (or folders holding them).")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for report.html, .md, .csv and charts/.")
    ] = Path("report"),
    baseline: Annotated[
        str | None, typer.Option(help="System the others are compared with (default: each task's first).")
    ] = None,
    image_root: Annotated[
        Path | None, typer.Option(help="Image folder for thumbnails (default: the one each run recorded).")
    ] = None,
    examples: Annotated[int, typer.Option(help="Examples shown per task.")] = 6,
    trials: Annotated[int, typer.Option(help="Paired bootstrap resamples per delta (0: no tests).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed for the tests and the example sample.")] = 12345,
    title: Annotated[str, typer.Option(help="Report title.")] = "Evaluation report",
) -> None:
    """Systems side by side: tables with 95% intervals and deltas, charts, loss curves, examples."""
    from vlmadapt.config import build_config
    from vlmadapt.report import ReportConfig, run

    args = {
        "runs": runs,
        "out": out_dir,
        "baseline": baseline,
        "image_root": image_root,
        "examples": examples,
        "trials": trials,
        "seed": seed,
        "title": title,
    }
    path = run(build_config(ReportConfig, args, "report"))
    out.print(f"wrote {path / 'report.html'}, {path / 'report.md'} and {path / 'report.csv'}")


@app.command("demo")
def demo_cmd(
    out_dir: Annotated[Path | None, typer.Option("--out", help="Where everything goes (demo-out).")] = None,
    lang: Annotated[str | None, typer.Option(help="Target language: ro (default) or fr.")] = None,
    mt_noise: Annotated[
        float | None,
        typer.Option(help="Share of training translations to corrupt (0 to 1): adds lora-<lang>-noisy."),
    ] = None,
    images: Annotated[
        int | None, typer.Option(help="Toy-world images (default 3000; 160 are the test split).")
    ] = None,
    recipe: Annotated[Path | None, typer.Option("--config", help="YAML with DemoConfig keys.")] = None,
    sets: SetOpt = None,
) -> None:
    """Take a small English VLM to Romanian or French on a toy world (CPU, offline, minutes): `vlmadapt run`
    on the shipped study (its path is printed), English model cached, these options as its overrides."""
    from vlmadapt.config import build_config
    from vlmadapt.demo import DemoConfig, run

    args = {"out": out_dir, "lang": lang, "mt_noise": mt_noise, "images": images}
    path = run(build_config(DemoConfig, _stage_config(recipe, args, sets), str(recipe or "demo")))
    out.print(f"report: {path / 'report.html'} (also report.md, report.csv, charts/)")


@app.command("train")
def train_cmd(
    recipe: Annotated[
        Path, typer.Argument(help="Training recipe (YAML), e.g. recipes/ro-qwen2vl-lora.yaml.")
    ],
    overrides: Annotated[
        list[str] | None, typer.Argument(help="key=value overrides, e.g. train.lr=1e-4 lora.r=8.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and a memory estimate from config.json alone.")
    ] = False,
) -> None:
    """Train LoRA / QLoRA adapters or a staged LLaVA recipe; distribute with `accelerate launch`."""
    from vlmadapt.train import dry_run as plan_only
    from vlmadapt.train import load_train_config, run
    from vlmadapt.train.plan import render_plan

    cfg = load_train_config(recipe, overrides or [])
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
) -> None:
    """Run a whole study in dependency order; stages whose config and inputs did not change are skipped."""
    from vlmadapt.study import load_study, run_study

    result = run_study(
        load_study(study, overrides or []),
        out_dir,
        dry_run=dry_run,
        only=only,
        start=start,
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
