"""Reading what the report shows beside the scores: reference examples and training logs.

The evaluate output directories themselves are read by evaluate/runs.py (`EvalRun`, `load_runs`), the
module `compare` reads them with. Training logs are the `log_history` of a transformers
`trainer_state.json` or `vlmadapt train`'s metrics.json in the run directory or its parent (or their
latest checkpoint-N folder).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlmadapt.errors import VlmadaptError
from vlmadapt.evaluate.runs import EvalRun


@dataclass
class TrainingLog:
    system: str
    path: Path
    train: list[tuple[float, float]] = field(default_factory=list)  # (step, loss)
    eval: list[tuple[float, float]] = field(default_factory=list)  # (step, eval_loss)


def load_references(run: EvalRun) -> dict[str, Any]:
    """The run's reference examples by id (for questions and images), or {} when the file is gone."""
    from vlmadapt.jsonl import read_records
    from vlmadapt.records import Example

    ref = run.scores.get("references")
    if not ref:
        return {}
    candidates = [Path(ref), run.path / ref, run.path.parent / Path(ref).name]
    for c in candidates:
        if c.is_file():
            try:
                return {e.id: e for e in read_records(c, Example)}
            except VlmadaptError as e:
                _warn(f"{run.system}: references {c} unreadable ({e}); examples shown without questions")
                return {}
    _warn(f"{run.system}: references {ref} not found; examples shown without questions and images")
    return {}


def _warn(message: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[yellow]warning:[/] {message}", highlight=False)


def _latest_state(folder: Path) -> Path | None:
    """A file with the Trainer's `log_history`: trainer_state.json, the metrics.json `vlmadapt train`
    writes at the end of a run, or the newest checkpoint's state (a run still going or killed)."""
    for name in ("trainer_state.json", "metrics.json"):
        if (folder / name).is_file():
            return folder / name
    checkpoints = [
        p
        for pattern in ("checkpoint-*/trainer_state.json", "checkpoints/checkpoint-*/trainer_state.json")
        for p in folder.glob(pattern)
        if p.parent.name[11:].isdigit()
    ]
    return max(checkpoints, key=lambda p: int(p.parent.name[11:]), default=None)


def find_training_log(run: EvalRun) -> TrainingLog | None:
    """The training log of a run: in its directory or its parent (a training run's folder), else in the
    adapter or model folder its predictions were made with (their provenance; `vlmadapt run` keeps
    evaluations, predictions and training runs in folders of their own), or None."""
    for folder in (run.path, run.path.parent, *_trained_with(run)):
        state = _latest_state(folder)
        if state is not None:
            return read_training_log(state, run.system)
    return None


def _trained_with(run: EvalRun) -> list[Path]:
    """The adapter folder, else the model folder, named in the provenance of the run's predictions."""
    predictions = run.scores.get("predictions")
    if not isinstance(predictions, str):
        return []
    sidecar = Path(predictions).with_name(Path(predictions).name + ".provenance.json")
    try:
        settings = json.loads(sidecar.read_text(encoding="utf-8")).get("settings", {})
    except (OSError, json.JSONDecodeError, AttributeError):
        return []
    given = [settings.get(k) for k in ("adapter", "model")] if isinstance(settings, dict) else []
    return [Path(g) for g in given if isinstance(g, str) and Path(g).is_dir()][:1]


def read_training_log(path: Path, system: str) -> TrainingLog | None:
    """Loss curves from a trainer_state.json; None when it holds no losses or does not parse."""
    try:
        history = json.loads(path.read_text(encoding="utf-8")).get("log_history", [])
    except (json.JSONDecodeError, AttributeError, OSError):
        return None
    log = TrainingLog(system, path)
    for entry in history if isinstance(history, list) else []:
        if not isinstance(entry, dict) or "step" not in entry:
            continue
        if isinstance(entry.get("loss"), int | float):
            log.train.append((float(entry["step"]), float(entry["loss"])))
        if isinstance(entry.get("eval_loss"), int | float):
            log.eval.append((float(entry["step"]), float(entry["eval_loss"])))
    return log if log.train or log.eval else None


def slug(text: str) -> str:
    """A file-name-safe form: "pope (fr)" -> "pope-fr"."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "x"
