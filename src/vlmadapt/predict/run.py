"""The predict stage: examples in, one prediction row per example out, resumable.

Rows are appended (and fsynced) as each batch finishes; a re-run skips ids already written, so a kill loses
at most the batch in flight and never duplicates a row. A missing or unreadable image gives an error row
and the run goes on. A CUDA out-of-memory error splits the batch in two and retries; the batch size that
finally worked is reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.errors import ConfigError, VlmadaptError
from vlmadapt.jsonl import append_jsonl, completed_ids, read_records
from vlmadapt.predict.generate import GenerationConfig, Request, generate_batch
from vlmadapt.prompts import PromptConfig, conversation_turns, user_prompt
from vlmadapt.records import Example, Prediction, Task


class PredictConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="local model directory or hub id")
    data: Path
    out: Path
    adapter: Path | None = None
    family: str | None = None
    image_root: Path | None = Field(default=None, description="default: the folder of the data file")
    task: Task | None = Field(default=None, description="check that every example has this task")
    lang: str | None = Field(default=None, description="check that every example is in this language")
    batch_size: int = Field(8, ge=1)
    generation: GenerationConfig = GenerationConfig()
    prompts: PromptConfig = PromptConfig()
    dtype: str = "auto"
    device: str = "auto"
    limit: int | None = Field(default=None, ge=1, description="predict only the first N examples")


def check_examples(examples: list[Example], cfg: PredictConfig) -> None:
    """A task or language that does not fit the data is a user error, found before any model loads."""
    for ex in examples:
        if cfg.task is not None and ex.task != cfg.task:
            raise VlmadaptError(
                f"{cfg.data}: example {ex.id!r} has task {ex.task.value!r}, but --task is {cfg.task.value!r}"
            )
        if cfg.lang is not None and ex.lang != cfg.lang:
            raise VlmadaptError(
                f"{cfg.data}: example {ex.id!r} is in {ex.lang!r}, but --lang is {cfg.lang!r}"
            )


def to_request(ex: Example, image_root: Path, prompts: PromptConfig) -> Request:
    """The generation request of an example; raises VlmadaptError when its image cannot be used."""
    from vlmadapt.images import load_image

    image = load_image(image_root, ex.image) if ex.image else None
    if ex.task is Task.conversation:
        turns = conversation_turns(ex, prompts)[:-1]  # everything before the final assistant turn
        if not turns or turns[-1][0] != "user":
            raise VlmadaptError(f"example {ex.id!r}: the last turn before the answer must be the user's")
        return Request(text=turns[-1][1], image=image, history=turns[:-1])
    return Request(text=user_prompt(ex, prompts), image=image)


def batches(examples: list[Example], size: int) -> Iterator[list[Example]]:
    """Batches of at most `size`, never mixing examples with and without an image."""
    for has_image in (True, False):
        group = [ex for ex in examples if bool(ex.image) == has_image]
        for i in range(0, len(group), size):
            yield group[i : i + size]


def run(cfg: PredictConfig) -> Path:
    """Predict every example of `cfg.data` not already in `cfg.out`; returns the output path."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    examples = read_records(cfg.data, Example)[: cfg.limit]
    check_examples(examples, cfg)
    done = completed_ids(cfg.out)
    todo = [ex for ex in examples if ex.id not in done]
    if not todo:
        return cfg.out
    model, processor, family = _load(cfg)
    image_root = cfg.image_root or cfg.data.parent
    stamp = {
        "model": cfg.model,
        "adapter": str(cfg.adapter) if cfg.adapter else None,
        "generation": cfg.generation.kwargs(),
    }
    state = {"batch_size": cfg.batch_size}
    columns = (TextColumn("predict"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("predict", total=len(examples), completed=len(examples) - len(todo))
        for batch in batches(todo, cfg.batch_size):
            rows = _predict_batch(model, processor, family, batch, image_root, cfg, stamp, state)
            append_jsonl(cfg.out, rows)
            bar.advance(task, len(rows))
    if state["batch_size"] != cfg.batch_size:
        from rich.console import Console

        Console(stderr=True).print(
            f"[yellow]out of memory at batch size {cfg.batch_size}; "
            f"finished with batch size {state['batch_size']}[/]"
        )
    return cfg.out


def _predict_batch(
    model: Any,
    processor: Any,
    family: Any,
    batch: list[Example],
    image_root: Path,
    cfg: PredictConfig,
    stamp: dict[str, Any],
    state: dict[str, int],
) -> list[Prediction]:
    rows: list[Prediction] = []
    ready: list[tuple[Example, Request]] = []
    for ex in batch:
        try:
            ready.append((ex, to_request(ex, image_root, cfg.prompts)))
        except VlmadaptError as e:
            rows.append(Prediction(id=ex.id, prediction=None, error=str(e), **stamp))
    answers = _generate_splitting_on_oom(model, processor, family, [r for _, r in ready], cfg, state)
    for (ex, _), (answer, prompt) in zip(ready, answers, strict=True):
        rows.append(Prediction(id=ex.id, prediction=answer, prompt=prompt, meta={"lang": ex.lang}, **stamp))
    return rows


def _generate_splitting_on_oom(
    model: Any,
    processor: Any,
    family: Any,
    requests: list[Request],
    cfg: PredictConfig,
    state: dict[str, int],
) -> list[tuple[str, str]]:
    import torch

    out: list[tuple[str, str]] = []
    size = min(state["batch_size"], max(len(requests), 1))
    i = 0
    while i < len(requests):
        chunk = requests[i : i + size]
        try:
            answers, prompts = generate_batch(model, processor, family, chunk, cfg.generation)
        except torch.OutOfMemoryError:
            if size == 1:
                raise VlmadaptError(
                    "out of memory with batch size 1; use a smaller model, a lower "
                    "image resolution or fewer max_new_tokens"
                ) from None
            torch.cuda.empty_cache()
            size = max(1, size // 2)
            state["batch_size"] = size
            continue
        out.extend(zip(answers, prompts, strict=True))
        i += len(chunk)
    return out


def _load(cfg: PredictConfig) -> tuple[Any, Any, Any]:
    from vlmadapt.models import FAMILIES, detect_family, load_model

    model, processor = load_model(cfg.model, cfg.family, dtype=cfg.dtype, device=cfg.device)
    family = FAMILIES[detect_family(cfg.model)]
    if cfg.adapter is not None:
        from peft import PeftModel

        if not (cfg.adapter / "adapter_config.json").is_file():
            raise ConfigError(
                f"adapter: {cfg.adapter} has no adapter_config.json; pass the directory "
                "`vlmadapt train` wrote"
            )
        model = PeftModel.from_pretrained(model, str(cfg.adapter))
    model.eval()
    return model, processor, family
