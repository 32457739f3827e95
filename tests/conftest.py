"""Shared fixtures: tiny VLMs built once per session, and generated test images.

`tiny_model(family)` returns the directory of that family's tiny random model (real config and processor
classes, locally trained English tokenizer), built on first use and shared by every later test. Treat the
directory as read-only: write adapters, predictions and copies under your own `tmp_path`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A factory: family name -> directory of its tiny model (seed 0), built once per session."""
    built: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in built:
            from vlmadapt.models import build_tiny

            built[family] = build_tiny(family, tmp_path_factory.mktemp(f"tiny_{family}"), seed=0)
        return built[family]

    return get


@pytest.fixture(scope="session")
def tiny_image() -> Callable[..., Any]:
    """A factory: (seed=0, width=64, height=48) -> a deterministic RGB noise image (PIL)."""

    def make(seed: int = 0, width: int = 64, height: int = 48) -> Any:
        import numpy as np
        from PIL import Image

        pixels = np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        return Image.fromarray(pixels)

    return make


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[[list[str]], tuple[int, str, str]]:
    """Run `vlmadapt ARGV` in-process: (exit code, stdout, stderr), exit code 0 when it returns normally."""
    from vlmadapt.cli import main

    def run(argv: list[str]) -> tuple[int, str, str]:
        code = 0
        try:
            main(argv)
        except SystemExit as e:
            code = int(e.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Tiny models train and run faster on one thread than on two cores shared with other jobs."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
