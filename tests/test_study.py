"""`vlmadapt run STUDY.yaml`: the tiny study end to end, caching by config and input content, resume."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vlmadapt.errors import ConfigError, VlmadaptError
from vlmadapt.study import StudyRun, load_study, run_study
from vlmadapt.study.runner import content_hash

TINY = Path(__file__).resolve().parents[1] / "studies" / "tiny.yaml"
EVERY_STAGE = [
    "world",
    "english",
    "train.lora-ro",
    "predict.english-direct-open",
    "predict.english-direct-yes-no",
    "predict.lora-ro-open",
    "predict.lora-ro-yes-no",
    "evaluate.english-direct-open",
    "evaluate.english-direct-yes-no",
    "evaluate.lora-ro-open",
    "evaluate.lora-ro-yes-no",
    "report",
]
LORA_DOWNSTREAM = [
    "train.lora-ro",
    "predict.lora-ro-open",
    "predict.lora-ro-yes-no",
    "evaluate.lora-ro-open",
    "evaluate.lora-ro-yes-no",
    "report",
]


def _quiet(_: str) -> None:
    pass


def _run(out: Path, overrides: list[str] | None = None, **kw: Any) -> StudyRun:
    return run_study(load_study(TINY, overrides), out, say=_quiet, **kw)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, StudyRun]:
    out = tmp_path_factory.mktemp("tiny-study")
    return out, _run(out)


def _step(run: StudyRun, node: str) -> Any:
    return next(s for s in run.steps if s.node == node)


def test_the_tiny_study_runs_every_stage_and_writes_a_report(tiny: tuple[Path, StudyRun]) -> None:
    out, first = tiny
    assert first.ran() == EVERY_STAGE
    assert {s.reason for s in first.steps} == {"new"}
    report = first.result("report")
    assert (report / "report.md").is_file() and (report / "report.html").is_file()
    md = (report / "report.md").read_text(encoding="utf-8")
    assert "english-direct" in md and "lora-ro" in md
    # each output lives in OUT/<stage>/<name>-<12 hex>/
    folder = _step(first, "train.lora-ro").dir
    assert folder.parent == out / "train" and len(folder.name) == len("lora-ro-") + 12


def test_every_output_records_the_study_its_hash_and_the_git_revision(tiny: tuple[Path, StudyRun]) -> None:
    _, first = tiny
    for step in first.steps:
        done = json.loads((step.dir / "stage.done.json").read_text(encoding="utf-8"))
        assert done["study"] == str(TINY)
        assert done["study_sha256"] == hashlib.sha256(TINY.read_bytes()).hexdigest()
        assert "git" in done and done["stage"] == step.node.split(".")[0]
    train = json.loads((_step(first, "train.lora-ro").dir / "stage.done.json").read_text(encoding="utf-8"))
    assert train["config"]["train"]["max_steps"] == 8
    assert train["config"]["output_dir"] == "@out"  # derived by the runner, not part of the key
    assert set(train["inputs"]) == {"english", "world.ro.train-qa"}


def test_a_second_run_runs_nothing(tiny: tuple[Path, StudyRun]) -> None:
    out, first = tiny
    again = _run(out)
    assert again.ran() == []
    assert [s.action for s in again.steps] == ["cached"] * 12
    assert [s.dir for s in again.steps] == [s.dir for s in first.steps]


def test_a_training_setting_reruns_train_and_what_depends_on_it_only(tiny: tuple[Path, StudyRun]) -> None:
    out, first = tiny
    plan = _run(out, ["train.lora-ro.train.max_steps=6"], dry_run=True)
    assert plan.ran() == LORA_DOWNSTREAM
    assert _step(plan, "train.lora-ro").reason == "config changed: train.max_steps"
    assert _step(plan, "predict.lora-ro-open").reason == "input changed: train.lora-ro will run"
    changed = _run(out, ["train.lora-ro.train.max_steps=6"])
    assert changed.ran() == LORA_DOWNSTREAM
    assert (
        _step(changed, "evaluate.english-direct-open").dir == _step(first, "evaluate.english-direct-open").dir
    )
    assert _step(changed, "report").dir != _step(first, "report").dir
    checkpoints = changed.result("train.lora-ro") / "checkpoints"
    assert [p.name for p in checkpoints.iterdir()] == ["checkpoint-6"]
    # the first version is still there: going back runs nothing
    assert _run(out).ran() == []


def test_a_stage_stopped_before_its_record_runs_again_in_the_same_directory(
    tiny: tuple[Path, StudyRun],
) -> None:
    out, first = tiny
    folder = _step(first, "evaluate.lora-ro-open").dir
    (folder / "stage.done.json").unlink()
    plan = _run(out, dry_run=True)
    assert plan.ran() == ["evaluate.lora-ro-open", "report"]
    assert _step(plan, "evaluate.lora-ro-open").reason == "incomplete: resumes in the same directory"
    assert _step(plan, "report").reason == "waits on evaluate.lora-ro-open: runs only if its output changes"
    # scores.json records when it was written, but the content hash leaves that out: the report stays
    again = _run(out)
    assert again.ran() == ["evaluate.lora-ro-open"]
    assert _step(again, "evaluate.lora-ro-open").dir == folder
    assert _step(again, "report").dir == _step(first, "report").dir
    assert _run(out).ran() == []


def test_a_train_stage_run_again_leaves_predict_evaluate_and_report_cached(
    tiny: tuple[Path, StudyRun],
) -> None:
    out, first = tiny
    train = _step(first, "train.lora-ro").dir
    before = json.loads((train / "stage.done.json").read_text(encoding="utf-8"))
    (train / "stage.done.json").unlink()
    # train resumes from its last checkpoint: a new log, provenance and runtime, the same adapter
    again = _run(out)
    assert again.ran() == ["train.lora-ro"]
    assert [s.dir for s in again.steps] == [s.dir for s in first.steps]
    after = json.loads((train / "stage.done.json").read_text(encoding="utf-8"))
    assert after["content"] == before["content"]


def _folder(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


_SCORES = {"metrics": {"accuracy": {"score": 75.0}}, "counts": {"references": 4}}
_TRAIN = {
    "adapter_model.safetensors": "weights",
    "adapter_config.json": '{"r": 16, "target_modules": ["q_proj", "v_proj"]}',
    "metrics.json": json.dumps(
        {
            "train": {"train_runtime": 39.6, "train_loss": 5.74},
            "data": {"train": 64},
            "log_history": [{"loss": 5.3, "step": 8}, {"train_runtime": 39.6, "train_loss": 5.74, "step": 8}],
        }
    ),
    "scores.json": json.dumps(
        {
            **_SCORES,
            "provenance": {"created": "2025-01-01T10:00:00", "git": "abc", "versions": {"torch": "2"}},
        }
    ),
    "checkpoints/checkpoint-4/adapter_model.safetensors": "step 4",
    "log.txt": "loss 5.3",
    "predictions.jsonl.log": "a warning",
    "predictions.jsonl.provenance.json": '{"created": "2025-01-01T10:00:00"}',
    "provenance.json": '{"created": "2025-01-01T10:00:00"}',
}


@pytest.mark.parametrize(
    ("changes", "same"),
    [
        # what a re-run changes without changing results
        (
            {
                "adapter_config.json": '{"target_modules": ["v_proj", "q_proj"], "r": 16}',
                "metrics.json": json.dumps(
                    {
                        "train": {"train_runtime": 0.001, "train_loss": 0.0},
                        "data": {"train": 64},
                        "log_history": [{"step": 8, "loss": 5.3}, {"train_runtime": 0.001, "step": 8}],
                    }
                ),
                "scores.json": json.dumps(
                    {
                        **_SCORES,
                        "provenance": {
                            "created": "2025-02-02T11:00:00",
                            "git": "def",
                            "versions": {"torch": "3"},
                        },
                    }
                ),
                "checkpoints/checkpoint-8/adapter_model.safetensors": "step 8",
                "log.txt": "loss 5.3 (resumed)",
                "predictions.jsonl.log": "another warning",
                "predictions.jsonl.provenance.json": '{"created": "2025-02-02T11:00:00"}',
                "provenance.json": '{"created": "2025-02-02T11:00:00"}',
            },
            True,
        ),
        ({"adapter_model.safetensors": "other weights"}, False),
        ({"adapter_config.json": '{"r": 8, "target_modules": ["q_proj", "v_proj"]}'}, False),
        ({"scores.json": json.dumps({**_SCORES, "metrics": {"accuracy": {"score": 50.0}}})}, False),
        ({"scores.json": json.dumps({**_SCORES, "counts": {"references": 3}})}, False),
        (
            {"metrics.json": json.dumps({"data": {"train": 64}, "log_history": [{"loss": 5.2, "step": 8}]})},
            False,
        ),
        ({"processor_config.json": "{}"}, False),
    ],
)
def test_the_content_hash_counts_results_not_timestamps_logs_or_checkpoints(
    tmp_path: Path, changes: dict[str, str], same: bool
) -> None:
    a = _folder(tmp_path / "a", _TRAIN)
    b = _folder(tmp_path / "b", _TRAIN | changes)
    assert (content_hash(a) == content_hash(b)) is same


def test_only_and_from_select_stages(tiny: tuple[Path, StudyRun], tmp_path: Path) -> None:
    out, _ = tiny
    plan = _run(out, ["report.trials=20", "evaluate.lora-ro-open.resamples=20"], dry_run=True, start="report")
    assert [(s.node, s.action) for s in plan.steps][-3:] == [
        ("evaluate.lora-ro-open", "blocked"),
        ("evaluate.lora-ro-yes-no", "cached"),
        ("report", "run"),
    ]
    plan = _run(out, ["evaluate.lora-ro-open.resamples=20"], dry_run=True, start="evaluate")
    assert plan.ran() == ["evaluate.lora-ro-open", "report"]
    with pytest.raises(VlmadaptError, match=r"^world is not up to date \(new\)"):
        _run(tmp_path, only="report")
    blocked = _run(tmp_path, dry_run=True, only="world")
    assert [s.action for s in blocked.steps][:2] == ["run", "blocked"]
    with pytest.raises(ConfigError, match="no stage 'trian'"):
        _run(tmp_path, dry_run=True, only="trian")


WORLD = "world: {images: 20, test_images: 4}\n"


def _study(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "world:\n  images: 20\n  imags: 4\n",
            r"study.yaml:3: world.imags: unknown key; known keys here: exists, image_size, images, langs,",
        ),
        (
            WORLD + "train:\n  a:\n    model: {path: x}\n    data:\n      train: world.ro.test.nope\n",
            r"study.yaml:6: train.a.data.train: 'world.ro.test.nope': world has no output 'ro.test.nope'",
        ),
        (
            WORLD + "train:\n  a:\n    model: {path: x}\n    data: {train: world.en}\n    output_dir: y\n",
            r"study.yaml:6: train.a.output_dir: the runner derives this",
        ),
        ("wrold: {images: 20}\n", r"study.yaml:1: wrold: unknown key; a study has: name,"),
        (
            WORLD + "predict:\n  p: {model: train.b, data: world.en}\ntrain:\n"
            "  a: {model: {path: x}, data: {train: world.en}}\n",
            r"study.yaml:3: predict.p.model: 'train.b': no such train block; the study's: train.a",
        ),
    ],
)
def test_study_errors_name_the_file_line_and_key(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error.replace(".", r"\.").replace("(", r"\(")):
        load_study(_study(tmp_path, text))


def test_a_typo_in_an_override_is_a_located_error_too(
    cli: Callable[[list[str]], tuple[int, str, str]],
) -> None:
    code, _, err = cli(["run", str(TINY), "train.lora-ro.train.max_step=3", "--dry-run"])
    assert code == 2
    assert "tiny.yaml:29: train.lora-ro.train.max_step: unknown key" in " ".join(err.split())


def test_the_console_holds_the_plan_not_the_libraries_bars(
    cli: Callable[[list[str]], tuple[int, str, str]], tmp_path: Path
) -> None:
    code, out, err = cli(["run", str(TINY), "--out", str(tmp_path / "o")])
    assert code == 0, err
    console = out + err
    for noise in ("it/s]", "Loading weights", "Writing model shards", "{'loss':", "Warning:"):
        assert noise not in console, noise
    assert "12 stage(s) run" in console.replace("\n", " ")


def test_dry_run_prints_the_plan_and_runs_nothing(
    cli: Callable[[list[str]], tuple[int, str, str]], tmp_path: Path
) -> None:
    code, out, _ = cli(["run", str(TINY), "--dry-run", "--out", str(tmp_path / "o")])
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 12
    assert lines[0].split()[:3] == ["run", "world", "new"]
    assert lines[2].split()[:3] == ["run", "train.lora-ro", "new"]
    assert not (tmp_path / "o").exists()


def test_a_failing_stage_keeps_earlier_outputs_and_says_what_failed(
    cli: Callable[[list[str]], tuple[int, str, str]], tmp_path: Path
) -> None:
    study = _study(
        tmp_path,
        WORLD + "evaluate:\n  e: {predictions: missing/predictions.jsonl, references: world.ro.test.yes_no, "
        "task: pope}\n",
    )
    code, _, err = cli(["run", str(study), "--out", str(tmp_path / "o")])
    assert code == 2
    assert err.startswith("error: stage evaluate.e failed: ")
    world = next((tmp_path / "o" / "world").iterdir())
    assert (world / "stage.done.json").is_file() and (world / "ro.jsonl").is_file()
    code, out, _ = cli(["run", str(study), "--out", str(tmp_path / "o"), "--dry-run"])
    assert out.split()[:2] == ["cached", "world"]


def test_sigkill_during_train_then_a_rerun_gives_the_same_report(
    tiny: tuple[Path, StudyRun], tmp_path: Path
) -> None:
    out, _ = tiny
    longer = ["train.lora-ro.train.max_steps=40", "train.lora-ro.data.limit=320"]
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    for root in (killed, whole):  # the world and English model, as built by the fixture
        for stage in ("world", "english"):
            shutil.copytree(out / stage, root / stage)
    command = [sys.executable, "-m", "vlmadapt.cli", "run", str(TINY), "--out", str(killed), *longer]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(killed.glob("train/lora-ro-*/checkpoints/checkpoint-4/trainer_state.json")):
        assert proc.poll() is None and time.monotonic() < deadline, "train finished or never checkpointed"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    plan = _run(killed, longer, dry_run=True)
    assert plan.ran() == EVERY_STAGE[2:]  # world and english were cached; the kill came in train
    assert _step(plan, "train.lora-ro").reason == "incomplete: resumes in the same directory"
    resumed = _run(killed, longer)
    assert resumed.ran()[0] == "train.lora-ro"
    straight = _run(whole, longer)
    assert straight.ran() == EVERY_STAGE[2:]
    assert _csv(resumed) == _csv(straight)


def _csv(run: StudyRun) -> str:
    """The report's table without the places it was run in (its root, the keyed directory names)."""
    text = (run.result("report") / "report.csv").read_text(encoding="utf-8").replace(str(run.out), "OUT")
    return re.sub(r"-[0-9a-f]{12}\b", "-KEY", text)


