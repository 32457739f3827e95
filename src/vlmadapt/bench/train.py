"""Training throughput: vlmadapt's training path against a plain transformers `Trainer`, in the same run.

Both arms train the same freshly built random model (`bench.models`) on the same RoQA-shaped examples
(`bench.data`) for `steps` optimizer steps, LoRA r = alpha = 16 without dropout, lr 2e-4:

- vlmadapt: the pieces `vlmadapt.train.run.train` runs, minus loading from disk: `lora_targets` inside the
  language model, `prepare_model`, `load_data` (check, answer-only labels, batches, optional length
  bucketing), `training_args` (bf16 on GPU, fused AdamW on CUDA, DataLoader workers) and `build_trainer`.
- baseline: what a first script does: PEFT `target_modules="all-linear"` with the vision tower frozen by
  hand, `TrainingArguments` defaults (bf16 on GPU), a collator that calls the processor on the batch and
  supervises every non-padding token.
- trl (when trl is installed): the same PEFT model in TRL's `SFTTrainer` with its vision-language collator
  on a prompt-completion dataset (completion-only loss), `SFTConfig` defaults except the ones both other
  arms share (steps, batch, lr, bf16, gradient checkpointing, no truncation: it would cut image tokens).

Timing is wall time between optimizer steps (data loading included), after `warmup` steps. Tokens are
the batches' non-padding tokens (the Trainer's `include_num_input_tokens_seen="non_padding"`).
"""

from __future__ import annotations

import dataclasses
import gc
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmadapt.bench.machine import (
    describe,
    machine_line,
    mfu,
    peak_memory,
    peak_tflops,
    reset_peak_memory,
    synchronize,
)
from vlmadapt.errors import ConfigError

ARMS = ("vlmadapt", "baseline", "trl")


def default_arms() -> tuple[str, ...]:
    """vlmadapt and the plain Trainer; TRL's SFTTrainer too when trl is installed."""
    import importlib.util

    return ARMS if importlib.util.find_spec("trl") is not None else ARMS[:2]


LORA = {"r": 16, "alpha": 16, "dropout": 0.0}  # the Romanian study's adapters


@dataclass
class Setup:
    """What both arms share."""

    family: str
    size: str
    device: str
    steps: int
    warmup: int
    batch_size: int
    gradient_checkpointing: bool
    workdir: Path
    data: Path  # the examples as JSONL; images under data.parent
    seed: int = 0


