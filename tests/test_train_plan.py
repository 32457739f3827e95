"""LoRA targets and the plan: language model only, counted per group; dry runs from config.json alone.

The three models of the Romanian study (`vlmadapt.models.real`: the values of their public config.json
files) are written as config-only directories and planned on the meta device: at r = 16 their trainable
share must fall inside the study's reported 0.48-0.60%.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vlmadapt.errors import ConfigError
from vlmadapt.models.real import llama32_11b_vision, llava16_mistral_7b, qwen2_vl_7b
from vlmadapt.train import dry_run, load_train_config

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
FAMILIES = ["qwen2_vl", "qwen2_5_vl", "mllama", "llava_next", "llava"]
REAL = {
    "ro-qwen2vl-lora": (qwen2_vl_7b, 40_370_176),  # 28 layers x 16 x (2x7168 + 2x4096 + 3x22528)
    "ro-llama32v-lora": (llama32_11b_vision, 52_428_800),  # 40 layers (8 cross-attention) x 1,310,720
    "ro-llava16-qlora": (llava16_mistral_7b, 41_943_040),  # 32 layers x 1,310,720
}


@pytest.mark.parametrize("recipe", list(REAL))
def test_dry_run_of_the_real_architectures_gives_the_studys_trainable_share(
    recipe: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, adapters = REAL[recipe]
    make().save_pretrained(tmp_path / "model")  # config.json only: no weights, no tokenizer
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["config.json"]
    cfg = load_train_config(RECIPES / f"{recipe}.yaml", [f"model.path={tmp_path / 'model'}"])
    (plan,) = dry_run(cfg)
    groups = {g.group: g for g in plan.groups}
    assert plan.trainable == groups["adapters"].params == adapters
    assert all(g.trainable == 0 for name, g in groups.items() if name != "adapters")
    assert "other" not in groups  # every parameter belongs to a known part of the model
    assert 0.48 <= plan.share <= 0.60, plan.share
    with capsys.disabled():
        print(
            f"\n{recipe}: {plan.trainable:,} / {plan.total:,} = {plan.share:.3f}% trainable; "
            f"memory total {plan.memory['total'] / 2**30:.1f} GiB ({plan.precision})"
        )


def test_cli_dry_run_prints_the_plan_from_a_config_only_directory(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vlmadapt.cli import app

    llava16_mistral_7b().save_pretrained(tmp_path / "llava16")
    result = CliRunner().invoke(
        app,
        ["train", str(RECIPES / "ro-llava16-qlora.yaml"), f"model.path={tmp_path / 'llava16'}", "--dry-run"],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    for text in (
        "vision",
        "projector",
        "language_model",
        "lm_head",
        "adapters",
        "41,943,040",
        "0.551% trainable",
        "optimizer",
        "frozen: vision, projector, language_model, lm_head",
    ):
        assert text in result.output
    assert not (tmp_path / "runs").exists()  # a dry run writes nothing


@pytest.mark.parametrize("family", FAMILIES)
def test_targets_are_the_language_models_linear_layers_only(family: str, tiny_model: Any) -> None:
    from vlmadapt.models import FAMILIES as REGISTRY
    from vlmadapt.train.plan import lora_targets, meta_model

    fam = REGISTRY[family]
    model = meta_model(str(tiny_model(family)), fam.model_class)
    targets = lora_targets(model, fam.layout(), ["language_model"])
    prefix = fam.language_model[0] + "."
    assert targets and all(t.startswith(prefix) for t in targets)
    leaves = sorted({t.rsplit(".", 1)[1] for t in targets})
    assert leaves == ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]
    layers = model.get_submodule(fam.language_model[0]).config.num_hidden_layers
    assert len(targets) == 7 * layers  # Mllama's cross-attention layers included
    # a suffix list would also have hit the vision tower of every family but Qwen2-VL's (qkv/fc1/fc2)
    vision_linear = [
        n
        for n, m in model.named_modules()
        if n.startswith(fam.vision[0] + ".")
        and type(m).__name__ == "Linear"
        and n.rsplit(".", 1)[1] in leaves
    ]
    assert not set(vision_linear) & set(targets)
    with_head = lora_targets(model, fam.layout(), ["language_model", "lm_head"])
    assert with_head == [*targets, "lm_head"]


def test_mllama_cross_attention_projections_are_targets(tiny_model: Any) -> None:
    from vlmadapt.models import FAMILIES as REGISTRY
    from vlmadapt.train.plan import lora_targets, meta_model

    fam = REGISTRY["mllama"]
    model = meta_model(str(tiny_model("mllama")), fam.model_class)
    targets = lora_targets(model, fam.layout(), ["language_model"])
    assert any(".cross_attn.q_proj" in t for t in targets)
    assert any(".cross_attn.k_proj" in t for t in targets)


def test_a_module_that_does_not_exist_is_a_config_error(tiny_model: Any) -> None:
    from vlmadapt.models import FAMILIES as REGISTRY
    from vlmadapt.train.plan import lora_targets, meta_model

    fam = REGISTRY["llava"]
    model = meta_model(str(tiny_model("llava")), fam.model_class)
    extra = "model.multi_modal_projector.linear_1"
    assert lora_targets(model, fam.layout(), ["language_model"], [extra])[-1] == extra
    with pytest.raises(
        ConfigError,
        match=r"lora\.modules: .*'model\.language_model\.layers\.0\.q_proj'.*"
        r"named like model\.language_model\.layers\.0\.self_attn\.q_proj",
    ):
        lora_targets(model, fam.layout(), ["language_model"], ["model.language_model.layers.0.q_proj"])


def test_memory_estimate_counts_weights_adapters_gradients_and_adam(tmp_path: Path) -> None:
    llava16_mistral_7b().save_pretrained(tmp_path / "m")
    base = [f"model.path={tmp_path / 'm'}", "train.precision=bf16"]
    (full,) = dry_run(
        load_train_config(RECIPES / "ro-llava16-qlora.yaml", [*base, "model.quantization=none"])
    )
    (q4,) = dry_run(load_train_config(RECIPES / "ro-llava16-qlora.yaml", base))
    adapters = 41_943_040
    assert full.memory["adapters"] == adapters * 4
    assert full.memory["gradients"] == adapters * 4 and full.memory["optimizer"] == adapters * 8
    assert full.memory["weights"] == (full.total - adapters) * 2
    assert 3.5 < q4.memory["weights"] / 2**30 < 5.0 < 13.0 < full.memory["weights"] / 2**30 < 14.5