def _plan(cli: Callable[[list[str]], tuple[int, str, str]], name: str, out: Path) -> list[list[str]]:
    code, text, err = cli(["run", str(TINY.with_name(name)), "--dry-run", "--out", str(out)])
    assert code == 0, err
    assert not out.exists()
    return [line.split()[:3] for line in text.splitlines()]


def test_the_romanian_study_plans_without_its_data_or_weights(
    cli: Callable[[list[str]], tuple[int, str, str]], tmp_path: Path
) -> None:
    steps = _plan(cli, "ro-flickr30k-roqa.yaml", tmp_path / "o")
    assert (
        len(steps) == 32
    )  # import, translate, quality, synthesize, 3 train, 12 predict, 12 evaluate, report
    assert steps[0] == ["run", "import.flickr30k-en", "new"]
    assert ["run", "train.llava16", "new"] in steps and steps[-1] == ["run", "report", "new"]
    assert ["run", "predict.llava16-rovqa-caption", "new"] in steps
    study = load_study(TINY.with_name("ro-flickr30k-roqa.yaml"))
    caption = study.nodes["evaluate.qwen2vl-rovqa-caption"].config
    assert (caption.task, caption.split, caption.system) == ("caption", "test", "qwen2vl-rovqa")
    predicts = [n for n in study.nodes.values() if n.stage.name == "predict"]
    assert {n.config.split for n in predicts} == {"test"}  # the systems never answer training questions
    assert study.nodes["predict.llama32v-rovqa-caption"].deps == ["train.llama32v", "translate.captions-ro"]


