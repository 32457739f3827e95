"""`vlmadapt demo`: the pipeline end to end on the toy world, on a laptop CPU, with nothing to download.

A straight-line recipe over the same stage functions a real run uses: generate the toy world (images and
exact target-language references), build a tiny VLM, predict on the test split, evaluate every task
(open VQA, yes/no with the POPE scorer, captions) and write the report.

The tiny VLM here is random: the demo shows the machinery and the files each stage writes, not a good
model. Adapting an English model (pretraining on the English world, then language-side LoRA and
translate-test) is what the quickstart recipe adds on top of these same stages.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from vlmadapt.jsonl import read_records, write_jsonl
from vlmadapt.records import Example, Task

# toy-world task -> scorer that evaluates it
SCORER_OF = {Task.open_vqa: "open_vqa", Task.yes_no: "pope", Task.caption: "caption"}


def split_by_task(records_path: Path, out_dir: Path, split: str) -> dict[Task, Path]:
    """One reference file per task for `split`, beside the images (so image paths stay relative)."""
    by_task: dict[Task, list[Example]] = {}
    for ex in read_records(records_path, Example):
        if ex.meta.get("split") == split:
            by_task.setdefault(ex.task, []).append(ex)
    return {
        task: write_jsonl(out_dir / f"{split}.{task.value}.{records_path.stem}.jsonl", rows)
        for task, rows in by_task.items()
    }


def run(
    out: Path | str = "demo-out",
    lang: str = "ro",
    family: str = "qwen2_vl",
    n_images: int = 60,
    seed: int = 0,
) -> Path:
    """Run the demo into `out`; returns the report directory."""
    from vlmadapt.data.toy import generate_world
    from vlmadapt.evaluate.run import EvaluateConfig
    from vlmadapt.evaluate.run import run as evaluate
    from vlmadapt.models import build_tiny
    from vlmadapt.predict import GenerationConfig, PredictConfig
    from vlmadapt.predict import run as predict
    from vlmadapt.report.run import ReportConfig
    from vlmadapt.report.run import run as report

    say = Console(stderr=True).print
    out = Path(out)
    world = out / "world"
    say(f"[bold]1/5[/] toy world: {n_images} images with {lang} questions -> {world}")
    records = generate_world(world, n_images, seed=seed, langs=(lang,))[lang]
    model_dir = out / "models" / f"tiny-{family}"
    if not (model_dir / "config.json").is_file():
        say(f"[bold]2/5[/] tiny {family} model -> {model_dir}")
        build_tiny(family, model_dir, seed=seed)
    runs = []
    for task, refs in split_by_task(records, world, "test").items():
        preds = out / "predictions" / f"{task.value}.jsonl"
        say(f"[bold]3/5[/] predict {task.value} -> {preds}")
        predict(
            PredictConfig(
                model=str(model_dir),
                data=refs,
                out=preds,
                batch_size=16,
                generation=GenerationConfig(max_new_tokens=12),
            )
        )
        say(f"[bold]4/5[/] evaluate {task.value}")
        runs.append(
            evaluate(
                EvaluateConfig(
                    predictions=preds,
                    references=refs,
                    task=SCORER_OF[task],
                    lang=lang,
                    out=out / "eval" / task.value,
                    system=f"tiny-{family}",
                    image_root=world,
                    resamples=200,
                    bertscore=False,
                )
            )
        )
    say("[bold]5/5[/] report")
    return report(
        ReportConfig(
            runs=runs,
            out=out / "report",
            image_root=world,
            trials=0,
            title=f"vlmadapt demo: toy world in {lang}",
        )
    )
