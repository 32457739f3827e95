"""Generation throughput: the predict stage's batched generation at batch sizes 1 to 64.

Runs the predict stage's own pieces (`to_request`, `generate_batch`; vLLM's `VllmGenerator` when vllm is
importable, on CUDA, with `backend="vllm"`) over RoQA-shaped examples (`bench.data`). End-of-sequence is
switched off so every sample generates exactly `max_new_tokens` tokens (random weights would otherwise stop
at random places), greedy. Image decoding is outside the timed part; one warm-up batch runs first. Each
batch size runs `batches` batches; the baseline is batch size 1, measured in the same run.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from vlmadapt.bench.machine import describe, machine_line, peak_memory, reset_peak_memory, synchronize
from vlmadapt.errors import ConfigError

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64)
BACKENDS = ("transformers", "vllm")


def run_generate_bench(
    family: str = "qwen2_vl",
    size: str = "tiny",
    device: str = "cpu",
    batch_sizes: tuple[int, ...] = BATCH_SIZES,
    batches: int = 2,
    max_new_tokens: int = 16,
    backend: str = "transformers",
    repeats: int = 1,
    workdir: Path | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Samples/s and generated tokens/s per batch size, each against batch size 1 (the best of `repeats`
    timings of each size; the sizes take turns, so a busy minute on a shared machine hits all alike)."""
    from vlmadapt.bench.models import check_size

    check_size(family, size)
    if backend not in BACKENDS:
        raise ConfigError(f"--backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if not batch_sizes or min(batch_sizes) < 1 or batches < 1 or repeats < 1:
        raise ConfigError("batch sizes, --batches and --repeats must be at least 1")
    sizes = tuple(sorted(set(batch_sizes) | {1}))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(workdir or tmp)
        rows = _measure(family, size, device, sizes, batches, max_new_tokens, backend, repeats, root, seed)
    base = rows[0]["samples_per_s"]
    for row in rows:
        row["vs_batch_1"] = row["samples_per_s"] / base
    return {
        "bench": "generate",
        "family": family,
        "size": size,
        "device": device,
        "backend": backend,
        "max_new_tokens": max_new_tokens,
        "batches": batches,
        "repeats": repeats,
        "rows": rows,
        "machine": describe(device),
    }


def _measure(
    family: str,
    size: str,
    device: str,
    sizes: tuple[int, ...],
    batches: int,
    max_new_tokens: int,
    backend: str,
    repeats: int,
    root: Path,
    seed: int,
) -> list[dict[str, Any]]:
    from vlmadapt.bench.data import roqa_examples
    from vlmadapt.models import get_family
    from vlmadapt.predict.generate import GenerationConfig
    from vlmadapt.predict.run import to_request
    from vlmadapt.prompts import PromptConfig

    examples = roqa_examples(max(sizes) * batches, root / "data", seed)
    requests = [to_request(ex, root / "data", PromptConfig()) for ex in examples]  # images decoded here
    gen = GenerationConfig(max_new_tokens=max_new_tokens)
    generate = _generator(family, size, device, backend, root)
    fam = get_family(family)
    generate(fam, requests[:1], gen)  # warm-up
    best = dict.fromkeys(sizes, float("inf"))
    memory: dict[int, tuple[int, str]] = {}
    for _ in range(repeats):
        for b in sizes:
            reset_peak_memory(device)
            synchronize(device)
            start = time.perf_counter()
            for i in range(batches):
                generate(fam, requests[i * b : (i + 1) * b], gen)
            synchronize(device)
            best[b] = min(best[b], time.perf_counter() - start)
            memory[b] = peak_memory(device)
    return [
        {
            "batch_size": b,
            "samples_per_s": b * batches / best[b],
            "new_tokens_per_s": b * batches * max_new_tokens / best[b],
            "peak_memory_bytes": memory[b][0],
            "memory_measure": memory[b][1],
        }
        for b in sizes
    ]


def _generator(family: str, size: str, device: str, backend: str, root: Path) -> Any:
    """A function (family, requests, gen) -> answers for the backend."""
    if backend == "vllm":
        return _vllm_generator(family, size, device, root)
    from vlmadapt.bench.models import bench_model
    from vlmadapt.predict.generate import generate_batch

    model, processor = bench_model(family, size, device, root)
    model.eval()
    model.generation_config.eos_token_id = None  # exactly max_new_tokens per sample

    def generate(fam: Any, requests: list[Any], gen: Any) -> Any:
        return generate_batch(model, processor, fam, requests, gen)

    return generate


def _vllm_generator(family: str, size: str, device: str, root: Path) -> Any:
    """vLLM needs a checkpoint on disk: the random model is saved once under `root` (15-22 GB real-size)."""
    from vlmadapt.bench.models import bench_model
    from vlmadapt.models import get_family
    from vlmadapt.predict.vllm_backend import VllmGenerator, check_available

    check_available()
    if not device.startswith("cuda"):
        raise ConfigError("--backend vllm needs --device cuda")
    model, processor = bench_model(family, size, device, root)
    model.generation_config.eos_token_id = None
    path = root / "vllm-model"
    model.save_pretrained(path)
    processor.save_pretrained(path)
    del model
    _free()
    engine = VllmGenerator(str(path), get_family(family), dtype="bfloat16")

    def generate(fam: Any, requests: list[Any], gen: Any) -> Any:
        return engine.generate(requests, gen)

    return generate


def _free() -> None:
    import gc

    import torch

    gc.collect()
    torch.cuda.empty_cache()


def render(result: dict[str, Any]) -> str:
    r = result
    lines = [
        f"generate throughput, {r['family']} ({r['size']}) on {r['device']}, backend {r['backend']}, "
        f"{r['max_new_tokens']} new tokens per sample (EOS off), {r['batches']} batches per size, "
        f"best of {r['repeats']}",
        f"{'batch':>5}  {'samples/s':>9}  {'new tok/s':>9}  {'vs batch 1':>10}  {'peak mem':>10}",
    ]
    for row in r["rows"]:
        lines.append(
            f"{row['batch_size']:>5}  {row['samples_per_s']:>9.2f}  {row['new_tokens_per_s']:>9.1f}  "
            f"{row['vs_batch_1']:>9.2f}x  {row['peak_memory_bytes'] / 2**30:>6.2f} GiB"
        )
    lines.append(f"memory: {r['rows'][0]['memory_measure']}")
    lines.append(machine_line(r["machine"]))
    return "\n".join(lines)
