"""`vlmadapt bench train|generate|collate`: parse options, run the benchmark, print its table (or JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

bench_app = typer.Typer(
    help="Speed and memory benchmarks against a baseline measured in the same run.", no_args_is_help=True
)

Family = Annotated[str, typer.Option(help="VLM family (vlmadapt models list).")]
Size = Annotated[str, typer.Option(help="tiny (test fixture, CPU) or real (the study's size, GPU).")]
Device = Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")]
JsonOut = Annotated[Path | None, typer.Option("--json", help="Also write the result as JSON here.")]


def _emit(result: dict[str, Any], text: str, out: Path | None) -> None:
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2), encoding="utf-8")


@bench_app.command("train")
def train_cmd(
    family: Family = "qwen2_vl",
    size: Size = "tiny",
    device: Device = "cpu",
    steps: Annotated[int, typer.Option(help="Optimizer steps per arm.")] = 6,
    warmup: Annotated[int, typer.Option(help="Steps left out of the timing.")] = 2,
    batch_size: Annotated[int, typer.Option(help="Samples per step.")] = 4,
    gradient_checkpointing: Annotated[
        bool, typer.Option("--gradient-checkpointing/--no-gradient-checkpointing", help="Both arms.")
    ] = False,
    arms: Annotated[
        str, typer.Option(help="Comma-separated: vlmadapt, baseline, trl (default: all, trl when installed).")
    ] = "",
    group_by_length: Annotated[
        bool, typer.Option("--group-by-length/--no-group-by-length", help="vlmadapt's length bucketing.")
    ] = True,
    workers: Annotated[int, typer.Option(help="vlmadapt's DataLoader workers (data.num_workers).")] = 0,
    attn: Annotated[str | None, typer.Option(help="Attention: sdpa, eager, flash_attention_2.")] = None,
    peak_tflops: Annotated[
        float | None, typer.Option(help="Peak bf16 TFLOP/s for MFU (default: known GPUs; n/a on CPU).")
    ] = None,
    repeats: Annotated[int, typer.Option(help="Runs per arm, alternating; the fastest counts.")] = 1,
    variant: Annotated[
        list[str] | None,
        typer.Option(
            help="Extra vlmadapt arm with one setting changed, KEY=VALUE (attn, optim, workers, "
            "group_by_length, gradient_checkpointing); repeatable."
        ),
    ] = None,
    json_out: JsonOut = None,
) -> None:
    """Training step time, samples/s, tokens/s, MFU and peak memory: vlmadapt against a plain Trainer."""
    from vlmadapt.bench.train import render, run_train_bench

    result = run_train_bench(
        family=family,
        size=size,
        device=device,
        steps=steps,
        warmup=warmup,
        batch_size=batch_size,
        gradient_checkpointing=gradient_checkpointing,
        arms=tuple(a.strip() for a in arms.split(",") if a.strip()) or None,
        group_by_length=group_by_length,
        workers=workers,
        attn=attn,
        peak=peak_tflops,
        repeats=repeats,
        variants=tuple(variant or ()),
    )
    _emit(result, render(result), json_out)


@bench_app.command("generate")
def generate_cmd(
    family: Family = "qwen2_vl",
    size: Size = "tiny",
    device: Device = "cpu",
    batch_sizes: Annotated[str, typer.Option(help="Comma-separated batch sizes.")] = "1,2,4,8,16,32,64",
    batches: Annotated[int, typer.Option(help="Batches timed per batch size.")] = 2,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens generated per sample.")] = 16,
    backend: Annotated[
        str, typer.Option(help="transformers or vllm (CUDA, when installed).")
    ] = "transformers",
    repeats: Annotated[int, typer.Option(help="Timings per batch size, taking turns; the best counts.")] = 1,
    json_out: JsonOut = None,
) -> None:
    """Prediction samples/s at each batch size, against batch size 1."""
    from vlmadapt.bench.generate import render, run_generate_bench
    from vlmadapt.errors import ConfigError

    try:
        sizes = tuple(int(b) for b in batch_sizes.split(",") if b.strip())
    except ValueError:
        raise ConfigError(f"--batch-sizes {batch_sizes!r}: give integers separated by commas") from None
    result = run_generate_bench(
        family=family,
        size=size,
        device=device,
        batch_sizes=sizes,
        batches=batches,
        max_new_tokens=max_new_tokens,
        backend=backend,
        repeats=repeats,
    )
    _emit(result, render(result), json_out)


@bench_app.command("collate")
def collate_cmd(
    family: Family = "qwen2_vl",
    size: Annotated[str, typer.Option(help="Image processor settings: real (default) or tiny.")] = "real",
    n: Annotated[int, typer.Option(help="Samples.")] = 64,
    batch_size: Annotated[int, typer.Option(help="Samples per batch.")] = 16,
    repeats: Annotated[int, typer.Option(help="Passes; the best counts.")] = 3,
    json_out: JsonOut = None,
) -> None:
    """Training-batch preparation, samples/s per core: vlmadapt's collator against a per-sample loop."""
    from vlmadapt.bench.collate import render, run_collate_bench

    result = run_collate_bench(family=family, size=size, n=n, batch_size=batch_size, repeats=repeats)
    _emit(result, render(result), json_out)
