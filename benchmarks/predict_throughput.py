"""Prediction throughput (samples/s) of the transformers backend at batch sizes 1, 8 and 32.

Runs the predict stage's own pieces (`to_request`, `batches`, `generate_batch`) on the tiny Qwen2-VL
fixture (built with `vlmadapt.models.build_tiny` into a temporary folder) and toy-world examples with
images, on CPU, greedy with a fixed `max_new_tokens`. Model loading and image decoding are outside the
timed part; one warm-up batch runs first. Prints samples/s per batch size, the ratio against batch size 1
measured in the same run, and the machine.

    .venv/bin/python benchmarks/predict_throughput.py [--n 64] [--max-new-tokens 16] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from vlmadapt.data.toy import generate_world
from vlmadapt.jsonl import read_records
from vlmadapt.models import FAMILIES, build_tiny, load_model
from vlmadapt.predict.generate import GenerationConfig, generate_batch
from vlmadapt.predict.run import batches, to_request
from vlmadapt.prompts import PromptConfig
from vlmadapt.records import Example

BATCH_SIZES = (1, 8, 32)


def samples_per_second(
    model: Any,
    processor: Any,
    family: Any,
    examples: list[Example],
    root: Path,
    size: int,
    gen: GenerationConfig,
    repeats: int,
) -> float:
    """Best of `repeats` passes over `examples` in batches of `size`."""
    requests = {ex.id: to_request(ex, root, PromptConfig()) for ex in examples}
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in batches(examples, size):
            generate_batch(model, processor, family, [requests[ex.id] for ex in batch], gen)
        best = min(best, time.perf_counter() - start)
    return len(examples) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64, help="examples (all with an image)")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny("qwen2_vl", Path(tmp) / "tiny", seed=0)
        data = generate_world(Path(tmp) / "world", n_images=max(8, args.n // 4), seed=0, langs=("ro",))["ro"]
        examples = [ex for ex in read_records(data, Example) if ex.image][: args.n]
        model, processor = load_model(model_dir, device="cpu")
        model.eval()
        family = FAMILIES["qwen2_vl"]
        gen = GenerationConfig(max_new_tokens=args.max_new_tokens)
        samples_per_second(model, processor, family, examples[:8], data.parent, 8, gen, 1)  # warm-up
        rates = {
            size: samples_per_second(model, processor, family, examples, data.parent, size, gen, args.repeats)
            for size in BATCH_SIZES
        }

    print(
        f"predict throughput, tiny qwen2_vl on CPU, {len(examples)} examples with images, "
        f"max_new_tokens={args.max_new_tokens}, best of {args.repeats}"
    )
    print(f"{'batch size':>10}  {'samples/s':>10}  {'vs batch 1':>10}")
    for size, rate in rates.items():
        print(f"{size:>10}  {rate:>10.1f}  {rate / rates[1]:>9.2f}x")
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
