"""The predict stage: examples in, one prediction row per example out, resumable.

Rows are appended (and fsynced) as each batch finishes; a re-run skips ids already written, so a kill loses
at most the batch in flight and never duplicates a row. A missing or unreadable image gives an error row
and the run goes on. A CUDA out-of-memory error splits the batch in two and retries; the batch size that
finally worked is reported. With ``translate_test`` the model is asked in English through machine
translation (translate_test.py). The libraries' warnings and log records go to `<out>.log` beside the
predictions, not the console (vlmadapt.console).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.errors import ConfigError, VlmadaptError
from vlmadapt.jsonl import append_jsonl, completed_ids, read_records
from vlmadapt.llm.backends import BackendConfig
from vlmadapt.predict.generate import GenerationConfig, Request, generate_batch
from vlmadapt.prompts import PromptConfig, conversation_turns, user_prompt
from vlmadapt.provenance import start_or_resume
from vlmadapt.records import Example, Prediction, Task

if TYPE_CHECKING:
    from vlmadapt.predict.translate_test import RoundTrip


class PredictConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="Model directory or hub id.")
    data: Path = Field(description="Examples to answer (.jsonl or .parquet).")
    out: Path = Field(description="Predictions (.jsonl), appended and resumable.")
    adapter: Path | None = Field(default=None, description="LoRA adapter directory from `vlmadapt train`.")
    family: str | None = Field(default=None, description="VLM family (default: from config.json).")
    image_root: Path | None = Field(default=None, description="Image folder (default: the data's folder).")
    task: Task | None = Field(default=None, description="Check that every example has this task.")
    lang: str | None = Field(default=None, description="Check that every example is in this language.")
    batch_size: int = Field(default=8, ge=1, description="Examples per generate call.")
    backend: Literal["transformers", "vllm"] = Field(
        default="transformers", description="Generation backend."
    )
    generation: GenerationConfig = GenerationConfig()
    prompts: PromptConfig = PromptConfig()
    dtype: str = Field(default="auto", description="auto, bfloat16, float16 or float32.")
    device: str = Field(default="auto", description="auto, cpu, cuda, cuda:1, ...")
    split: str | None = Field(
        default=None, description="Predict only the examples whose meta.split is this (e.g. test)."
    )
    limit: int | None = Field(default=None, ge=1, description="Predict only the first N examples.")
    translate_test: bool = Field(
        default=False, description="Ask the model in English via MT and translate its answers back."
    )
    mt: BackendConfig = Field(
        default_factory=BackendConfig,
        description="MT backend (translate_test): openai, seq2seq, phrasebook, ...",
    )
    mt_phrasebook: Path | None = Field(
        default=None, description="YAML/JSON `source: English` entries consulted before the MT backend."
    )
    mt_cache: Path | None = Field(
        default=None, description="MT cache (default: translate-cache.sqlite beside out)."
    )

    def mt_cache_path(self) -> Path:
        return self.mt_cache or self.out.parent / "translate-cache.sqlite"


def select_examples(examples: list[Example], cfg: PredictConfig) -> list[Example]:
    """The examples of `cfg.split` (all without one), then the first `cfg.limit` of them."""
    if cfg.split is not None:
        kept = [ex for ex in examples if ex.meta.get("split") == cfg.split]
        if examples and not kept:
            found = sorted({str(ex.meta.get("split")) for ex in examples})
            raise VlmadaptError(
                f"{cfg.data}: no example has meta.split {cfg.split!r}; its splits: {', '.join(found)}"
            )
        examples = kept
    return examples[: cfg.limit]


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


def row_settings(cfg: PredictConfig) -> dict[str, Any]:
    """What changes the rows: resuming an output with other settings would mix two systems in one file."""
    return {
        "model": cfg.model,
        "adapter": str(cfg.adapter) if cfg.adapter else None,
        "backend": cfg.backend,
        "split": cfg.split,
        "generation": cfg.generation.kwargs(),
        "prompts": cfg.prompts.model_dump(),
        "translate_test": cfg.mt.model_dump(mode="json") if cfg.translate_test else None,
    }


def batches(examples: list[Example], size: int) -> Iterator[list[Example]]:
    """Batches of at most `size`, never mixing examples with and without an image."""
    for has_image in (True, False):
        group = [ex for ex in examples if bool(ex.image) == has_image]
        for i in range(0, len(group), size):
            yield group[i : i + size]


def run(cfg: PredictConfig) -> Path:
    """Predict every example of `cfg.data` not already in `cfg.out`; returns the output path."""
    from vlmadapt.console import run_log

    examples = select_examples(read_records(cfg.data, Example), cfg)
    check_examples(examples, cfg)
    done = completed_ids(cfg.out)
    start_or_resume(cfg.out, row_settings(cfg), cfg.model_dump(mode="json"), resuming=bool(done))
    todo = [ex for ex in examples if ex.id not in done]
    if not todo:
        return cfg.out
    state = {"batch_size": cfg.batch_size}
    with run_log(log_path(cfg.out)):  # the libraries' warnings, kept off the console
        _predict_all(cfg, examples, todo, state)
    if state["batch_size"] != cfg.batch_size:
        from rich.console import Console

        Console(stderr=True).print(
            f"[yellow]out of memory at batch size {cfg.batch_size}; "
            f"finished with batch size {state['batch_size']}[/]"
        )
    return cfg.out


def log_path(out: Path) -> Path:
    """The run log beside the predictions, named like their provenance sidecar: preds.jsonl.log."""
    return out.with_name(out.name + ".log")


def _predict_all(
    cfg: PredictConfig, examples: list[Example], todo: list[Example], state: dict[str, int]
) -> None:
    """Load the model, answer `todo` batch by batch (appending each), with one progress display."""
    from vlmadapt.console import progress

    model, processor, family = _load(cfg)
    image_root = cfg.image_root or cfg.data.parent
    stamp = {
        "model": cfg.model,
        "adapter": str(cfg.adapter) if cfg.adapter else None,
        "generation": cfg.generation.kwargs(),
    }
    rt = _round_trip(cfg)
    try:
        with progress(f"predict {cfg.out.name}") as bar:
            task = bar.add_task("predict", total=len(examples), completed=len(examples) - len(todo))
            for batch in batches(todo, cfg.batch_size):
                rows = _predict_batch(model, processor, family, batch, image_root, cfg, stamp, state, rt)
                append_jsonl(cfg.out, rows)
                bar.advance(task, len(rows))
    finally:
        if rt is not None:
            rt.close()


def _predict_batch(
    model: Any,
    processor: Any,
    family: Any,
    batch: list[Example],
    image_root: Path,
    cfg: PredictConfig,
    stamp: dict[str, Any],
    state: dict[str, int],
    rt: RoundTrip | None = None,
) -> list[Prediction]:
    rows: list[Prediction] = []
    ready: list[tuple[Example, Request]] = []
    english = rt.to_english(batch) if rt is not None else {}
    for ex in batch:
        try:
            if rt is not None and ex.id not in english:
                raise VlmadaptError(f"example {ex.id!r}: translate-test does not handle conversations")
            asked = english[ex.id][0] if rt is not None else ex
            ready.append((ex, to_request(asked, image_root, cfg.prompts)))
        except VlmadaptError as e:
            rows.append(Prediction(id=ex.id, prediction=None, error=str(e), **stamp))
    answers = _generate_splitting_on_oom(model, processor, family, [r for _, r in ready], cfg, state)
    back = rt.answers_back([(ex, a) for (ex, _), (a, _) in zip(ready, answers, strict=True)]) if rt else []
    for i, ((ex, _), (answer, prompt)) in enumerate(zip(ready, answers, strict=True)):
        meta: dict[str, Any] = {"lang": ex.lang}
        if rt is not None:
            meta["translate_test"] = {**english[ex.id][1], "answer_en": answer, "mt": rt.mt.name}
            answer = back[i]
        rows.append(Prediction(id=ex.id, prediction=answer, prompt=prompt, meta=meta, **stamp))
    return rows


def _round_trip(cfg: PredictConfig) -> RoundTrip | None:
    if not cfg.translate_test:
        return None
    from vlmadapt.predict.translate_test import RoundTrip

    return RoundTrip(cfg.mt, cfg.mt_cache_path(), cfg.mt_phrasebook)


def _generate_splitting_on_oom(
    model: Any,
    processor: Any,
    family: Any,
    requests: list[Request],
    cfg: PredictConfig,
    state: dict[str, int],
) -> list[tuple[str, str]]:
    if cfg.backend == "vllm":  # vLLM schedules and pages memory itself
        answers, prompts = model.generate(requests, cfg.generation)
        return list(zip(answers, prompts, strict=True))
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

    if cfg.backend == "vllm":
        from vlmadapt.predict.vllm_backend import VllmGenerator, check_available

        check_available()
        _check_adapter(cfg.adapter)
        family = FAMILIES[detect_family(cfg.model)]
        return VllmGenerator(cfg.model, family, cfg.adapter, cfg.dtype), None, family
    model, processor = load_model(cfg.model, cfg.family, dtype=cfg.dtype, device=cfg.device)
    family = FAMILIES[detect_family(cfg.model)]
    if cfg.adapter is not None:
        from peft import PeftModel

        _check_adapter(cfg.adapter)
        model = PeftModel.from_pretrained(model, str(cfg.adapter))
    model.eval()
    return model, processor, family


def _check_adapter(adapter: Path | None) -> None:
    if adapter is not None and not (adapter / "adapter_config.json").is_file():
        raise ConfigError(
            f"adapter: {adapter} has no adapter_config.json; pass the directory `vlmadapt train` wrote"
        )
