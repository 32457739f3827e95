"""The train config: recipes load and validate, overrides apply, errors name the key, stages merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from vlmadapt.errors import ConfigError
from vlmadapt.train.config import TrainConfig, load_train_config, stage_configs

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
STUDY = [
    "ro-qwen2vl-lora",
    "ro-llama32v-lora",
    "ro-llava16-qlora",
    "fr-llava-pretrain",
    "fr-llava-lora",
    "fr-llava-double",
]


@pytest.mark.parametrize("name", STUDY)
@pytest.mark.parametrize("tiny", [False, True], ids=["study", "tiny"])
def test_every_recipe_and_its_tiny_variant_validate(name: str, tiny: bool) -> None:
    path = RECIPES / ("tiny" if tiny else "") / f"{name}.yaml"
    cfg = load_train_config(path)
    assert cfg.output_dir.parts[0] == "runs"
    assert stage_configs(cfg)


def test_romanian_recipes_carry_the_papers_hyperparameters() -> None:
    for name in STUDY[:3]:
        cfg = load_train_config(RECIPES / f"{name}.yaml")
        assert cfg.lora is not None
        assert (cfg.lora.r, cfg.lora.alpha, cfg.lora.dropout) == (16, 16, 0.0)
        assert cfg.lora.groups == ["language_model"]
        assert cfg.train.max_steps == 500
        assert cfg.train.lr == 2e-4
        assert cfg.train.batch_size * cfg.train.grad_accum == 16
    assert load_train_config(RECIPES / "ro-llava16-qlora.yaml").model.quantization == "4bit"


def test_french_recipes() -> None:
    pretrain = load_train_config(RECIPES / "fr-llava-pretrain.yaml")
    assert pretrain.lora is None and pretrain.trainable == ["projector"] and pretrain.assemble is not None
    lora = load_train_config(RECIPES / "fr-llava-lora.yaml")
    assert lora.lora is not None and (lora.lora.r, lora.lora.alpha) == (128, 256)
    vision, language = stage_configs(load_train_config(RECIPES / "fr-llava-double.yaml"))
    assert vision.lora is None and vision.trainable == ["vision", "projector"]
    assert language.lora is not None and language.lora.r == 128
    assert language.train.group_lr["vision"] < language.train.lr / 100  # the encoder's rate near zero
    assert vision.output_dir == Path("runs/fr-llava-double/01-vision")
    assert language.output_dir == Path("runs/fr-llava-double/02-language")
    assert language.train.batch_size == 16  # shared keys come from the recipe


def test_overrides_parse_numbers_and_nested_keys() -> None:
    cfg = load_train_config(
        RECIPES / "ro-qwen2vl-lora.yaml",
        ["train.lr=1e-4", "lora.r=8", "data.max_pixels=null", "output_dir=elsewhere"],
    )
    assert cfg.train.lr == 1e-4 and cfg.lora is not None and cfg.lora.r == 8
    assert cfg.data.max_pixels is None and cfg.output_dir == Path("elsewhere")


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("train.lrr=1", "train.lrr"),
        ("lora.r=0", "lora.r"),
        ("train.scheduler=sawtooth", "train.scheduler"),
        ("lora.groups=[decoder]", "lora.groups.0"),
        ("model.quantization=3bit", "model.quantization"),
        ("train.group_lr={vision: 1.0e-5}", "group_lr"),
    ],
)
def test_a_bad_key_or_value_names_the_key(override: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_train_config(RECIPES / "ro-qwen2vl-lora.yaml", [override])


def test_a_bad_stage_names_the_stage(tmp_path: Path) -> None:
    recipe = tmp_path / "staged.yaml"
    recipe.write_text(
        "output_dir: runs/x\nmodel: {path: m}\ndata: {train: t.jsonl}\nstages:\n"
        "  - {name: vision, lora: null, trainable: [vision]}\n"
        "  - {name: language, train: {lr: fast}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"stages\.1 \(language\): train\.lr"):
        load_train_config(recipe)


def test_nothing_to_train_and_conflicts_are_errors() -> None:
    base = {"output_dir": "o", "model": {"path": "m"}, "data": {"train": "t.jsonl"}}
    with pytest.raises(ValueError, match="nothing to train"):
        TrainConfig.model_validate({**base, "lora": None})
    with pytest.raises(ValueError, match="both fully trainable and given adapters"):
        TrainConfig.model_validate({**base, "trainable": ["language_model"]})
    with pytest.raises(ValueError, match=r"eval_steps needs data\.eval"):
        TrainConfig.model_validate({**base, "train": {"eval_steps": 5}})