def test_the_french_study_plans_without_its_data_or_weights(
    cli: Callable[[list[str]], tuple[int, str, str]], tmp_path: Path
) -> None:
    steps = _plan(cli, "fr-translate-vs-finetune.yaml", tmp_path / "o")
    names = [s[1] for s in steps]
    assert len(steps) == 45 and {s[0] for s in steps} == {"run"} and {s[2] for s in steps} == {"new"}
    kinds = [n.split(".")[0] for n in names]
    assert [kinds.count(k) for k in ("import", "translate", "quality", "audit_export", "train")] == [
        5,
        5,
        3,
        3,
        4,
    ]
    assert [kinds.count(k) for k in ("predict", "evaluate", "report")] == [12, 12, 1]
    # pretraining comes before the finetunes that start from it
    assert names.index("train.pretrain") < min(names.index("train.finetune"), names.index("train.double"))
    study = load_study(TINY.with_name("fr-translate-vs-finetune.yaml"))
    mt = study.nodes["predict.translate-test-pope"].config
    assert mt.translate_test and mt.model == "llava-hf/llava-1.5-7b-hf"
    assert mt.mt.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert study.nodes["translate.pope-fr"].config.backend.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert study.nodes["predict.double-textvqa"].deps == ["train.double", "translate.textvqa-fr"]
    assert study.nodes["evaluate.pretrain-finetune-scienceqa"].config.system == "pretrain-finetune"


