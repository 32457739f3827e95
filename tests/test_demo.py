"""The quickstart demo, scaled down: an English VLM learns the toy world, and LoRA takes it to Romanian.

The full demo (README) runs for minutes; here every step count is cut so the whole study (world, vision
warm-up, pretraining, MT noise, LoRA, translate-test, evaluate, report) runs in about a minute, and the
margins are ones that chance cannot give: answering Romanian questions in Romanian words has to be learned.
The demo is `vlmadapt run` on the shipped study, so each output lives in OUT/<stage>/<name>-<key>/.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from vlmadapt.demo import DemoConfig, run
from vlmadapt.demo.run import overrides, study_file
from vlmadapt.errors import VlmadaptError
from vlmadapt.jsonl import iter_jsonl, read_records
from vlmadapt.records import Example

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoConfig:
    root = tmp_path_factory.mktemp("demo")
    cfg = DemoConfig(
        out=root / "out",
        lang="ro",
        images=120,
        test_images=24,
        vision_steps=80,
        pretrain_steps=150,
        lora_steps=100,
        batch_size=16,
        mt_noise=0.5,
        cache=root / "cache",
    )
    run(cfg)
    return cfg


def _dir(cfg: DemoConfig, stage: str, name: str) -> Path:
    """The one output folder of a study block: OUT/<stage>/<name>-<12 hex>."""
    (found,) = [p for p in (cfg.out / stage).iterdir() if re.fullmatch(rf"{name}-[0-9a-f]{{12}}", p.name)]
    return found


def _score(cfg: DemoConfig, block: str, metric: str) -> float:
    scores = json.loads((_dir(cfg, "evaluate", block) / "scores.json").read_text())
    return float(scores["metrics"][metric]["score"])


def _losses(run_dir: Path) -> list[float]:
    history = json.loads((run_dir / "metrics.json").read_text())["log_history"]
    return [float(h["loss"]) for h in history if "loss" in h]


def _english(cfg: DemoConfig) -> Path:
    (english,) = cfg.cache_dir().glob("english-qwen2_vl-*/pretrain")
    return english


@pytest.mark.slow
def test_pretraining_and_lora_lower_the_loss(demo: DemoConfig) -> None:
    pre = _losses(_english(demo))
    assert pre[-1] < pre[0] / 4
    lora = _losses(_dir(demo, "train", "lora-ro"))
    assert lora[-1] < lora[0] / 2


@pytest.mark.slow
def test_lora_beats_the_english_model_asked_in_romanian(demo: DemoConfig) -> None:
    direct = _score(demo, "english-direct-open", "exact_match")
    adapted = _score(demo, "lora-ro-open", "exact_match")
    # The unadapted model answers in English, so it matches no Romanian reference; after the LoRA stage
    # the answers are Romanian words (about 21 here after a few steps; 79 in the full demo)
    assert direct <= 5 and adapted >= direct + 15
    assert _score(demo, "lora-ro-open", "lang_fidelity") >= 80
    assert _score(demo, "lora-ro-yes-no", "unparsed") <= 10  # "da" / "nu", not "yes" / "no"


@pytest.mark.slow
def test_lora_trains_adapters_inside_the_language_model_only(demo: DemoConfig) -> None:
    from safetensors.torch import load_file

    from vlmadapt.models import load_model

    adapter = _dir(demo, "train", "lora-ro")
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"]) == (16, 16)
    keys = list(load_file(adapter / "adapter_model.safetensors"))
    # adapters on the language model's layers and its output head (lm_head), nothing on the vision side
    assert keys and all(".language_model." in k or k.startswith("base_model.model.lm_head.") for k in keys)
    assert any("lm_head.lora_A" in k for k in keys) and any(".language_model.layers." in k for k in keys)
    english = _english(demo)
    base, _ = load_model(english, "qwen2_vl")
    from peft import PeftModel

    tuned = PeftModel.from_pretrained(load_model(english, "qwen2_vl")[0], adapter)
    frozen = {k: v for k, v in base.state_dict().items() if ".visual." in f".{k}"}
    tuned_state = {k.removeprefix("base_model.model."): v for k, v in tuned.state_dict().items()}
    assert frozen and all(tuned_state[k].equal(v) for k, v in frozen.items())


@pytest.mark.slow
def test_translate_test_and_noisy_mt_systems_and_the_report(demo: DemoConfig) -> None:
    predictions = _dir(demo, "predict", "translate-test-open") / "predictions.jsonl"
    rows = [row for _, row in iter_jsonl(predictions)]
    assert rows and all("question_en" in r["meta"]["translate_test"] for r in rows)
    noisy = list(read_records(_dir(demo, "noise", "ro") / "noisy.jsonl", Example))
    assert any(ex.meta.get("mt_noise") == "untranslated" for ex in noisy)
    assert any(ex.meta.get("mt_noise") == "mistranslated" for ex in noisy)
    assert {ex.meta["split"] for ex in noisy} == {"train"}  # the test questions stay exact
    md = (_dir(demo, "report", "report") / "report.md").read_text(encoding="utf-8")
    for system in ("english-en", "english-direct", "translate-test", "lora-ro", "lora-ro-noisy"):
        assert system in md
    assert "Training loss" in md  # the curves found through the predictions' adapter and model folders
    # what ran is beside the outputs: the shipped study with the noise share asked for
    ran = yaml.safe_load((demo.out / "study.yaml").read_text(encoding="utf-8"))
    assert ran == yaml.safe_load(study_file("ro").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_a_second_run_runs_nothing_and_another_folder_reuses_the_english_model(
    demo: DemoConfig, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from vlmadapt.study.stages import EnglishConfig, run_english

    english = _english(demo)
    lora = _dir(demo, "train", "lora-ro")
    stamps = {p: p.stat().st_mtime_ns for p in (english / "metrics.json", lora / "metrics.json")}
    predictions = _dir(demo, "predict", "lora-ro-open") / "predictions.jsonl"
    lines = predictions.read_text(encoding="utf-8")
    capsys.readouterr()
    run(demo)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert predictions.read_text(encoding="utf-8") == lines
    err = capsys.readouterr().err
    assert f"the demo's study: {study_file('ro')}" in err
    steps = [line.split()[0] for line in err.splitlines() if re.match(r"(run|cached) +\S+ +", line)]
    assert len(steps) == 36 and set(steps) == {"cached"}  # every block of the study, none run again
    # The English model of a demo in another folder (or language) comes from the cache, copied.
    again = run_english(
        EnglishConfig(
            out=tmp_path / "english",
            world=_dir(demo, "world", "world"),
            vision_steps=80,
            pretrain_steps=150,
            cache=demo.cache_dir(),
        )
    )
    assert "English model: cached" in capsys.readouterr().err
    assert (again / "model.safetensors").read_bytes() == (english / "model.safetensors").read_bytes()
    assert not (again / "checkpoints").exists()
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_demo_options_are_checked_before_anything_runs(cli: Any, tmp_path: Path) -> None:
    code, _, err = cli(["demo", "--lang", "de", "--out", str(tmp_path / "d")])
    assert code == 2 and "lang" in err and "'ro'" in err
    code, _, err = cli(["demo", "--mt-noise", "1.5", "--out", str(tmp_path / "d")])
    assert code == 2 and "mt_noise" in err
    assert not (tmp_path / "d").exists()


def _readme_tables() -> list[list[str]]:
    """Each demo-section table's system column: `| english-en (English) |` -> english-en."""
    section = README.read_text(encoding="utf-8").split("## The demo:")[1].split("\n## ")[0]
    tables: list[list[str]] = []
    for block in section.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("| ") and not line.startswith("| ---")]
        if rows and rows[0].startswith("| system"):
            tables.append([row.split("|")[1].split()[0] for row in rows[1:]])
    return tables


