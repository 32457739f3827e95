"""The train stage: `run(config) -> Path`, a straight-line recipe around transformers `Trainer` + PEFT.

    check the config -> (assemble) -> family, LoRA targets on a meta-device copy -> processor -> check the
    examples -> load the weights -> adapters -> plan -> Trainer.train (resumable) -> save

Everything a user can get wrong (keys, family, module names, data files) is checked before any weights
load. `accelerate launch` runs the same function in every process (DDP, DeepSpeed, FSDP); the Trainer
does the distribution, and only the main process writes the extra files.

The output directory holds the adapter (adapter_config.json, adapter_model.safetensors) or, when no
adapters are trained, the full model; the processor; recipe.yaml (the resolved config); plan.json;
metrics.json; log.txt (the loss history and the libraries' warnings, kept off the console); rejects.jsonl
when examples were rejected; checkpoints/; logs/ (TensorBoard).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmadapt.errors import ConfigError, UnknownNameError, VlmadaptError
from vlmadapt.train.config import OptimSpec, TrainConfig, stage_configs
from vlmadapt.train.plan import Plan

_WIDTH = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def run(cfg: TrainConfig, callbacks: list[Any] | None = None) -> Path:
    """Train as the recipe says; returns the output directory (the last stage's for staged recipes).
    `callbacks` are extra transformers `TrainerCallback`s."""
    stages = stage_configs(cfg)
    if cfg.stages:
        from vlmadapt.train.stages import run_stages

        return run_stages(stages, callbacks)
    return train(cfg, callbacks)


def dry_run(cfg: TrainConfig) -> list[Plan]:
    """The plan and memory estimate of every stage, from config.json files alone (meta device).

    precision "auto" is planned as bf16 (a current GPU); set train.precision to plan for another.
    """
    from vlmadapt.train.plan import lora_targets, prepare_model, quantizable_params

    plans = []
    first = stage_configs(cfg)[0]
    for stage in stage_configs(cfg):
        family = resolve_family(first.model.path, first.model.family, first.assemble is not None)
        layout = family.layout()
        model = _meta_model(first, family.model_class)
        targets = lora_targets(model, layout, stage.lora.groups, stage.lora.modules) if stage.lora else []
        quantized = quantizable_params(model, layout) if stage.model.quantization == "4bit" else 0
        model = prepare_model(model, layout, _lora(stage), stage.trainable, targets)
        precision = "bf16" if stage.train.precision == "auto" else stage.train.precision
        name = stage.name or str(stage.model.path or "assembled")
        plans.append(make_plan(model, layout, name, family.name, stage, targets, precision, quantized))
    return plans


def make_plan(
    model: Any,
    layout: Any,
    name: str,
    family: str,
    cfg: TrainConfig,
    targets: list[str],
    precision: str,
    quantized: int,
) -> Plan:
    """The plan of a prepared model, with its memory estimate."""
    from vlmadapt.train.plan import build_plan, estimate_memory

    plan = build_plan(
        model, layout, name=name, family=family, lora=_lora(cfg), targets=targets, precision=precision
    )
    plan.memory = estimate_memory(plan, cfg.train.optim, quantized)
    return plan


def _meta_model(cfg: TrainConfig, model_class: str) -> Any:
    from vlmadapt.train.plan import meta_model

    if cfg.assemble is not None:
        from vlmadapt.train.stages import assembled_meta_model

        return assembled_meta_model(cfg.assemble)
    return meta_model(str(cfg.model.path), model_class)


def train(cfg: TrainConfig, callbacks: list[Any] | None = None) -> Path:
    """One training run (one stage). Returns `cfg.output_dir`."""
    from transformers import set_seed

    from vlmadapt.console import run_log
    from vlmadapt.train.plan import lora_targets, prepare_model, quantizable_params
    from vlmadapt.train.progress import stop_progress
    from vlmadapt.train.trainer import build_trainer, training_args

    out = cfg.output_dir
    _check_files(cfg)
    precision = resolve_precision(cfg.train.precision)
    if cfg.model.quantization == "4bit":
        from vlmadapt.train.qlora import require_cuda

        require_cuda()
    family = resolve_family(cfg.model.path, cfg.model.family, cfg.assemble is not None)
    layout = family.layout()
    shape = _meta_model(cfg, family.model_class)  # module names and sizes, no weights
    targets = lora_targets(shape, layout, cfg.lora.groups, cfg.lora.modules) if cfg.lora else []
    quantized = quantizable_params(shape, layout) if cfg.model.quantization == "4bit" else 0
    del shape
    # Library warnings and log records go to log.txt beside metrics.json, with the loss history.
    with run_log(out / _log_name()):
        # Built first: it sets up the distributed state (DDP, DeepSpeed, FSDP under `accelerate launch`).
        args = training_args(cfg, precision, has_eval=cfg.data.eval is not None)
        main = args.process_index == 0

        model_path = _model_path(cfg, args)
        processor = load_processor(model_path, family)
        data = load_data(cfg, family, processor)
        model = load_weights(model_path, family, precision, cfg)
        set_seed(cfg.train.seed)  # LoRA's initial A matrices are random
        model = prepare_model(model, layout, _lora(cfg), cfg.trainable, targets)
        plan = make_plan(model, layout, model_path, family.name, cfg, targets, precision, quantized)
        if main:
            _write_start(cfg, plan, data)

        trainer = build_trainer(cfg, args, model, processor, data, layout, callbacks)
        try:
            result = trainer.train(resume_from_checkpoint=resume_point(cfg.train, out / "checkpoints"))
        finally:
            stop_progress(trainer)  # a run stopped by an exception leaves no live display behind
        trainer.save_model(str(out))
        if main:
            _write_metrics(out, result.metrics, trainer.state.log_history, data, args.world_size)
        if cfg.merge and cfg.lora is not None:
            from vlmadapt.train.export import merge

            with args.main_process_first(local=False, desc="merge"):
                if not (out / "merged" / "config.json").is_file():
                    merge(out, out / "merged", base=model_path)
    return out


# -- config checks, done before anything loads --------------------------------------------------------------


def _check_files(cfg: TrainConfig) -> None:
    for key, path in (("data.train", cfg.data.train), ("data.eval", cfg.data.eval)):
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"{key}: no such file: {path}")
    if cfg.data.image_root is not None and not Path(cfg.data.image_root).is_dir():
        raise ConfigError(f"data.image_root: no such folder: {cfg.data.image_root}")


def resolve_family(path: str | None, name: str | None, assembled: bool = False) -> Any:
    """The `vlmadapt.models.Family` of a checkpoint (from config.json) or of the name the recipe gives."""
    from vlmadapt.models import FAMILIES, detect_family, get_family

    try:
        family = get_family(name) if name else FAMILIES["llava"] if assembled else None
    except UnknownNameError as e:
        raise ConfigError(f"model.family: {e}") from None
    if assembled:
        return family
    detected = FAMILIES[detect_family(str(path))]  # also checks that config.json can be read
    if family is not None and family.name != detected.name:
        raise ConfigError(
            f"model.family: {name!r}, but {path} holds a {detected.name!r} model "
            f"(config.json); leave model.family out or set it to {detected.name!r}"
        )
    return detected


def resolve_precision(precision: str) -> str:
    """bf16 on GPUs that support it, fp16 on older GPUs, fp32 on CPU; an explicit choice is kept."""
    import torch

    if precision != "auto":
        return precision
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def resume_point(train: OptimSpec, checkpoints: Path) -> str | None:
    """The checkpoint to resume from: the newest one (resume auto/true), or None."""
    from transformers.trainer_utils import get_last_checkpoint

    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    if train.resume is True and last is None:
        raise ConfigError(f"train.resume: true, but there is no checkpoint under {checkpoints}")
    return last if train.resume else None


def _log_name() -> str:
    """log.txt for the main process; under `accelerate launch` the others write log.rank<N>.txt."""
    rank = os.environ.get("RANK", "0")
    return "log.txt" if rank == "0" else f"log.rank{rank}.txt"


def _lora(cfg: TrainConfig) -> dict[str, Any] | None:
    return cfg.lora.model_dump() if cfg.lora else None


def _model_path(cfg: TrainConfig, args: Any) -> str:
    """The checkpoint to train: the recipe's, or the LLaVA-style model assembled for it (once)."""
    if cfg.assemble is None:
        return str(cfg.model.path)
    from vlmadapt.train.stages import assemble

    dest = Path(cfg.model.path) if cfg.model.path else cfg.output_dir / "base"
    with args.main_process_first(local=False, desc="assemble"):  # the others find it done
        if not (dest / "config.json").is_file():
            assemble(cfg.assemble, dest, seed=cfg.train.seed)
    return str(dest)


# -- loading ----------------------------------------------------------------------------------------------


def load_processor(path: str, family: Any) -> Any:
    import transformers

    processor = getattr(transformers, family.processor_class).from_pretrained(path)
    processor.tokenizer.padding_side = "right"  # labels are aligned to each row's end either way
    return processor


def load_weights(path: str, family: Any, precision: str, cfg: TrainConfig) -> Any:
    """The model in the precision's dtype; with 4-bit quantisation, the language model in NF4."""
    from vlmadapt.models import load_model

    if cfg.model.quantization != "4bit":
        model, _ = load_model(path, family.name, dtype=_WIDTH[precision])
        return set_attention(model, cfg.model.attn_implementation)
    import torch

    from vlmadapt.train import qlora

    compute = torch.float16 if precision == "fp16" else torch.bfloat16
    config = qlora.quantization_config(family.layout(), compute)
    model, _ = load_model(
        path, family.name, dtype=compute, device_map=qlora.device_map(), quantization_config=config
    )
    return qlora.prepare(
        set_attention(model, cfg.model.attn_implementation), cfg.train.gradient_checkpointing
    )


def set_attention(model: Any, implementation: str | None) -> Any:
    """The model with the attention implementation the recipe names (None: transformers' default, SDPA)."""
    if implementation is not None:
        try:
            model.set_attn_implementation(implementation)
        except (ValueError, ImportError) as e:  # unknown name, or flash-attn not installed
            raise ConfigError(f"model.attn_implementation: {e}") from None
    return model


@dataclass
class Data:
    """Checked training (and evaluation) batches, with what was rejected."""

    train: list[Any]
    eval: list[Any] | None
    collator: Any
    counts: dict[str, int]
    rejects: Any


def load_data(cfg: TrainConfig, family: Any, processor: Any) -> Data:
    """Read and check the examples, group them into batches; rejected ones are counted with a reason."""
    from vlmadapt.jsonl import OnError, Rejects, read_records
    from vlmadapt.records import Example
    from vlmadapt.train.batches import Collator, check_all, group_batches, image_kwargs

    d = cfg.data
    if d.system_prompt is not None and not family.system_with_image:
        raise ConfigError(
            f"data.system_prompt: {family.name}'s chat template refuses a system message next "
            "to an image; leave it out"
        )
    kwargs = image_kwargs(processor, family.name, d.min_pixels, d.max_pixels, d.image_kwargs)
    collator = Collator(
        family=family,
        processor=processor,
        image_root=Path(d.image_root or d.train.parent),
        prompts=d.prompts,
        system=d.system_prompt,
        max_length=d.max_length,
        processor_kwargs=kwargs,
    )
    rejects = Rejects(cfg.output_dir / "rejects.jsonl")
    counts: dict[str, int] = {}
    batches: dict[str, list[Any]] = {}
    for split, path in (("train", d.train), ("eval", d.eval)):
        if path is None:
            continue
        on_error: OnError = "raise" if d.strict else "skip"
        before = len(rejects)
        examples: list[Example] = read_records(path, on_error=on_error, rejects=rejects)
        keep = d.split if split == "train" else d.eval_split
        if keep is not None:
            examples = [ex for ex in examples if ex.meta.get("split") == keep]
        if split == "train" and d.limit:
            examples = examples[: d.limit]
        try:
            samples = check_all(collator, examples, str(path), rejects, d.strict, d.num_workers)
        except TypeError as e:  # an image-processor argument it does not take
            raise ConfigError(f"data.image_kwargs: the processor rejected them: {e}") from None
        counts[f"{split}_examples"] = len(samples)
        counts[f"{split}_rejected"] = len(rejects) - before
        if not samples:
            written = rejects.write() if rejects else None  # the reasons must be there to read
            raise VlmadaptError(
                f"{path}: no usable {split} examples ({len(rejects)} rejected; reasons in {written})"
                if written
                else f"{path}: no examples"
            )
        size = cfg.train.batch_size
        if split == "eval":
            size = cfg.train.eval_batch_size or size
        batches[split] = group_batches(samples, size, cfg.train.seed, by_length=d.group_by_length)
    return Data(batches["train"], batches.get("eval"), collator, counts, rejects)


# -- outputs ------------------------------------------------------------------------------------------------


def _write_start(cfg: TrainConfig, plan: Plan, data: Data) -> None:
    """The plan (printed and saved), the resolved recipe with provenance, and the rejects."""
    import yaml
    from rich.console import Console

    from vlmadapt.provenance import provenance
    from vlmadapt.train.plan import render_plan

    out = cfg.output_dir
    out.mkdir(parents=True, exist_ok=True)
    console = Console(stderr=True)
    console.print(render_plan(plan))
    (out / "plan.json").write_text(json.dumps(plan.to_json(), indent=2), encoding="utf-8")
    recipe = cfg.model_dump(mode="json", exclude={"stages"})
    (out / "recipe.yaml").write_text(
        yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    (out / "provenance.json").write_text(json.dumps(provenance(recipe), indent=2), encoding="utf-8")
    path = data.rejects.write()
    if path:
        counts = ", ".join(
            f"{v} {k.replace('_rejected', '')}"
            for k, v in data.counts.items()
            if k.endswith("_rejected") and v
        )
        console.print(f"[yellow]rejected {counts} examples[/]; reasons in {path}", highlight=False)


def _write_metrics(
    out: Path, metrics: dict[str, Any], history: list[dict[str, Any]], data: Data, world_size: int
) -> None:
    payload = {"train": metrics, "data": data.counts, "world_size": world_size, "log_history": history}
    (out / "metrics.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
