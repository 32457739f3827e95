"""The `vlmadapt` command. It parses arguments and dispatches to each stage's Python entry function.

User errors (`VlmadaptError`) print one message naming the file/line/field/path and exit with status 2,
without a traceback. Heavy libraries load inside the stage functions, so `vlmadapt --help` is fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vlmadapt.errors import VlmadaptError

HELP = """Adapt an English vision-language model to another language.

Pipeline (each stage reads and writes files, and runs alone or chained):

  data import -> translate -> synthesize -> audit -> train -> predict -> evaluate -> report

Commands below are the stages available in this version.
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


def _on_error(value: str) -> str:
    if value not in ("raise", "skip"):
        raise VlmadaptError(f"--on-error must be 'raise' or 'skip', not {value!r}")
    return value


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        from vlmadapt import __version__

        out.print(f"vlmadapt {__version__}")
        raise typer.Exit()


@data_app.command("import")
def data_import(
    fmt: Annotated[str, typer.Argument(help="Source format (see `vlmadapt data formats`).")],
    src: Annotated[Path, typer.Argument(help="Source file in its original layout.")],
    dest: Annotated[Path, typer.Argument(help="Output records (.jsonl, or .parquet).")],
    image_root: Annotated[
        Path | None, typer.Option(help="Check every image exists and opens under this folder.")
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of the source text.")] = "en",
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
    lang: Annotated[str | None, typer.Option(help="Language (default: the references').")] = None,
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


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turning user errors into one clear line and exit status 2."""
    try:
        app(args=argv, prog_name="vlmadapt")
    except VlmadaptError as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
