"""The predict stage on a tiny Qwen2-VL: batched generation, error rows, resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from vlmadapt.data.toy import generate_world
from vlmadapt.errors import VlmadaptError
from vlmadapt.jsonl import read_records, write_jsonl
from vlmadapt.predict import GenerationConfig, PredictConfig, run
from vlmadapt.records import Example, Prediction

Cli = Callable[[list[str]], tuple[int, str, str]]  # the `cli` fixture of conftest.py


@pytest.fixture(scope="module")
def tiny(tiny_model: Callable[[str], Path]) -> Path:
    return tiny_model("qwen2_vl")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_world(tmp_path_factory.mktemp("world"), n_images=8, seed=1, langs=("ro",))["ro"]


def _config(tiny: Path, data: Path, out: Path, **kw: object) -> PredictConfig:
    return PredictConfig.model_validate(
        {"model": str(tiny), "data": data, "out": out, "generation": {"max_new_tokens": 4}, **kw}
    )


def test_batched_predictions_equal_one_at_a_time(tiny: Path, world: Path, tmp_path: Path) -> None:
    one = run(_config(tiny, world, tmp_path / "b1.jsonl", batch_size=1, limit=12))
    many = run(_config(tiny, world, tmp_path / "b8.jsonl", batch_size=8, limit=12))
    by_one = {p.id: p.prediction for p in read_records(one, Prediction)}
    by_many = {p.id: p.prediction for p in read_records(many, Prediction)}
    assert len(by_one) == 12
    assert by_one == by_many  # left padding: batching changes nothing in greedy answers
    row = read_records(many, Prediction)[0]
    assert row.generation == {"max_new_tokens": 4, "do_sample": False, "num_beams": 1}
    assert row.prompt is not None and "Descrieți imaginea într-o propoziție." in row.prompt


def test_missing_and_unreadable_images_give_error_rows(tiny: Path, world: Path, tmp_path: Path) -> None:
    (world.parent / "images" / "garbage.png").write_bytes(b"not a png")
    rows = [
        Example(
            id="ok",
            task="yes_no",
            lang="ro",
            image="images/toy-00000.png",
            question="Există o stea roșie?",
            answers=["nu"],
        ),
        Example(
            id="gone", task="yes_no", lang="ro", image="images/nope.png", question="Există?", answers=["nu"]
        ),
        Example(
            id="bad", task="yes_no", lang="ro", image="images/garbage.png", question="Există?", answers=["nu"]
        ),
        Example(
            id="text", task="open_vqa", lang="ro", question="Ce culoare are cerul?", answers=["albastru"]
        ),
    ]
    data = write_jsonl(world.parent / "mixed.jsonl", rows)
    preds = {p.id: p for p in read_records(run(_config(tiny, data, tmp_path / "p.jsonl")), Prediction)}
    assert set(preds) == {"ok", "gone", "bad", "text"}
    assert preds["ok"].prediction is not None and preds["text"].prediction is not None
    assert preds["gone"].prediction is None and "image not found" in (preds["gone"].error or "")
    assert preds["bad"].prediction is None and "unreadable image" in (preds["bad"].error or "")


def test_rerun_skips_written_ids(tiny: Path, world: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    run(_config(tiny, world, out, limit=5))
    first = out.read_text(encoding="utf-8")
    run(_config(tiny, world, out, limit=9))
    text = out.read_text(encoding="utf-8")
    assert text.startswith(first)
    ids = [json.loads(line)["id"] for line in text.splitlines()]
    assert len(ids) == len(set(ids)) == 9


def test_resuming_with_other_settings_is_refused(tiny: Path, world: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    run(_config(tiny, world, out, limit=2))
    recorded = json.loads((tmp_path / "p.jsonl.provenance.json").read_text(encoding="utf-8"))
    assert recorded["settings"]["generation"] == {"max_new_tokens": 4, "do_sample": False, "num_beams": 1}
    assert recorded["versions"]["transformers"]
    changed = _config(tiny, world, out, limit=4).model_copy(
        update={"generation": GenerationConfig(max_new_tokens=9)}
    )
    with pytest.raises(VlmadaptError, match=r"p.jsonl: was started with different settings \(generation;"):
        run(changed)
    assert out.read_text(encoding="utf-8").count("\n") == 2


def test_killed_run_resumes_with_every_id_exactly_once(tiny: Path, world: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "vlmadapt.cli",
        "predict",
        "--model",
        str(tiny),
        "--data",
        str(world),
        "--out",
        str(out),
        "--batch-size",
        "1",
        "--max-new-tokens",
        "4",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ | {"PYTHONUNBUFFERED": "1"}
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written_before = out.read_text(encoding="utf-8").count("\n")
    total = len(read_records(world))
    assert 3 <= written_before < total, "the kill should land mid-run"
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ids = [p.id for p in read_records(out, Prediction)]  # also fails on a torn or duplicated line
    assert sorted(ids) == sorted(ex.id for ex in read_records(world))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--task", "multiple_choice"], "has task 'caption', but --task is 'multiple_choice'"),
        (["--adapter", "."], "has no adapter_config.json"),
    ],
)
def test_cli_errors_before_writing_anything(
    tiny: Path,
    world: Path,
    tmp_path: Path,
    cli: Callable[[list[str]], tuple[int, str, str]],
    extra: list[str],
    message: str,
) -> None:
    out = tmp_path / "p.jsonl"
    code, _, err = cli(["predict", "--model", str(tiny), "--data", str(world), "--out", str(out), *extra])
    assert code == 2
    assert message in err
    assert not out.exists()


def test_out_of_memory_halves_the_batch_and_reports_it(
    tiny: Path,
    world: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import importlib

    import torch

    predict_run = importlib.import_module("vlmadapt.predict.run")  # the package exports a `run` function too

    real = predict_run.generate_batch
    sizes: list[int] = []

    def tight_memory(model, processor, family, requests, gen):  # type: ignore[no-untyped-def]
        sizes.append(len(requests))
        if len(requests) > 2:  # as if the GPU held at most two at a time
            raise torch.OutOfMemoryError("CUDA out of memory")
        return real(model, processor, family, requests, gen)

    monkeypatch.setattr(predict_run, "generate_batch", tight_memory)
    out = run(_config(tiny, world, tmp_path / "p.jsonl", batch_size=8, limit=8))
    assert sizes[:3] == [8, 4, 2]  # halved until it fits, then kept there
    assert set(sizes[3:]) == {2}
    assert [p.id for p in read_records(out, Prediction)] == [ex.id for ex in read_records(world)[:8]]
    assert "finished with batch size 2" in capsys.readouterr().err
