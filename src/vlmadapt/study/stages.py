"""The configs and entry functions of the demo's own stages: the toy world, the toy English model and MT
noise on a training file. Each is `run(config) -> Path`, like every other stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vlmadapt.provenance import provenance, write_json
from vlmadapt.records import Task

Lang = Literal["en", "fr", "ro"]
# The toy world's tasks, the names its test split files carry (`test.<task>.<lang>.jsonl`).
WORLD_TASKS = tuple(t.value for t in (Task.caption, Task.open_vqa, Task.yes_no))


class WorldConfig(BaseModel):
    """The toy world (data/toy.py) and the files the demo derives from it, per language."""

    model_config = ConfigDict(extra="forbid")

    out: Path
    images: int = Field(default=3000, ge=10)
    test_images: int = Field(default=160, ge=2)
    seed: int = 0
    langs: list[Lang] = Field(default_factory=lambda: list[Lang](["en", "ro"]))
    image_size: tuple[int, int] = (168, 56)  # demo/english.py's IMAGE_SIZE: 12 image tokens
    # Present (and as many absent) existence questions per image. Two pairs: with one, yes/no is two of
    # some twelve answers in a pretraining conversation, and whether a seed's model learned it swung its
    # yes/no accuracy by 20 points.
    exists: int = Field(default=1, ge=1, le=3)

    @model_validator(mode="after")
    def _fits(self) -> WorldConfig:
        if self.test_images * 2 > self.images:
            raise ValueError(
                f"test_images ({self.test_images}) must be at most half of images ({self.images})"
            )
        if "en" not in self.langs:
            raise ValueError("langs must include en (the English model and translate-test need it)")
        return self

    def outputs(self) -> dict[str, str]:
        """Output name -> file inside the world folder: `ro`, `ro.test.open_vqa`, `ro.train-qa`, ..."""
        names: dict[str, str] = {}
        for lang in self.langs:
            names[lang] = f"{lang}.jsonl"
            names[f"{lang}.train-qa"] = f"{lang}.train-qa.jsonl"
            names.update({f"{lang}.test.{task}": f"test.{task}.{lang}.jsonl" for task in WORLD_TASKS})
            if lang != "en":
                names[f"phrasebook.{lang}"] = f"phrasebook.{lang}-en.json"
        return names


def run_world(cfg: WorldConfig) -> Path:
    """Draw the world into `cfg.out`: records per language, test files per task, training QA, phrasebooks."""
    from vlmadapt.data.toy import generate_world
    from vlmadapt.demo.world import phrasebook, split_by_task, training_file

    records = generate_world(
        cfg.out,
        cfg.images,
        seed=cfg.seed,
        langs=tuple(cfg.langs),
        image_size=cfg.image_size,
        test_share=cfg.test_images / cfg.images,
        exists=cfg.exists,
    )
    for lang, path in records.items():
        split_by_task(path, cfg.out, "test")
        training_file(path, cfg.out / f"{lang}.train-qa.jsonl", (Task.open_vqa, Task.yes_no))
        if lang != "en":
            phrasebook(path, lang, cfg.out / f"phrasebook.{lang}-en.json")
    write_json(cfg.out / "world.provenance.json", provenance(cfg.model_dump(mode="json")))
    return cfg.out


class EnglishConfig(BaseModel):
    """The toy English VLM of demo/english.py, built in `out`, or in `cache` once and copied into `out`."""

    model_config = ConfigDict(extra="forbid")

    out: Path
    world: Path  # a toy world folder (the `world` stage)
    vision_steps: int = Field(default=300, ge=0)
    pretrain_steps: int = Field(default=1000, ge=1)
    seed: int = 0
    # A folder shared by studies (`vlmadapt demo` passes ~/.cache/vlmadapt/demo): the model is built there
    # once per setting that shapes it, so a demo in another language or output folder does not rebuild it.
    cache: Path | None = None


def run_english(cfg: EnglishConfig) -> Path:
    """Build, warm up and pretrain the English model; returns its directory (`out/pretrain`).

    A finished warm-up is kept and a killed pretraining resumes from its checkpoint (in `cache` when given).
    """
    from rich.console import Console

    from vlmadapt.demo.english import english_model

    return english_model(
        cfg.world,
        cfg.out,
        cfg.cache,
        vision_steps=cfg.vision_steps,
        pretrain_steps=cfg.pretrain_steps,
        seed=cfg.seed,
        say=Console(stderr=True).print,
    )


class NoiseConfig(BaseModel):
    """MT noise on a training file (demo/world.py `add_mt_noise`): an unaudited translation, in small."""

    model_config = ConfigDict(extra="forbid")

    input: Path  # examples whose `source` holds the English they were translated from
    out: Path
    share: float = Field(default=0.3, ge=0, le=1)  # of the training records, corrupted
    seed: int = 0


def run_noise(cfg: NoiseConfig) -> Path:
    """Write the noisy copy of `cfg.input` to `cfg.out`, and the count of each error beside it."""
    from vlmadapt.demo.world import add_mt_noise
    from vlmadapt.provenance import sidecar

    path, counts = add_mt_noise(cfg.input, cfg.share, cfg.seed, cfg.out)
    write_json(sidecar(cfg.out), {"errors": counts, **provenance(cfg.model_dump(mode="json"))})
    return path
