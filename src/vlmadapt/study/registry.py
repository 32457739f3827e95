"""The stage registry: one entry per stage, the one list of stages there is.

An entry names the stage's config model and entry function (loaded when the stage runs, so importing this
is cheap), the config fields that may name another stage's output (`inputs`), and the fields the runner
derives from the stage's own output directory (`derived`: field -> file inside it; "" is the folder).
A reference to a stage without an output name means what its entry function returned (a file or folder
inside its output directory); `outputs` names further files (the world's `ro.test.open_vqa`, ...).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from vlmadapt.errors import lookup


@dataclass(frozen=True)
class Stage:
    """One stage: its config, its entry function, where its inputs and outputs are in that config."""

    name: str
    config: str  # "module:Class"
    entry: str  # "module:function", called as entry(config) -> Path
    inputs: tuple[str, ...]  # dotted config fields that may hold `stage[.name][.output]` references
    derived: dict[str, str]  # config field -> file in the output dir; set by the runner, never typed
    many: bool = True  # named instances (`train: {lora-ro: {...}}`) or one block (`world: {...}`)
    outputs: Callable[[BaseModel], dict[str, str]] | None = None  # further named outputs, from the config

    def model(self) -> type[BaseModel]:
        model: type[BaseModel] = _load(self.config)
        return model

    def run(self, cfg: BaseModel) -> Path:
        path: Path = _load(self.entry)(cfg)
        return path

    def named_outputs(self, cfg: BaseModel) -> dict[str, str]:
        return self.outputs(cfg) if self.outputs else {}


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _world_outputs(cfg: BaseModel) -> dict[str, str]:
    outputs: dict[str, str] = cfg.outputs()  # type: ignore[attr-defined]
    return outputs


_S = "vlmadapt.study.stages"
# In dependency order: the runner lists stages of a study in this order where the graph leaves a choice.
STAGES: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage(
            "world",
            f"{_S}:WorldConfig",
            f"{_S}:run_world",
            (),
            {"out": ""},
            many=False,
            outputs=_world_outputs,
        ),
        Stage("english", f"{_S}:EnglishConfig", f"{_S}:run_english", ("world",), {"out": ""}, many=False),
        Stage(
            "import",
            "vlmadapt.data.run:ImportConfig",
            "vlmadapt.data.run:run",
            ("src", "image_root"),
            {"dest": "examples.jsonl"},
        ),
        Stage(
            "translate",
            "vlmadapt.translate.run:TranslateConfig",
            "vlmadapt.translate.run:run",
            ("input", "phrasebook"),
            {"output": "examples.jsonl"},
        ),
        Stage(
            "quality",
            "vlmadapt.quality.run:QualityConfig",
            "vlmadapt.quality.run:run",
            ("input", "labels"),
            {"output": "quality.jsonl"},
        ),
        Stage(
            "synthesize",
            "vlmadapt.synthesize.config:SynthesizeConfig",
            "vlmadapt.synthesize.run:run",
            ("input",),
            {"output": "qa.jsonl"},
        ),
        Stage(
            "audit_export",
            "vlmadapt.audit.config:ExportConfig",
            "vlmadapt.audit.export:run",
            ("db", "data"),
            {"out": "kept.jsonl"},
        ),
        Stage("noise", f"{_S}:NoiseConfig", f"{_S}:run_noise", ("input",), {"out": "noisy.jsonl"}),
        Stage(
            "train",
            "vlmadapt.train.config:TrainConfig",
            "vlmadapt.train.run:run",
            ("model.path", "data.train", "data.eval", "data.image_root"),
            {"output_dir": ""},
        ),
        Stage(
            "predict",
            "vlmadapt.predict.run:PredictConfig",
            "vlmadapt.predict.run:run",
            ("model", "adapter", "data", "image_root", "mt_phrasebook"),
            {"out": "predictions.jsonl"},
        ),
        Stage(
            "evaluate",
            "vlmadapt.evaluate.run:EvaluateConfig",
            "vlmadapt.evaluate.run:run",
            ("predictions", "references", "image_root"),
            {"out": ""},
        ),
        Stage(
            "report",
            "vlmadapt.report.run:ReportConfig",
            "vlmadapt.report.run:run",
            ("runs", "image_root"),
            {"out": ""},
            many=False,
        ),
    )
}


def get_stage(name: str) -> Stage:
    return lookup(STAGES, name, "stage")