def _readme_systems() -> list[str]:
    return _readme_tables()[0]


def _study_systems(lang: str) -> list[str]:
    """The systems of the shipped study's report, in its order, from the systems its evaluations score."""
    from vlmadapt.study import load_study

    study = load_study(study_file(lang))
    report = yaml.safe_load(study_file(lang).read_text(encoding="utf-8"))["report"]["runs"]
    systems = [study.nodes[run].block["system"] for run in report]
    return list(dict.fromkeys(systems))


def test_the_shipped_study_and_the_readme_table_name_the_same_systems() -> None:
    """The README's seed table holds what `vlmadapt demo` runs: the study without the --mt-noise arm."""
    expected = ["english-en", "english-direct", "translate-test", "lora-ro"]
    assert _readme_systems() == expected
    assert all(set(table) <= set(expected) for table in _readme_tables())
    assert _study_systems("ro") == [*expected, "lora-ro-noisy"]
    french = ["english-en", "english-direct", "translate-test", "lora-fr", "lora-fr-noisy"]
    assert _study_systems("fr") == french


def test_the_shipped_studies_hold_the_demo_defaults() -> None:
    for lang in ("ro", "fr"):
        study = yaml.safe_load(study_file(lang).read_text(encoding="utf-8"))
        world = {"images": 3440, "test_images": 600, "exists": 2, "seed": 0, "langs": ["en", lang]}
        assert study["world"] == world
        assert study["english"] == {"world": "world", "vision_steps": 300, "pretrain_steps": 1500, "seed": 0}
        assert study["noise"] == {lang: {"input": f"world.{lang}.train-qa", "share": 0.3, "seed": 0}}
        for arm in (f"lora-{lang}", f"lora-{lang}-noisy"):
            train = study["train"][arm]
            assert train["lora"] == {"r": 16, "alpha": 16, "groups": ["language_model", "lm_head"]}
            assert train["data"]["limit"] == 19200
            assert (train["train"]["max_steps"], train["train"]["batch_size"]) == (600, 32)
            assert (train["train"]["lr"], train["train"]["seed"]) == (3e-3, 0)
    d = DemoConfig()
    assert (d.images, d.test_images, d.seed, d.vision_steps, d.pretrain_steps) == (3440, 600, 0, 300, 1500)
    assert (d.lora_steps, d.batch_size, d.lora_lr, d.mt_noise) == (600, 32, 3e-3, 0.0)