def run_train_bench(
    family: str = "qwen2_vl",
    size: str = "tiny",
    device: str = "cpu",
    steps: int = 6,
    warmup: int = 2,
    batch_size: int = 4,
    gradient_checkpointing: bool = False,
    arms: tuple[str, ...] | None = None,
    group_by_length: bool = True,
    workers: int = 0,
    attn: str | None = None,
    peak: float | None = None,
    repeats: int = 1,
    variants: tuple[str, ...] = (),
    workdir: Path | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """One row per arm (step time, samples/s, tokens/s, MFU, peak memory) and vlmadapt / each other arm.

    With `repeats` > 1 each arm trains that many times, in alternating order, and its fastest run counts
    (for shared CPUs, whose load changes from one minute to the next). Each of `variants` ("KEY=VALUE",
    KEY one of `VARIANT_KEYS`) adds an arm "vlmadapt[KEY=VALUE]": vlmadapt with that one setting changed,
    so a speed change is measured against vlmadapt in the same run."""
    from vlmadapt.bench.models import check_size

    check_size(family, size)
    arms = arms or default_arms()
    if repeats < 1:
        raise ConfigError(f"--repeats {repeats}: must be at least 1")
    if not 0 <= warmup < steps:
        raise ConfigError(f"--warmup {warmup}: must be at least 0 and below --steps {steps}")
    unknown = set(arms) - set(ARMS)
    if unknown:
        raise ConfigError(f"unknown arm(s) {sorted(unknown)}; known: {', '.join(ARMS)}")
    ours = {"group_by_length": group_by_length, "workers": workers, "attn": attn}
    settings = {f"vlmadapt[{v}]": {**ours, **parse_variant(v)} for v in variants}
    if "vlmadapt" in arms:
        settings["vlmadapt"] = ours
    arms = (*arms, *(f"vlmadapt[{v}]" for v in variants))
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: no CUDA device here; use --device cpu")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(workdir or tmp)
        setup = Setup(family, size, device, steps, warmup, batch_size, gradient_checkpointing, root,
                      _write_data(root, batch_size * steps, seed), seed)  # fmt: skip
        best: dict[str, dict[str, Any]] = {}
        for i in range(repeats):  # the order alternates, so neither arm is always the first to run
            for arm in arms if i % 2 == 0 else arms[::-1]:
                try:
                    if arm in settings:
                        row = {**_ours(setup, peak=peak, **settings[arm]), "arm": arm}
                    else:
                        row = _baseline(setup, attn, peak, trl=arm == "trl")
                except _out_of_memory() as e:  # a row that says so; the other arm still runs
                    row = {"arm": arm, "error": f"out of memory: {str(e).splitlines()[0]}"}
                _release(device)
                if arm not in best or row.get("step_time_s", 1e30) < best[arm].get("step_time_s", 1e30):
                    best[arm] = row
        rows = [best[arm] for arm in arms]
        padding = _padding(setup)
    by_arm = {r["arm"]: r for r in rows if "error" not in r}
    mine = by_arm.get("vlmadapt")
    ratios = {
        arm: mine["samples_per_s"] / row["samples_per_s"]
        for arm, row in by_arm.items()
        if mine is not None and arm != "vlmadapt"
    }
    return {
        "bench": "train",
        "family": family,
        "size": size,
        "device": device,
        "steps": steps,
        "warmup": warmup,
        "batch_size": batch_size,
        "gradient_checkpointing": gradient_checkpointing,
        "group_by_length": group_by_length,
        "workers": workers,
        "repeats": repeats,
        "rows": rows,
        "ratio": ratios.get("baseline"),  # vlmadapt / plain Trainer, samples/s
        "ratios": ratios,  # vlmadapt / each other arm
        "padding_share": padding,
        "peak_tflops": peak_tflops(device, peak),
        "machine": describe(device),
    }


VARIANT_KEYS = ("attn", "workers", "group_by_length", "gradient_checkpointing", "optim")


def parse_variant(text: str) -> dict[str, Any]:
    """KEY=VALUE -> {KEY: value}: attn (a name or "default"), optim (a transformers optimizer name),
    workers (an integer), group_by_length and gradient_checkpointing (true/false)."""
    key, sep, value = text.partition("=")
    if not sep or key not in VARIANT_KEYS:
        raise ConfigError(f"--variant {text!r}: give KEY=VALUE with KEY one of {', '.join(VARIANT_KEYS)}")
    if key == "attn":
        return {key: None if value == "default" else value}
    if key == "optim":
        return {key: value}
    if key == "workers":
        if not value.isdigit():
            raise ConfigError(f"--variant {text!r}: workers is a number")
        return {key: int(value)}
    if value.lower() not in ("true", "false"):
        raise ConfigError(f"--variant {text!r}: {key} is true or false")
    return {key: value.lower() == "true"}


def _write_data(root: Path, n: int, seed: int) -> Path:
    from vlmadapt.bench.data import roqa_examples
    from vlmadapt.jsonl import write_jsonl

    return write_jsonl(root / "data" / "train.jsonl", roqa_examples(n, root / "data", seed))


def _config(s: Setup, group_by_length: bool, workers: int, attn: str | None, optim: str) -> Any:
    from vlmadapt.train.config import TrainConfig

    return TrainConfig.model_validate(
        {
            "output_dir": str(s.workdir / "vlmadapt"),
            "model": {"path": str(s.workdir), "attn_implementation": attn},
            "data": {
                "train": str(s.data),
                "max_length": 8192,
                "num_workers": workers,
                "group_by_length": group_by_length,
            },
            "lora": {**LORA, "groups": ["language_model"]},
            "train": {
                "max_steps": s.steps,
                "batch_size": s.batch_size,
                "gradient_checkpointing": s.gradient_checkpointing,
                "logging_steps": s.steps,
                "tensorboard": False,
                "resume": False,
                "seed": s.seed,
                "optim": optim,
            },
        }
    )


def _ours(
    s: Setup,
    group_by_length: bool,
    workers: int,
    attn: str | None,
    peak: float | None,
    gradient_checkpointing: bool | None = None,
    optim: str = "auto",
) -> dict:
    from vlmadapt.bench.models import bench_model, count_params
    from vlmadapt.models import get_family
    from vlmadapt.train.plan import lora_targets, prepare_model
    from vlmadapt.train.run import load_data, resolve_precision, set_attention
    from vlmadapt.train.trainer import build_trainer, training_args

    if gradient_checkpointing is not None:
        s = dataclasses.replace(s, gradient_checkpointing=gradient_checkpointing)
    cfg = _config(s, group_by_length, workers, attn, optim)
    family = get_family(s.family)
    layout = family.layout()
    reset_peak_memory(s.device)
    model, processor = bench_model(s.family, s.size, s.device, s.workdir)
    model = set_attention(model, attn)
    params = count_params(model)
    processor.tokenizer.padding_side = "right"  # as run.load_processor
    data = load_data(cfg, family, processor)
    targets = lora_targets(model, layout, ["language_model"])
    model = prepare_model(model, layout, cfg.lora.model_dump() if cfg.lora else None, [], targets)
    args = training_args(cfg, resolve_precision("auto"), has_eval=False)
    args.include_num_input_tokens_seen = "non_padding"
    timer = step_timer(s.device)
    trainer = build_trainer(cfg, args, model, processor, data, layout, [timer])
    trainer.train()
    return _row("vlmadapt", s, timer, params, _trainable(model), peak)


def _baseline(s: Setup, attn: str | None, peak: float | None, trl: bool = False) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainingArguments

    from vlmadapt.bench.models import bench_model, count_params
    from vlmadapt.jsonl import read_records
    from vlmadapt.models import get_family
    from vlmadapt.records import Example

    family = get_family(s.family)
    reset_peak_memory(s.device)
    model, processor = bench_model(s.family, s.size, s.device, s.workdir, attn=attn)
    params = count_params(model)
    config = LoraConfig(r=16, lora_alpha=16, lora_dropout=0.0, target_modules="all-linear")
    model = get_peft_model(model, config)
    for name, p in model.named_parameters():  # "all-linear" adapts the vision tower too: freeze it by hand
        if name.startswith(f"base_model.model.{family.vision[0]}."):
            p.requires_grad_(False)
    if trl:
        return _trl(s, model, processor, params, peak)
    cuda = s.device.startswith("cuda")
    args = TrainingArguments(
        output_dir=str(s.workdir / "baseline"),
        per_device_train_batch_size=s.batch_size,
        max_steps=s.steps,
        learning_rate=2e-4,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        activation_checkpointing=s.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if s.gradient_checkpointing else None,
        remove_unused_columns=False,
        report_to="none",
        save_strategy="no",
        logging_steps=s.steps,
        disable_tqdm=True,
        use_cpu=not cuda,
        seed=s.seed,
        include_num_input_tokens_seen="non_padding",
    )
    rows = [ex.model_dump(mode="json") for ex in read_records(s.data, Example)]
    timer = step_timer(s.device)
    collator = PlainCollator(processor, family, s.data.parent)
    trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collator, callbacks=[timer])
    trainer.train()
    return _row("baseline", s, timer, params, _trainable(model), peak)


