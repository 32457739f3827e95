"""Synthesis with a real transformers chat model: in-process (causal backend) and behind `transformers serve`.

A tiny Llama with a locally trained tokenizer learns, in a few seconds, to answer the synthesis prompt
of two images with their JSON; it is saved with `save_pretrained` and served by `transformers serve`,
the OpenAI-compatible server a user would start, so the whole stage runs on real generation and HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serving import transformers_serve, wait_served
from vlmadapt.jsonl import iter_jsonl, write_jsonl
from vlmadapt.llm.chat import chat_messages
from vlmadapt.llm.tiny import build_tiny_causal
from vlmadapt.records import Example
from vlmadapt.synthesize import SynthesizeConfig, run
from vlmadapt.synthesize.prompts import generation_message

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


@pytest.fixture(scope="module", autouse=True)
def serve_process(
    chat_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, str, Path]]:
    """`transformers serve` of the tiny model, started first so it boots while the in-process test runs."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with transformers_serve(chat_model, log) as (proc, url):
        yield proc, url, log


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
    url = wait_served(*serve_process)
    cfg = _config(tmp_path, {"name": "openai", "model": str(chat_model), "url": url})
    run(cfg)
    assert _records(cfg) == EXPECTED
    first = _records(cfg)
    cfg.output.unlink()
    run(cfg)  # again, from the cache: the same file, no request
    assert _records(cfg) == first
    assert json.loads(cfg.summary_path().read_text(encoding="utf-8"))["requests"] == 0
