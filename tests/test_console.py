"""A clean console on long work: vlmadapt's progress and summaries on it, the libraries' output in log files.

A tiny training run and a tiny predict run through the CLI print no tqdm bars, no Python dicts of losses
and no library warnings; the run's log file holds the warnings and the loss history. The run-log plumbing
(nesting, what counts as vlmadapt's own warning, restoring the libraries' settings) and the loss summary
are checked on literal inputs.
"""

from __future__ import annotations

import importlib
import json
import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vlmadapt.console import is_ours, log, run_log
from vlmadapt.train.progress import live_stats, loss_rows, summary

Cli = Callable[[list[str]], tuple[int, str, str]]  # the `cli` fixture of conftest.py
RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "tiny" / "ro-qwen2vl-lora.yaml"
PACKAGE = Path(__file__).resolve().parents[1] / "src" / "vlmadapt"
# What the libraries print when left alone: tqdm fragments, the Trainer's printed log dicts, warnings.
NOISE = ["it/s]", "s/it]", "{'loss':", "'grad_norm'", "Loading weights", "Writing model shards", "Warning:"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vlmadapt.data.toy import generate_world

    return generate_world(tmp_path_factory.mktemp("world"), 5, seed=0, langs=("ro",))["ro"]


def _library_state() -> tuple[Any, ...]:
    import huggingface_hub.utils as hub
    import transformers.utils.logging as tl

    logger = logging.getLogger("transformers")
    handlers = tuple((h, h.level) for h in logger.handlers)
    return (tl.is_progress_bar_enabled(), hub.are_progress_bars_disabled(), handlers, logger.propagate)


def _built(tiny_model: Any, capsys: pytest.CaptureFixture[str]) -> Path:
    """The tiny model, built before the command under test: its build prints what the command must not."""
    path = tiny_model("qwen2_vl")
    capsys.readouterr()
    return Path(path)


def _noise(text: str) -> list[str]:
    return [n for n in NOISE if n in text]


def test_training_prints_a_live_line_and_a_table_and_logs_the_rest(
    cli: Cli,
    tiny_model: Any,
    world: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    one_thread: None,
) -> None:
    train_run = importlib.import_module("vlmadapt.train.run")  # the package's `run` is the function

    load = train_run.load_processor

    def load_with_a_deprecation(*args: Any) -> Any:  # raised outside vlmadapt: a library's warning
        warnings.warn("old_argument is deprecated (test)", FutureWarning, stacklevel=1)
        return load(*args)

    monkeypatch.setattr(train_run, "load_processor", load_with_a_deprecation)
    model = _built(tiny_model, capsys)
    before = (_library_state(), warnings.showwarning)
    out = tmp_path / "run"
    code, stdout, stderr = cli(
        [
            "train",
            str(RECIPE),
            f"model.path={model}",
            f"data.train={world}",
            f"output_dir={out}",
            "lora.groups=[language_model,lm_head]",  # PEFT warns that it saves the embedding layers
            "train.max_steps=3",  # a checkpoint at step 2: transformers' "Writing model shards" bar
        ]
    )
    assert code == 0, stderr
    console = stdout + stderr
    assert _noise(console) == []
    assert "FutureWarning" not in console and "UserWarning" not in console
    assert "train " in stderr and "3/3" in stderr  # the live line, in its final state
    assert "trained 3 steps in " in stderr and "; loss " in stderr
    assert "│    3 │" in stderr  # the last row of the loss table
    assert f"outputs in {out}" in stdout

    text = (out / "log.txt").read_text(encoding="utf-8")
    assert "FutureWarning: old_argument is deprecated (test)" in text
    assert "UserWarning: Setting `save_embedding_layers` to `True`" in text
    logged = [json.loads(line.split(": ", 2)[2]) for line in text.splitlines() if " step " in line]
    history = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["log_history"]
    assert [e["loss"] for e in logged if "loss" in e] == [e["loss"] for e in history if "loss" in e]
    assert len([e for e in logged if "loss" in e]) == 3  # logging_steps 1 in the tiny recipe
    assert (_library_state(), warnings.showwarning) == before  # restored for a library user


def test_predict_prints_one_bar_and_logs_the_libraries(
    cli: Cli,
    tiny_model: Any,
    world: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    one_thread: None,
) -> None:
    predict_run = importlib.import_module("vlmadapt.predict.run")

    generate = predict_run.generate_batch

    def generate_with_a_warning(*args: Any) -> Any:
        warnings.warn("generation flags are not valid (test)", UserWarning, stacklevel=1)
        return generate(*args)

    monkeypatch.setattr(predict_run, "generate_batch", generate_with_a_warning)
    out = tmp_path / "preds.jsonl"
    argv = ["predict", "--model", str(_built(tiny_model, capsys)), "--data", str(world), "--out", str(out)]
    code, stdout, stderr = cli([*argv, "--limit", "4", "--max-new-tokens", "2"])
    assert code == 0, stderr
    assert _noise(stdout + stderr) == []
    assert "UserWarning" not in stdout + stderr
    assert "predict preds.jsonl" in stderr and "4/4" in stderr
    assert out.read_text(encoding="utf-8").count("\n") == 4
    text = (tmp_path / "preds.jsonl.log").read_text(encoding="utf-8")
    assert "UserWarning: generation flags are not valid (test)" in text


def test_run_logs_nest_and_files_appear_at_their_first_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outer, inner, empty = tmp_path / "outer.txt", tmp_path / "sub" / "inner.txt", tmp_path / "empty.txt"
    with run_log(outer):
        log("outer only")
        with run_log(inner):
            log("both")
            warnings.warn("a library warning (test)", UserWarning, stacklevel=1)
            logging.getLogger("peft.tuners").warning("a peft record (test)")
        log("outer again")
        with run_log(empty):
            pass
    log("after: nowhere")
    lines = {p: p.read_text(encoding="utf-8") for p in (outer, inner)}
    assert all(m in lines[outer] for m in ("outer only", "both", "a library warning", "a peft record"))
    assert "outer again" in lines[outer] and "after: nowhere" not in lines[outer]
    assert "outer only" not in lines[inner] and "outer again" not in lines[inner]
    assert "both" in lines[inner] and "a library warning (test)" in lines[inner]
    assert "WARNING peft.tuners: a peft record (test)" in lines[inner]
    assert not empty.exists()
    err = capsys.readouterr().err
    assert "a library warning" not in err and "a peft record" not in err


def test_library_errors_still_reach_the_console(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with run_log(tmp_path / "log.txt"):
        logging.getLogger("accelerate.state").error("no GPU visible (test)")
        logging.getLogger("accelerate.state").warning("a mere warning (test)")
    err = capsys.readouterr().err
    assert "no GPU visible (test)" in err and "a mere warning" not in err
    assert "a mere warning (test)" in (tmp_path / "log.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("filename", "category", "ours"),
    [
        (PACKAGE / "train" / "run.py", UserWarning, True),
        (PACKAGE / "console.py", RuntimeWarning, True),
        (PACKAGE / "train" / "run.py", FutureWarning, False),  # a library pointing at its caller
        (PACKAGE / "predict" / "run.py", DeprecationWarning, False),
        (Path("/venv/lib/python3.11/site-packages/peft/utils/save_and_load.py"), UserWarning, False),
        (PACKAGE.parent / "vlmadapt_extras" / "x.py", UserWarning, False),  # a name that only starts alike
    ],
)
def test_which_warnings_are_vlmadapts(filename: Path, category: type[Warning], ours: bool) -> None:
    assert is_ours(str(filename), category) is ours


HISTORY = [
    {"loss": 2.5, "grad_norm": 1.0, "learning_rate": 1e-3, "epoch": 0.1, "step": 1},
    {"loss": 1.25, "grad_norm": 0.5, "learning_rate": 5e-4, "epoch": 0.2, "step": 2},
    {"eval_loss": 1.5, "eval_runtime": 0.1, "epoch": 0.2, "step": 2},
    {"train_runtime": 3.21, "train_loss": 1.875, "total_flos": 10.0, "epoch": 0.2, "step": 2},
]


def test_summary_line_and_live_stats() -> None:
    assert summary(HISTORY) == "trained 2 steps in 3.2 s; loss 2.5 -> 1.25; eval loss 1.5"
    assert live_stats(HISTORY) == "loss 1.25  eval 1.5  lr 5.00e-04"
    assert live_stats(HISTORY[:1]) == "loss 2.5  lr 1.00e-03"
    assert live_stats([]) == ""


def test_loss_rows_merge_eval_and_sample_long_histories() -> None:
    assert loss_rows(HISTORY) == [(1, 2.5, None, 1e-3), (2, 1.25, 1.5, 5e-4)]
    long = [{"loss": 10.0 - s, "learning_rate": 0.1, "step": s} for s in range(1, 11)]
    sampled = [(1, 9.0, None, 0.1), (4, 6.0, None, 0.1), (7, 3.0, None, 0.1), (10, 0.0, None, 0.1)]
    assert loss_rows(long, max_rows=4) == sampled
    assert loss_rows([{"train_runtime": 1.0, "step": 0}]) == []