def test_demo_options_become_study_overrides(tmp_path: Path) -> None:
    assert overrides(DemoConfig(cache=tmp_path)) == [f"english.cache={tmp_path}"]
    cfg = DemoConfig(lang="fr", images=1200, lora_steps=50, batch_size=8, mt_noise=0.25, seed=3)
    cfg.cache = tmp_path
    head = ["world.images=1200", f"english.cache={tmp_path}"]
    arms = [
        "noise.fr.share=0.25",
        *[f"train.{arm}.{k}" for arm in ("lora-fr", "lora-fr-noisy")
          for k in ("train.max_steps=50", "train.batch_size=8", "data.limit=400")],
    ]  # fmt: skip
    seeds = [
        "english.seed=3",
        "noise.fr.seed=3",
        "train.lora-fr.train.seed=3",
        "train.lora-fr-noisy.train.seed=3",
    ]
    assert overrides(cfg) == [*head, *seeds, *arms]
    # the world has its own seed: the training seed leaves it alone
    assert overrides(cfg.model_copy(update={"seed": 0, "world_seed": 5})) == [*head, "world.seed=5", *arms]


def _fake_demo(out: Path, figures: dict[str, tuple[float, float]]) -> None:
    """A demo folder's finished evaluate runs: {system: (open VQA exact match, yes/no accuracy)}."""
    for system, (open_vqa, yes_no) in figures.items():
        for scorer, metric, value in (("open_vqa", "exact_match", open_vqa), ("pope", "accuracy", yes_no)):
            run = out / "evaluate" / f"{system}-{scorer}-0123456789ab"
            run.mkdir(parents=True)
            scores = {"system": system, "scorer": scorer, "metrics": {metric: {"score": value}}}  # percent
            (run / "scores.json").write_text(json.dumps(scores))
            (run / "stage.done.json").write_text("{}")


def test_seeds_run_one_demo_each_and_tabulate_mean_and_spread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vlmadapt.demo.seeds import run_seeds

    run_module = importlib.import_module("vlmadapt.demo.run")  # the package's `run` is the function

    ran: list[DemoConfig] = []
    draws = {0: (80.0, 90.0), 1: (81.0, 89.0), 2: (79.5, 95.0)}

    def fake_run(cfg: DemoConfig) -> Path:
        ran.append(cfg)
        lora, yes_no = draws[cfg.seed]
        _fake_demo(cfg.out, {"translate-test": (70.0, yes_no), "lora-ro": (lora, 60.0)})
        return cfg.out

    monkeypatch.setattr(run_module, "run", fake_run)
    table = run_seeds(DemoConfig(out=tmp_path, seeds=[0, 1, 2], lora_steps=50), say=lambda _: None)
    assert [(c.seed, c.out, c.lora_steps, c.seeds) for c in ran] == [
        (s, tmp_path / f"seed-{s}", 50, []) for s in (0, 1, 2)
    ]
    text = table.read_text()
    assert "| translate-test | 70.0 / 70.0 / 70.0 | 70.0 | 0.0 | 90.0 / 89.0 / 95.0 | 91.3 | 6.0 |" in text
    assert "| lora-ro | 80.0 / 81.0 / 79.5 | 80.2 | 1.5 | 60.0 / 60.0 / 60.0 | 60.0 | 0.0 |" in text
    assert "open VQA exact match: widest spread 1.5 points (goal: at most 2); the same order" in text
    assert "yes/no accuracy: widest spread 6.0 points (goal: at most 2); the same order" in text


def test_seed_figures_need_a_finished_demo(tmp_path: Path) -> None:
    from vlmadapt.demo.seeds import figures

    with pytest.raises(VlmadaptError, match="no finished evaluate runs"):
        figures(tmp_path)