# -- the split filter of predict and evaluate -------------------------------------------------------------


def _yes_no(tmp_path: Path) -> Path:
    rows = [
        {
            "id": "a",
            "task": "yes_no",
            "lang": "en",
            "question": "Is there a cat?",
            "answers": ["yes"],
            "meta": {"split": "test"},
        },
        {
            "id": "b",
            "task": "yes_no",
            "lang": "en",
            "question": "Is there a dog?",
            "answers": ["no"],
            "meta": {"split": "test"},
        },
        {
            "id": "c",
            "task": "yes_no",
            "lang": "en",
            "question": "Is there a cow?",
            "answers": ["yes"],
            "meta": {"split": "train"},
        },
    ]
    path = tmp_path / "refs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_predict_keeps_the_examples_of_its_split(tmp_path: Path) -> None:
    from vlmadapt.jsonl import read_records
    from vlmadapt.predict.run import PredictConfig, select_examples
    from vlmadapt.records import Example

    refs = _yes_no(tmp_path)
    examples = read_records(refs, Example)

    def ids(**kw: Any) -> list[str]:
        cfg = PredictConfig(model="m", data=refs, out=tmp_path / "p.jsonl", **kw)
        return [ex.id for ex in select_examples(examples, cfg)]

    assert ids() == ["a", "b", "c"]
    assert ids(split="test") == ["a", "b"]
    assert ids(split="train") == ["c"]
    assert ids(split="test", limit=1) == ["a"]
    with pytest.raises(VlmadaptError, match=r"no example has meta\.split 'val'; its splits: test, train"):
        ids(split="val")


