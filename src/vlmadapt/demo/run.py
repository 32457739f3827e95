"""`vlmadapt demo`: `vlmadapt run` on the shipped study of the toy world, study.<lang>.yaml beside this file.

The study holds the whole comparison (world, English model, MT noise, LoRA arms, predict, evaluate,
report); this module only turns `DemoConfig` into the study's `key=value` overrides, so a user can run,
copy and change the same study with `vlmadapt run`:

   english-en       the English model on the English test questions: the ceiling it reached;
   english-direct   the English model, asked in the target language as it is;
   translate-test   the English model behind phrasebook MT (questions to English, answers back);
   lora-<lang>      the Romanian study's recipe scaled down: LoRA r = alpha = 16 on the language model
                    and lm_head, vision frozen, trained on the target-language training questions;
   lora-<lang>-noisy  the same on training data with `mt_noise` of it mistranslated (only when asked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from vlmadapt.demo.config import DemoConfig

HERE = Path(__file__).resolve().parent


def study_file(lang: str) -> Path:
    """The shipped study of `lang` (package data)."""
    return HERE / f"study.{lang}.yaml"


def overrides(cfg: DemoConfig) -> list[str]:
    """The study overrides of every `cfg` field that differs from the defaults (which the study holds), and
    the English model's cache. `out` and `lang` are not overrides: they pick the study and its folder."""
    default, lang = DemoConfig(), cfg.lang
    arms = [f"lora-{lang}", *([f"lora-{lang}-noisy"] if cfg.mt_noise > 0 else [])]
    sets: list[str] = []
    for key in ("images", "test_images"):
        if getattr(cfg, key) != getattr(default, key):
            sets.append(f"world.{key}={getattr(cfg, key)}")
    for key in ("vision_steps", "pretrain_steps"):
        if getattr(cfg, key) != getattr(default, key):
            sets.append(f"english.{key}={getattr(cfg, key)}")
    sets.append(f"english.cache={cfg.cache_dir()}")
    if cfg.world_seed != default.world_seed:
        sets.append(f"world.seed={cfg.world_seed}")
    if cfg.seed != default.seed:
        sets.append(f"english.seed={cfg.seed}")
        sets += [f"noise.{lang}.seed={cfg.seed}"] if cfg.mt_noise > 0 else []
        sets += [f"train.{arm}.train.seed={cfg.seed}" for arm in arms]
    if cfg.mt_noise > 0:
        sets.append(f"noise.{lang}.share={cfg.mt_noise}")
    for arm in arms:
        if cfg.lora_steps != default.lora_steps:
            sets.append(f"train.{arm}.train.max_steps={cfg.lora_steps}")
        if cfg.batch_size != default.batch_size:
            sets.append(f"train.{arm}.train.batch_size={cfg.batch_size}")
        if (cfg.lora_steps, cfg.batch_size) != (default.lora_steps, default.batch_size):
            # one epoch: nothing seen twice
            sets.append(f"train.{arm}.data.limit={cfg.lora_steps * cfg.batch_size}")
        if cfg.lora_lr != default.lora_lr:
            sets.append(f"train.{arm}.train.lr={cfg.lora_lr}")
    return sets


def run(cfg: DemoConfig) -> Path:
    """Run the demo's study into `cfg.out`; returns the report directory. The libraries' warnings and log
    records go to `cfg.out`/log.txt (each stage's also to its own log), not the console."""
    from vlmadapt.console import run_log
    from vlmadapt.study import load_study, run_study

    console = Console(stderr=True)

    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    shipped = study_file(cfg.lang)
    cfg.out.mkdir(parents=True, exist_ok=True)
    study = _as_run(shipped, cfg.out / "study.yaml", with_noise=cfg.mt_noise > 0, lang=cfg.lang)
    sets = overrides(cfg)
    say(f"the demo's study: {shipped}")
    say("(copy it to run your own: vlmadapt run FILE --out DIR [key=value ...])")
    say(f"running: vlmadapt run {study} --out {cfg.out} " + " ".join(sets))
    with run_log(cfg.out / "log.txt"):
        done = run_study(load_study(study, sets), cfg.out, say=say)
    return done.result("report")


def _as_run(shipped: Path, out: Path, *, with_noise: bool, lang: str) -> Path:
    """The shipped study as this demo runs it: without the noisy arm unless asked for (overrides can set
    keys but not remove blocks). Written to `out` so that what ran can be read and run again."""
    if with_noise:
        out.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
        return out
    data: dict[str, Any] = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    noisy = f"lora-{lang}-noisy"
    data.pop("noise", None)
    data["systems"].pop(noisy, None)
    data["train"].pop(noisy, None)
    for stage in ("predict", "evaluate"):
        data[stage] = {k: v for k, v in data[stage].items() if not k.startswith(f"{noisy}-")}
    data["report"]["runs"] = [r for r in data["report"]["runs"] if not r.startswith(f"evaluate.{noisy}-")]
    header = f"# {shipped} as `vlmadapt demo` runs it without --mt-noise: the {noisy} arm left out.\n"
    out.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out
