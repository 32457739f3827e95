"""Benchmarks run end to end on CPU with tiny configs and report the fields their tables need; the real-size
architectures build (on the meta device) with the study's parameter counts; the collator's speed-ups keep
its batches identical."""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vlmadapt.errors import ConfigError

# total parameters of the real checkpoints (transformers 5 classes, untied lm_head)
REAL_PARAMS = {"qwen2_vl": 8_291_375_616, "mllama": 10_670_220_835, "llava_next": 7_566_747_648}


@pytest.mark.parametrize("family", list(REAL_PARAMS))
def test_real_size_models_build_with_the_real_parameter_count(family: str, tmp_path: Path) -> None:
    from vlmadapt.bench.models import bench_model, count_params

    model, processor = bench_model(family, "real", "meta", tmp_path)
    assert count_params(model) == REAL_PARAMS[family]
    assert model.dtype.is_floating_point and str(model.dtype) == "torch.float32"  # "auto" is fp32 off CUDA
    image = processor.tokenizer.convert_tokens_to_ids(processor.image_token)
    assert model.config.image_token_id == image < model.config.get_text_config().vocab_size + 8


def test_real_qwen_processor_gives_flickr_images_their_real_token_count(
    tmp_path: Path, tiny_image: Any
) -> None:
    from vlmadapt.bench.models import bench_processor

    processor = bench_processor("qwen2_vl", "real", tmp_path)
    out = processor.image_processor(images=[tiny_image(width=500, height=375)], return_tensors="pt")
    # 375x500 -> 364x504 (multiples of 28) -> 26x36 patches of 14 px -> 234 tokens after the 2x2 merge
    assert out["image_grid_thw"].tolist() == [[1, 26, 36]]


def test_unknown_size_or_family_is_a_config_error() -> None:
    from vlmadapt.bench.models import check_size

    with pytest.raises(ConfigError, match="choose one of tiny, real"):
        check_size("qwen2_vl", "huge")
    with pytest.raises(ConfigError, match="known: qwen2_vl, mllama, llava_next"):
        check_size("llava", "real")


def test_mfu_is_four_times_params_times_tokens_over_peak() -> None:
    from vlmadapt.bench.machine import mfu

    assert mfu(1_000_000_000, 1000.0, 100.0) == pytest.approx(0.04)
    assert mfu(1_000_000_000, 1000.0, None) is None


def test_collator_batches_are_the_same_with_the_tokens_check_kept(tmp_path: Path) -> None:
    import dataclasses

    import torch

    from vlmadapt.bench.collate import make_collator
    from vlmadapt.bench.data import roqa_examples
    from vlmadapt.bench.models import bench_processor
    from vlmadapt.jsonl import Rejects
    from vlmadapt.train.batches import check_all

    processor = bench_processor("qwen2_vl", "tiny", tmp_path)
    processor.tokenizer.padding_side = "right"
    examples = roqa_examples(6, tmp_path / "data")
    collator = make_collator("qwen2_vl", processor, tmp_path / "data")
    samples = check_all(collator, examples, "t", Rejects(tmp_path / "r.jsonl"), strict=True)
    assert all(isinstance(s.ids, array) and s.text and s.length > 0 for s in samples)
    bare = [dataclasses.replace(s, text=None, ids=None, labels=None) for s in samples]
    kept, fresh = collator([samples]), collator([bare])
    assert kept.keys() == fresh.keys()
    for key in kept:
        assert torch.equal(kept[key], fresh[key]), key
    assert [s.length for s in samples] == kept["attention_mask"].sum(1).tolist()


def test_length_bucketing_keeps_every_sample_and_pads_less(tmp_path: Path) -> None:
    from vlmadapt.train.batches import Sample, group_batches, padding_share

    samples = [Sample({"id": str(i)}, 2, True, length=10 + (i * 37) % 90) for i in range(64)]
    plain = group_batches(samples, 4, seed=1)
    bucketed = group_batches(samples, 4, seed=1, by_length=True)
    ids = sorted(s.record["id"] for b in bucketed for s in b)
    assert ids == sorted(s.record["id"] for s in samples) and all(len(b) == 4 for b in bucketed)
    assert padding_share(bucketed) < padding_share(plain) / 2
    assert padding_share([[Sample({}, 2, True, 5), Sample({}, 2, True, 15)]]) == pytest.approx(1 / 3)


