"""`vlmadapt demo`: both studies' comparison, in small, on a toy world that a laptop CPU learns in minutes.

A straight-line recipe over the stage functions a real run uses (train, predict, evaluate, report):

1. the world: images of coloured shapes, English questions and exact Romanian or French references;
2. an English VLM (english.py): a small Qwen2-VL pretrained on the English world, cached;
3. the systems, all asked the target-language test questions:
   english-direct   the English model, asked in the target language as it is;
   translate-test   the English model behind phrasebook MT (questions to English, answers back);
   lora-<lang>      the Romanian study's recipe scaled down: LoRA r = alpha = 16 on the language model
                    only, vision frozen, trained on the target-language training split;
   lora-<lang>-noisy  the same on training data with `mt_noise` of it mistranslated (when asked);
   and english-en, the English model on the English test questions: the ceiling it reached;
4. evaluate (exact match and open-VQA metrics, POPE metrics for yes/no, caption metrics, language
   fidelity) and the report (tables, charts, loss curves, example images with every system's answer).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from vlmadapt.demo.config import DemoConfig
from vlmadapt.records import Task

SCORER_OF = {Task.open_vqa: "open_vqa", Task.yes_no: "pope", Task.caption: "caption"}
MAX_NEW_TOKENS = {Task.open_vqa: 12, Task.yes_no: 4, Task.caption: 48}


@dataclass
class System:
    """One system of the comparison: how it answers, where its files go."""

    name: str
    lang: str  # the language it is asked in
    adapter: Path | None = None
    translate_test: bool = False
    runs: list[Path] = field(default_factory=list)  # its evaluate output directories


def run(cfg: DemoConfig) -> Path:
    """Run the demo into `cfg.out`; returns the report directory. The libraries' warnings and log records
    go to `cfg.out`/log.txt (each training run's also to its own log.txt), not the console."""
    from vlmadapt.console import run_log

    with run_log(cfg.out / "log.txt"):
        return _run(cfg)


def _run(cfg: DemoConfig) -> Path:
    from vlmadapt.demo.english import IMAGE_SIZE, english_model
    from vlmadapt.demo.world import add_mt_noise, phrasebook, split_by_task, training_file
    from vlmadapt.report.run import ReportConfig
    from vlmadapt.report.run import run as report
    from vlmadapt.translate.backends import lang_name

    say = Console(stderr=True).print
    started = time.monotonic()
    out, lang = cfg.out, cfg.lang
    world = out / "world"
    say(f"[bold]1/5[/] toy world: {cfg.images} images, en + {lang} -> {world}")
    records = _world(cfg, world, IMAGE_SIZE)
    say("[bold]2/5[/] the English VLM")
    english = english_model(
        world,
        records["en"],
        cfg.cache_dir(),
        vision_steps=cfg.vision_steps,
        pretrain_steps=cfg.pretrain_steps,
        seed=cfg.seed,
        say=say,
    )
    systems_dir = out / "systems"
    _link_training_log(english, systems_dir / "english-en")
    systems = [System("english-en", "en"), System("english-direct", lang), System("translate-test", lang)]
    systems[-1].translate_test = True
    say(f"[bold]3/5[/] language-side LoRA on {lang} questions (captions stay zero-shot, as in the study)")
    qa = training_file(records[lang], world / f"{lang}.train-qa.jsonl", (Task.open_vqa, Task.yes_no))
    systems.append(System(f"lora-{lang}", lang, adapter=_lora(cfg, english, qa, systems_dir)))
    if cfg.mt_noise > 0:
        noisy, counts = add_mt_noise(qa, cfg.mt_noise, cfg.seed, world / f"{lang}.train-qa.noisy.jsonl")
        say(f"    MT noise on {cfg.mt_noise:.0%} of the training records: {counts}")
        name = f"lora-{lang}-noisy"
        systems.append(System(name, lang, adapter=_lora(cfg, english, noisy, systems_dir, name)))
    book = phrasebook(records[lang], lang, world / f"phrasebook.{lang}-en.json")
    say("[bold]4/5[/] predict and evaluate every system on the test split")
    references = {code: split_by_task(path, world, "test") for code, path in records.items()}
    for system in systems:
        say(f"    {system.name}")
        _predict_and_evaluate(system, english, references[system.lang], book, systems_dir / system.name)
    say("[bold]5/5[/] report")
    path = report(
        ReportConfig(
            runs=[r for s in systems for r in s.runs],
            out=out / "report",
            image_root=world,
            baseline="english-direct",
            trials=200,
            title=f"vlmadapt demo: an English VLM taken to {lang_name(lang)}",
        )
    )
    say(f"done in {time.monotonic() - started:.0f} s")
    return path


def _world(cfg: DemoConfig, world: Path, image_size: tuple[int, int]) -> dict[str, Path]:
    """The toy world's records per language, drawn now or kept from an earlier run with the same settings."""
    import json

    from vlmadapt.data.toy import generate_world

    langs = ("en", cfg.lang)
    settings = {"images": cfg.images, "test": cfg.test_images, "seed": cfg.seed, "size": list(image_size)}
    stamp = world / "world.json"
    paths = {lang: world / f"{lang}.jsonl" for lang in langs}
    if (
        stamp.is_file()
        and json.loads(stamp.read_text()) == settings
        and all(p.is_file() for p in paths.values())
    ):
        return paths
    paths = generate_world(
        world,
        cfg.images,
        seed=cfg.seed,
        langs=langs,
        image_size=image_size,
        test_share=cfg.test_images / cfg.images,
    )
    stamp.write_text(json.dumps(settings), encoding="utf-8")
    return paths


def _lora(cfg: DemoConfig, base: Path, train: Path, systems_dir: Path, name: str | None = None) -> Path:
    """The Romanian study's adapter recipe on `train`: r = alpha = 16, language model only."""
    from vlmadapt.train import TrainConfig
    from vlmadapt.train import run as train_run

    out = systems_dir / (name or f"lora-{cfg.lang}")
    if (out / "metrics.json").is_file():
        return out  # trained by an earlier run of the same demo
    recipe: dict[str, Any] = {
        "output_dir": out,
        "model": {"path": str(base)},
        "data": {"train": train, "limit": cfg.lora_steps * cfg.batch_size},  # one epoch, nothing seen twice
        # The study's r = alpha = 16 on the language model's linear layers; here its output head too: the
        # tiny tokenizer is English-only, so Romanian letters are byte tokens the English head never emits.
        "lora": {"r": 16, "alpha": 16, "groups": ["language_model", "lm_head"]},
        "train": {
            "max_steps": cfg.lora_steps,
            "batch_size": cfg.batch_size,
            "lr": cfg.lora_lr,
            "scheduler": "cosine",
            "warmup": 10,
            "seed": cfg.seed,
            "logging_steps": 10,
            "tensorboard": False,
        },
    }
    return train_run(TrainConfig.model_validate(recipe))


def _predict_and_evaluate(
    system: System, model: Path, references: dict[Task, Path], book: Path, folder: Path
) -> None:
    from vlmadapt.evaluate.run import EvaluateConfig
    from vlmadapt.evaluate.run import run as evaluate
    from vlmadapt.predict import GenerationConfig, PredictConfig
    from vlmadapt.predict import run as predict
    from vlmadapt.translate import BackendConfig

    for task, refs in references.items():
        preds = folder / f"predictions.{task.value}.jsonl"
        predict(
            PredictConfig(
                model=str(model),
                adapter=system.adapter,
                data=refs,
                out=preds,
                batch_size=64,
                generation=GenerationConfig(max_new_tokens=MAX_NEW_TOKENS[task]),
                translate_test=system.translate_test,
                mt=BackendConfig(name="phrasebook", missing="keep"),
                mt_phrasebook=book if system.translate_test else None,
            )
        )
        system.runs.append(
            evaluate(
                EvaluateConfig(
                    predictions=preds,
                    references=refs,
                    task=SCORER_OF[task],
                    out=folder / f"eval-{task.value}",
                    system=system.name,
                    resamples=200,
                    bertscore=False,
                )
            )
        )


def _link_training_log(model: Path, folder: Path) -> None:
    """Show the English model's pretraining loss beside english-en (the report reads metrics.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model / "metrics.json", folder / "metrics.json")