def test_evaluate_scores_the_references_of_its_split(tmp_path: Path) -> None:
    from vlmadapt.evaluate.run import EvaluateConfig
    from vlmadapt.evaluate.run import run as evaluate

    refs = _yes_no(tmp_path)
    preds = tmp_path / "preds.jsonl"
    preds.write_text(
        '{"id": "a", "prediction": "Yes."}\n{"id": "b", "prediction": "Yes, there is."}\n', encoding="utf-8"
    )
    cfg = EvaluateConfig(predictions=preds, references=refs, task="pope", resamples=0, out=tmp_path / "e")
    with pytest.raises(VlmadaptError, match=r"no prediction for 1 of the 3 examples .*'c'"):
        evaluate(cfg)
    scores = json.loads((evaluate(cfg.model_copy(update={"split": "test"})) / "scores.json").read_text())
    assert scores["n"] == 2 and scores["counts"]["scored"] == 2
    assert scores["metrics"]["accuracy"]["score"] == 50.0  # a: yes for yes; b: yes for no
    with pytest.raises(VlmadaptError, match=r"no examples of split 'val' \(meta\.split\)"):
        evaluate(cfg.model_copy(update={"split": "val"}))


# -- translate and synthesize keep the libraries' output in <out>.log -------------------------------------


class _Upper:
    """A backend that translates by upper-casing, warning as a library does while it loads a model."""

    def __init__(self) -> None:
        import warnings

        warnings.warn("`torch_dtype` is deprecated! Use `dtype` instead!", FutureWarning, stacklevel=1)

    def signature(self) -> dict[str, Any]:
        return {"name": "upper"}

    def translate(self, texts: Any, attempt: int = 0) -> Any:
        return iter(enumerate(t.upper() for t in texts))

    def close(self) -> None:
        pass


