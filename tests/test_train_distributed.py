"""Distributed training: two CPU processes (gloo) under `accelerate launch`; the accelerate configs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "recipes" / "accelerate"


@pytest.mark.slow  # two fresh Python processes importing torch and transformers: ~20 s on 2 cores
def test_two_processes_train_end_to_end(tiny_model: Any, tmp_path: Path) -> None:
    from vlmadapt.data.toy import generate_world

    paths = generate_world(tmp_path / "toy", 3, langs=("ro",))
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(CONFIGS / "ddp.yaml"),
        "--num_processes",
        "2",
        "--main_process_port",
        "29533",
        "-m",
        "vlmadapt.cli",
        "train",
        str(ROOT / "recipes" / "tiny" / "ro-qwen2vl-lora.yaml"),
        f"model.path={tiny_model('qwen2_vl')}",
        f"data.train={paths['ro']}",
        f"output_dir={out}",
        "train.max_steps=2",
        "data.limit=8",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["world_size"] == 2
    assert metrics["train"]["epoch"] == 1.0  # 4 batches: 2 per process, 2 steps
    assert (out / "adapter_model.safetensors").is_file() and (out / "plan.json").is_file()


@pytest.mark.parametrize("name", ["ddp", "deepspeed-zero2", "deepspeed-zero3", "fsdp"])
def test_accelerate_configs_are_valid(name: str) -> None:
    from accelerate.commands.config.config_args import ClusterConfig

    config = ClusterConfig.from_yaml_file(str(CONFIGS / f"{name}.yaml"))
    assert config.num_machines == 1 and config.mixed_precision in (None, "no")
    if name.startswith("deepspeed"):
        ds_file = ROOT / config.deepspeed_config["deepspeed_config_file"]
        ds = json.loads(ds_file.read_text(encoding="utf-8"))
        assert ds["zero_optimization"]["stage"] == int(name[-1])
        assert ds["train_micro_batch_size_per_gpu"] == "auto"  # the Trainer fills these from the recipe
    if name == "fsdp":
        assert config.fsdp_config["fsdp_version"] == 2
