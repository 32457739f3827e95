"""Collation throughput: vlmadapt's training collator against a naive per-sample processor loop.

Both sides turn the same RoQA-shaped examples (`bench.data`) into padded training batches with the family's
processor: decode the JPEG, resize and patchify it, render the chat template, tokenise, label. One thread
(`torch.set_num_threads(1)`), so samples/s is per core; DataLoader workers scale it by their number.

- ours: `vlmadapt.train.batches.Collator` on the batches `group_batches` forms, after `check_all` (the
  one-time check, timed separately), answer-only labels; also timed as it was before the check kept each
  sample's rendered text and tokens ("re-rendering": the template and the tokenizer run again).
- baseline: per sample, `apply_chat_template` + `processor(text=[t], images=[im])`, then right padding of
  ids, mask and labels (all tokens supervised but padding) and concatenation of the pixel tensors.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

from vlmadapt.bench.machine import describe, machine_line
from vlmadapt.errors import ConfigError

# families whose pixel tensors concatenate along the first dimension (patches of all images in a row)
CONCAT_FAMILIES = ("qwen2_vl", "qwen2_5_vl")
TARGET = 50.0  # samples/s per core: 16 per step at ~3 steps/s with 4 workers and room to spare


def run_collate_bench(
    family: str = "qwen2_vl",
    size: str = "real",
    n: int = 64,
    batch_size: int = 16,
    repeats: int = 3,
    workdir: Path | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Samples/s of both collators (best of `repeats` passes), their ratio, and the machine."""
    if family not in CONCAT_FAMILIES:
        raise ConfigError(
            f"collate bench: family {family!r}; the baseline handles {', '.join(CONCAT_FAMILIES)}"
        )
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return _measure(family, size, n, batch_size, repeats, Path(workdir or tmp), seed)
    finally:
        torch.set_num_threads(threads)


def _measure(
    family: str, size: str, n: int, batch_size: int, repeats: int, workdir: Path, seed: int
) -> dict[str, Any]:
    from vlmadapt.bench.data import roqa_examples
    from vlmadapt.bench.models import bench_processor, check_size
    from vlmadapt.jsonl import Rejects
    from vlmadapt.train.batches import check_all, group_batches

    check_size(family, size)
    processor = bench_processor(family, size, workdir)
    processor.tokenizer.padding_side = "right"
    examples = roqa_examples(n, workdir / "data", seed)
    collator = make_collator(family, processor, workdir / "data")
    start = time.perf_counter()
    samples = check_all(collator, examples, "bench", Rejects(workdir / "rejects.jsonl"), strict=True)
    check_s = time.perf_counter() - start
    batches = group_batches(samples, batch_size, seed)
    by_id = {ex.id: ex for ex in examples}
    plain = [[by_id[s.record["id"]] for s in b] for b in batches]
    bare = [[dataclasses.replace(s, text=None, ids=None, labels=None) for s in b] for b in batches]
    arms = {  # interleaved passes, best of `repeats` each: the shared machine's noise hits all alike
        "ours": lambda: [collator([b]) for b in batches],
        "ours_rendering": lambda: [collator([b]) for b in bare],  # before the check kept its tokens
        "baseline": lambda: [naive_collate(processor, family, b, workdir / "data") for b in plain],
    }
    best = dict.fromkeys(arms, float("inf"))
    for _ in range(repeats):
        for name, work in arms.items():
            start = time.perf_counter()
            work()
            best[name] = min(best[name], time.perf_counter() - start)
    tokens = int(collator(batches[:1])["attention_mask"].sum()) / len(batches[0])
    return {
        "bench": "collate",
        "family": family,
        "size": size,
        "samples": len(samples),
        "batch_size": batch_size,
        "tokens_per_sample": round(tokens, 1),
        "check_samples_per_s": len(samples) / check_s,
        "ours_samples_per_s": len(samples) / best["ours"],
        "ours_rendering_samples_per_s": len(samples) / best["ours_rendering"],
        "baseline_samples_per_s": len(samples) / best["baseline"],
        "ratio": best["baseline"] / best["ours"],
        "target_samples_per_s": TARGET,
        "threads": 1,
        "machine": describe("cpu"),
    }


def make_collator(family: str, processor: Any, image_root: Path, max_length: int = 4096) -> Any:
    from vlmadapt.models import get_family
    from vlmadapt.prompts import PromptConfig
    from vlmadapt.train.batches import Collator, image_kwargs

    return Collator(
        family=get_family(family),
        processor=processor,
        image_root=image_root,
        prompts=PromptConfig(),
        system=None,
        max_length=max_length,
        processor_kwargs=image_kwargs(processor, family, None, None, {}),
    )


def naive_collate(processor: Any, family: str, examples: list[Any], image_root: Path) -> dict[str, Any]:
    """The baseline: one processor call per sample, then padding (what a first training script does)."""
    import torch
    from PIL import Image

    rows = []
    for ex in examples:
        messages = [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": ex.question}]},
            {"role": "assistant", "content": [{"type": "text", "text": ex.answers[0]}]},
        ]
        text = processor.apply_chat_template(messages, tokenize=False)
        with Image.open(image_root / ex.image) as im:
            image = im.convert("RGB")
        rows.append(processor(text=[text], images=[image], return_tensors="pt"))
    pad = processor.tokenizer.pad_token_id
    ids = [r["input_ids"][0] for r in rows]
    batch = {
        "input_ids": torch.nn.utils.rnn.pad_sequence(ids, batch_first=True, padding_value=pad),
        "attention_mask": torch.nn.utils.rnn.pad_sequence(
            [r["attention_mask"][0] for r in rows], batch_first=True, padding_value=0
        ),
        "pixel_values": torch.cat([r["pixel_values"] for r in rows]),
        "image_grid_thw": torch.cat([r["image_grid_thw"] for r in rows]),
    }
    labels = batch["input_ids"].clone()
    labels[batch["attention_mask"] == 0] = -100
    batch["labels"] = labels
    return batch


def render(result: dict[str, Any]) -> str:
    r = result
    lines = [
        f"collate throughput, {r['family']} ({r['size']} processor), {r['samples']} RoQA-shaped samples at "
        f"Flickr sizes (~{r['tokens_per_sample']:.0f} tokens each), batch {r['batch_size']}, 1 thread",
        f"{'collator':>22}  {'samples/s/core':>14}",
        f"{'vlmadapt (check, once)':>22}  {r['check_samples_per_s']:>14.1f}",
        f"{'vlmadapt':>22}  {r['ours_samples_per_s']:>14.1f}",
        f"{'vlmadapt, re-rendering':>22}  {r['ours_rendering_samples_per_s']:>14.1f}",
        f"{'baseline (per sample)':>22}  {r['baseline_samples_per_s']:>14.1f}",
        f"ours / baseline: {r['ratio']:.2f}x (target >= {r['target_samples_per_s']:.0f} samples/s/core: "
        f"{'met' if r['ours_samples_per_s'] >= r['target_samples_per_s'] else 'NOT met'})",
        machine_line(r["machine"]),
    ]
    return "\n".join(lines)