def test_translate_sends_a_loading_models_warnings_to_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    translate = importlib.import_module("vlmadapt.translate.run")  # the package's `run` is the function

    monkeypatch.setattr(translate, "make_backend", lambda cfg, source, target: _Upper())
    src = tmp_path / "en.jsonl"
    src.write_text('{"id": "x", "task": "caption", "lang": "en", "answers": ["a red square"]}\n')
    out = tmp_path / "ro.jsonl"
    translate.run(translate.TranslateConfig(input=src, output=out, target="ro", progress=False))
    assert json.loads(out.read_text())["answers"] == ["A RED SQUARE"]
    log = (tmp_path / "ro.jsonl.log").read_text(encoding="utf-8")
    assert "FutureWarning: `torch_dtype` is deprecated!" in log
    assert "torch_dtype" not in capsys.readouterr().err


def test_synthesize_sends_a_loading_models_warnings_to_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    synthesize = importlib.import_module("vlmadapt.synthesize.run")
    from vlmadapt.synthesize.config import SynthesizeConfig

    def loading(*args: Any) -> Any:
        _Upper()  # the warning a local model's loading gives; then the model cannot be used
        raise VlmadaptError("backend.model: cannot load 'm'")

    monkeypatch.setattr(synthesize, "generating_backend", loading)
    src = tmp_path / "ro.jsonl"
    src.write_text(
        '{"id": "x", "task": "caption", "lang": "ro", "image": "x.jpg", "answers": ["un pătrat roșu"]}\n'
    )
    cfg = SynthesizeConfig(input=src, output=tmp_path / "qa.jsonl", target="ro", progress=False)
    with pytest.raises(VlmadaptError, match="cannot load 'm'"):
        synthesize.run(cfg)
    assert "FutureWarning: `torch_dtype` is deprecated!" in (tmp_path / "qa.jsonl.log").read_text()
    assert "torch_dtype" not in capsys.readouterr().err


def _import_study(tmp_path: Path) -> tuple[Path, Path]:
    src = tmp_path / "pope.json"
    rows = [
        {"question_id": i, "image": f"{i}.jpg", "text": "Is there a dog?", "label": "yes"} for i in range(3)
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    study = tmp_path / "study.yaml"
    study.write_text(
        f"name: imports\nout: {tmp_path / 'out'}\nimport:\n  pope: {{format: pope, src: {src}}}\n"
    )
    return study, src


def test_an_external_file_is_known_by_its_content_not_its_time(tmp_path: Path) -> None:
    study, src = _import_study(tmp_path)
    first = run_study(load_study(study), say=_quiet)
    assert first.ran() == ["import.pope"]
    os.utime(src, ns=(time.time_ns(), time.time_ns() + 10**9))  # touched: same bytes, a new time
    assert run_study(load_study(study), say=_quiet).ran() == []
    src.write_text(src.read_text().replace("dog", "cat"))
    changed = run_study(load_study(study), say=_quiet)
    assert changed.ran() == ["import.pope"]
    assert _step(changed, "import.pope").reason == f"input changed: {src}"


def test_prune_deletes_this_studys_directories_that_no_stage_uses(tmp_path: Path) -> None:
    study, src = _import_study(tmp_path)
    old = run_study(load_study(study), say=_quiet).result("import.pope").parent
    src.write_text(src.read_text().replace("dog", "cat"))
    other = tmp_path / "out" / "import" / "theirs-0123456789ab"  # not this study's: left alone
    other.mkdir(parents=True)
    (other / "stage.json").write_text(json.dumps({"study": "/elsewhere/study.yaml"}))
    lines: list[str] = []
    plan = run_study(load_study(study), dry_run=True, prune=True, say=lines.append)
    assert f"prunable {old}" in lines
    assert old.is_dir()  # a dry run deletes nothing
    new = run_study(load_study(study), prune=True, say=lines.append)
    assert not old.exists() and other.is_dir()
    assert new.result("import.pope").is_file()
    assert plan.ran() == ["import.pope"]
    with pytest.raises(ConfigError, match="--prune needs every stage"):
        run_study(load_study(study), only="import", prune=True, say=_quiet)