def _trl(s: Setup, model: Any, processor: Any, params: int, peak: float | None) -> dict:
    import datasets
    import torch
    from trl import SFTConfig, SFTTrainer

    from vlmadapt.jsonl import read_records
    from vlmadapt.records import Example

    rows = [
        {
            "images": [str(s.data.parent / ex.image)],
            "prompt": [
                {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": ex.question}]}
            ],
            "completion": [{"role": "assistant", "content": [{"type": "text", "text": ex.answers[0]}]}],
        }
        for ex in read_records(s.data, Example)
        if ex.image and ex.question
    ]
    cuda = s.device.startswith("cuda")
    args = SFTConfig(
        output_dir=str(s.workdir / "trl"),
        per_device_train_batch_size=s.batch_size,
        max_steps=s.steps,
        learning_rate=2e-4,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        gradient_checkpointing=s.gradient_checkpointing,
        max_length=None,
        report_to="none",
        save_strategy="no",
        logging_steps=s.steps,
        disable_tqdm=True,
        use_cpu=not cuda,
        seed=s.seed,
        include_num_input_tokens_seen="non_padding",
    )
    timer = step_timer(s.device)
    trainer = SFTTrainer(
        model=model,
        args=args,
        # images decode when a batch is built, as in the other arms
        train_dataset=datasets.Dataset.from_list(rows).cast_column("images", datasets.List(datasets.Image())),
        processing_class=processor,
        callbacks=[timer],
    )
    trainer.train()
    return _row("trl", s, timer, params, _trainable(model), peak)


@dataclass
class PlainCollator:
    """The baseline's collator: the chat template, the processor on the whole batch, labels = ids."""

    processor: Any
    family: Any
    image_root: Path

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        from PIL import Image

        texts, images = [], []
        for r in rows:
            messages = [
                {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": r["question"]}]},
                {"role": "assistant", "content": [{"type": "text", "text": r["answers"][0]}]},
            ]
            texts.append(self.processor.apply_chat_template(messages, tokenize=False))
            with Image.open(self.image_root / r["image"]) as im:
                images.append(im.convert("RGB"))
        nested = [[im] for im in images] if self.family.nested_images else images
        batch = self.processor(text=texts, images=nested, padding=True, return_tensors="pt")
        labels = batch["input_ids"].clone()
        labels[batch["attention_mask"] == 0] = -100
        labels[labels == self.processor.tokenizer.convert_tokens_to_ids(self.family.image_token)] = -100
        batch["labels"] = labels
        return dict(batch)


def step_timer(device: str) -> Any:
    """A TrainerCallback recording the wall time and tokens seen at the end of every optimizer step."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []
            self.tokens: list[int] = []

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            synchronize(device)
            self.times, self.tokens = [time.perf_counter()], [0]

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            synchronize(device)
            self.times.append(time.perf_counter())
            self.tokens.append(int(state.num_input_tokens_seen))

    return StepTimer()


def _row(arm: str, s: Setup, timer: Any, params: int, trainable: int, peak: float | None) -> dict:
    measured = len(timer.times) - 1 - s.warmup  # steps after warm-up
    if measured < 1:
        raise ConfigError(f"{arm}: only {len(timer.times) - 1} steps ran; raise --steps")
    elapsed = timer.times[-1] - timer.times[s.warmup]
    tokens = timer.tokens[-1] - timer.tokens[s.warmup]
    memory, kind = peak_memory(s.device)
    tokens_per_s = tokens / elapsed
    return {
        "arm": arm,
        "step_time_s": elapsed / measured,
        "samples_per_s": s.batch_size * measured / elapsed,
        "tokens_per_s": tokens_per_s,
        "tokens_per_step": tokens / measured,
        "mfu": mfu(params, tokens_per_s, peak_tflops(s.device, peak)),
        "peak_memory_bytes": memory,
        "memory_measure": kind,
        "params": params,
        "trainable_params": trainable,
    }


def _trainable(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _padding(s: Setup) -> dict[str, float]:
    """Padding share of vlmadapt's batches of this data, with and without length bucketing."""
    from vlmadapt.bench.collate import make_collator
    from vlmadapt.bench.models import bench_processor
    from vlmadapt.jsonl import Rejects, read_records
    from vlmadapt.train.batches import check_all, group_batches, padding_share

    processor = bench_processor(s.family, s.size, s.workdir)
    collator = make_collator(s.family, processor, s.data.parent, max_length=8192)
    samples = check_all(collator, read_records(s.data), "bench", Rejects(s.workdir / "r.jsonl"), True)
    return {
        "bucketed": padding_share(group_batches(samples, s.batch_size, s.seed, by_length=True)),
        "unbucketed": padding_share(group_batches(samples, s.batch_size, s.seed, by_length=False)),
    }


def _out_of_memory() -> type[Exception]:
    import torch

    return torch.cuda.OutOfMemoryError


def _release(device: str) -> None:
    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


def render(result: dict[str, Any]) -> str:
    r = result
    gcp = "on" if r["gradient_checkpointing"] else "off"
    w = max(len(row["arm"]) for row in r["rows"])
    lines = [
        f"train throughput, {r['family']} ({r['size']}) on {r['device']}, batch {r['batch_size']}, "
        f"{r['steps']} steps ({r['warmup']} warm-up), gradient checkpointing {gcp}, LoRA r=alpha=16, "
        f"best of {r['repeats']}",
        f"{'arm':>{w}}  {'step s':>8}  {'samples/s':>9}  {'tokens/s':>9}  {'MFU':>6}  {'peak mem':>10}"
        "  trainable",
    ]
    for row in r["rows"]:
        if "error" in row:
            lines.append(f"{row['arm']:>{w}}  {row['error']}")
            continue
        mfu_text = f"{100 * row['mfu']:5.1f}%" if row["mfu"] is not None else "   n/a"
        lines.append(
            f"{row['arm']:>{w}}  {row['step_time_s']:>8.3f}  {row['samples_per_s']:>9.2f}  "
            f"{row['tokens_per_s']:>9.0f}  {mfu_text}  {row['peak_memory_bytes'] / 2**30:>6.2f} GiB  "
            f"{row['trainable_params']:,}"
        )
    for arm, ratio in r["ratios"].items():
        lines.append(f"vlmadapt / {arm} samples/s: {ratio:.2f}x")
    pad = r["padding_share"]
    lines.append(
        f"padding share of vlmadapt's batches: {100 * pad['unbucketed']:.1f}% unbucketed, "
        f"{100 * pad['bucketed']:.1f}% with length bucketing "
        f"(ran with group_by_length={r['group_by_length']})"
    )
    memory = next((row["memory_measure"] for row in r["rows"] if "error" not in row), "")
    lines.append(
        "MFU = 4 x params x tokens/s / peak (LoRA: forward + activation gradients); "
        f"peak {r['peak_tflops'] or 'n/a'} TFLOP/s; memory: {memory}"
    )
    lines.append(machine_line(r["machine"]))
    return "\n".join(lines)
