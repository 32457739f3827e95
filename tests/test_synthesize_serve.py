"""Synthesis with a real transformers chat model: in-process (causal backend) and behind `transformers serve`.

A tiny Llama with a locally trained tokenizer learns, in a few seconds, to answer the synthesis prompt
of two images with their JSON; it is saved with `save_pretrained` and served by `transformers serve`,
the OpenAI-compatible server a user would start, so the whole stage runs on real generation and HTTP.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vlmadapt.jsonl import iter_jsonl, write_jsonl
from vlmadapt.records import Example
from vlmadapt.synthesize import SynthesizeConfig, run
from vlmadapt.synthesize.prompts import generation_message
from vlmadapt.translate.backends import chat_messages
from vlmadapt.translate.tiny import build_tiny_causal

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one thread for tiny models

IMAGES = {
    "beach.jpg": ["Un câine aleargă pe plajă.", "Câinele prinde o minge."],
    "sofa.jpg": ["O pisică doarme pe o canapea."],
}
REPLIES = {
    "beach.jpg": {
        "objects": ["un câine", "o minge"],
        "qa": [{"question": "Unde aleargă câinele?", "answer": "Pe plajă."}],
    },
    "sofa.jpg": {
        "objects": ["o pisică", "o canapea"],
        "qa": [{"question": "Unde doarme pisica?", "answer": "Pe canapea."}],
    },
}
EXPECTED = [
    ("beach-qa-0", "Unde aleargă câinele?", "Pe plajă."),
    ("beach-yes-0", "Există o minge în imagine?", "da"),
    ("beach-no-0", "Există o pisică în imagine?", "nu"),
    ("sofa-qa-0", "Unde doarme pisica?", "Pe canapea."),
    ("sofa-yes-0", "Există o pisică în imagine?", "da"),
    ("sofa-no-0", "Există un câine în imagine?", "nu"),
]


def _config(tmp_path: Path, backend: dict[str, Any]) -> SynthesizeConfig:
    src = tmp_path / "captions.jsonl"
    records = [
        Example(id=img, task="caption", lang="ro", image=img, answers=caps) for img, caps in IMAGES.items()
    ]
    write_jsonl(src, records)
    data = {"input": src, "output": tmp_path / "qa.jsonl", "target": "ro", "per_image": 1, "progress": False}
    return SynthesizeConfig.model_validate({**data, "backend": {"max_new_tokens": 96, **backend}})


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model, trained on exactly the messages the stage sends."""
    cfg = _config(tmp_path_factory.mktemp("cfg"), {"name": "causal"}).backend
    prompts = [
        (
            chat_messages(cfg, "ro", "ro", generation_message(caps, 1, "Romanian")),
            json.dumps(REPLIES[img], ensure_ascii=False),
        )
        for img, caps in IMAGES.items()
    ]
    return build_tiny_causal(tmp_path_factory.mktemp("chat"), prompts, steps=150, seed=0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", autouse=True)
def serve_process(
    chat_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, str, Path]]:
    """`transformers serve` of the tiny model, started first so it boots while the in-process test runs."""
    exe = shutil.which("transformers", path=str(Path(sys.executable).parent))
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    if exe is None or _missing_serving():
        yield None, "", log
        return
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "OMP_NUM_THREADS": "1"}
    cmd = [exe, "serve", str(chat_model), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"]
    with log.open("wb") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc, f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _missing_serving() -> list[str]:
    """The modules of `transformers[serving]` that `transformers serve` needs (as its `is_serve_available`
    checks) and this Python lacks."""
    return [m for m in ("fastapi", "uvicorn", "openai") if importlib.util.find_spec(m) is None]


def _served(serve_process: tuple[Any, str, Path]) -> str:
    import httpx2

    proc, url, log = serve_process
    if proc is None:
        missing = _missing_serving()
        pytest.skip(
            "`transformers serve` cannot run here: "
            + (f"missing {', '.join(missing)}" if missing else "no `transformers` CLI beside this Python")
            + "; install the dev extras (pip install -e '.[dev]', which pulls transformers[serving])"
        )
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                return f"{url}/v1"
        except httpx2.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"transformers serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.25)


def _records(cfg: SynthesizeConfig) -> list[tuple[str, str, str]]:
    return [(r["id"], r["question"], r["answers"][0]) for _, r in iter_jsonl(cfg.output)]


def test_local_causal_model_writes_the_qa(chat_model: Path, tmp_path: Path) -> None:
    cfg = _config(tmp_path, {"name": "causal", "model": str(chat_model), "device": "cpu"})
    run(cfg)
    assert _records(cfg) == EXPECTED
    summary = json.loads(cfg.summary_path().read_text(encoding="utf-8"))
    assert (summary["requests"], summary["yes_ratio"], summary["images_failed"]) == (2, 0.5, 0)


@pytest.mark.slow  # a second Python process importing transformers and torch: ~10 s on 2 cores
def test_transformers_serve_end_to_end(
    serve_process: tuple[Any, str, Path], chat_model: Path, tmp_path: Path
) -> None:
    url = _served(serve_process)
    cfg = _config(tmp_path, {"name": "openai", "model": str(chat_model), "url": url})
    run(cfg)
    assert _records(cfg) == EXPECTED
    first = _records(cfg)
    cfg.output.unlink()
    run(cfg)  # again, from the cache: the same file, no request
    assert _records(cfg) == first
    assert json.loads(cfg.summary_path().read_text(encoding="utf-8"))["requests"] == 0