def test_collate_bench_reports_both_collators(tmp_path: Path) -> None:
    from vlmadapt.bench.collate import render, run_collate_bench

    result = run_collate_bench(n=8, batch_size=4, repeats=1, workdir=tmp_path)
    assert result["samples"] == 8 and result["threads"] == 1
    for key in ("ours_samples_per_s", "baseline_samples_per_s", "check_samples_per_s", "ratio"):
        assert result[key] > 0, key
    assert 200 < result["tokens_per_sample"] < 400  # ~234 image tokens + the question and answer
    assert "samples/s/core" in render(result) and "machine:" in render(result)


def test_generate_bench_reports_every_batch_size_against_batch_1(tmp_path: Path) -> None:
    from vlmadapt.bench.generate import render, run_generate_bench

    result = run_generate_bench(batch_sizes=(2,), batches=1, max_new_tokens=2, workdir=tmp_path)
    assert [r["batch_size"] for r in result["rows"]] == [1, 2]
    assert result["rows"][0]["vs_batch_1"] == 1.0
    assert all(r["samples_per_s"] > 0 and r["peak_memory_bytes"] > 0 for r in result["rows"])
    assert "vs batch 1" in render(result)


@pytest.mark.slow  # 15-20 s on 2 shared cores: three trainings
def test_train_bench_runs_both_arms_on_cpu(tmp_path: Path) -> None:
    from vlmadapt.bench.train import render, run_train_bench

    result = run_train_bench(
        steps=3,
        warmup=1,
        batch_size=2,
        arms=("vlmadapt", "baseline"),
        variants=("attn=eager",),
        workdir=tmp_path,
    )
    arms = {r["arm"]: r for r in result["rows"]}
    assert list(arms) == ["vlmadapt", "baseline", "vlmadapt[attn=eager]"]
    assert set(result["ratios"]) == {"baseline", "vlmadapt[attn=eager]"}
    for row in arms.values():
        assert row["step_time_s"] > 0 and row["samples_per_s"] > 0 and row["tokens_per_s"] > 0
        assert row["mfu"] is None and row["memory_measure"].startswith("peak RSS")
        assert 0 < row["trainable_params"] < row["params"]
    # the language model's linear layers only, in both arms (the baseline freezes the vision tower)
    assert arms["vlmadapt"]["trainable_params"] == 2 * 16 * (4 * 64 + 64 + 32 + 32 + 64 + 3 * 192)
    assert result["ratio"] == pytest.approx(
        arms["vlmadapt"]["samples_per_s"] / arms["baseline"]["samples_per_s"]
    )
    assert 0 <= result["padding_share"]["bucketed"] <= result["padding_share"]["unbucketed"] < 1
    assert "vlmadapt / baseline" in render(result)


def test_train_bench_runs_trl_when_it_is_installed(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    from vlmadapt.bench.train import run_train_bench

    result = run_train_bench(steps=2, warmup=1, batch_size=2, arms=("trl",), workdir=tmp_path)
    (row,) = result["rows"]
    assert row["arm"] == "trl" and row["samples_per_s"] > 0 and row["trainable_params"] > 0
    assert result["ratios"] == {}  # no vlmadapt arm to compare with


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("attn=eager", {"attn": "eager"}),
        ("attn=default", {"attn": None}),
        ("workers=4", {"workers": 4}),
        ("optim=adamw_torch", {"optim": "adamw_torch"}),
        ("group_by_length=False", {"group_by_length": False}),
        ("gradient_checkpointing=true", {"gradient_checkpointing": True}),
    ],
)
def test_variants_parse_into_settings(text: str, expected: dict[str, Any]) -> None:
    from vlmadapt.bench.train import parse_variant

    assert parse_variant(text) == expected


@pytest.mark.parametrize("text", ["lr=1", "workers=many", "gradient_checkpointing=yes", "attn"])
def test_a_bad_variant_is_a_config_error(text: str) -> None:
    from vlmadapt.bench.train import parse_variant

    with pytest.raises(ConfigError, match="--variant"):
        parse_variant(text)


def test_train_bench_refuses_a_warmup_that_leaves_no_steps(tmp_path: Path) -> None:
    from vlmadapt.bench.train import run_train_bench

    with pytest.raises(ConfigError, match="--warmup 3"):
        run_train_bench(steps=3, warmup=3, workdir=tmp_path)


def test_cli_bench_collate_writes_json(
    cli: Callable[[list[str]], tuple[int, str, str]], tmp_path: Path
) -> None:
    out = tmp_path / "collate.json"
    code, stdout, _ = cli(
        ["bench", "collate", "--n", "4", "--batch-size", "2", "--repeats", "1", "--json", str(out)]
    )
    assert code == 0, stdout
    assert "ours / baseline" in stdout
    assert json.loads(out.read_text())["bench"] == "collate"
