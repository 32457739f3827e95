"""`predict --adapter` on the tiny Qwen2-VL: a briefly trained LoRA adapter changes the answers, and the
answers are exactly those of the adapter loaded by hand with PEFT."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from vlmadapt.cli import main
from vlmadapt.data.toy import generate_world
from vlmadapt.jsonl import read_records
from vlmadapt.records import Example, Prediction

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "tiny" / "ro-qwen2vl-lora.yaml"


@pytest.fixture(scope="module")
def tiny(tiny_model: Callable[[str], Path]) -> Path:
    return tiny_model("qwen2_vl")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_world(tmp_path_factory.mktemp("world"), n_images=6, seed=3, langs=("ro",))["ro"]


@pytest.fixture(scope="module")
def adapter(tiny: Path, world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter trained for a few steps with a high learning rate, so its answers move."""
    from vlmadapt.train import load_train_config, run

    out = tmp_path_factory.mktemp("adapter")
    overrides = [f"model.path={tiny}", f"data.train={world}", f"output_dir={out}", "train.lr=5.0e-2"]
    assert run(load_train_config(RECIPE, overrides)) == out
    assert (out / "adapter_config.json").is_file()
    return out


def _predict(tiny: Path, world: Path, out: Path, *extra: str) -> dict[str, Prediction]:
    args = ["predict", "--model", str(tiny), "--data", str(world), "--out", str(out)]
    with pytest.raises(SystemExit) as info:
        main([*args, "--limit", "6", "--batch-size", "3", "--max-new-tokens", "5", *extra])
    assert info.value.code == 0
    return {p.id: p for p in read_records(out, Prediction)}


def test_adapter_changes_predictions_and_matches_peft_by_hand(
    tiny: Path, world: Path, adapter: Path, tmp_path: Path
) -> None:
    import torch
    from peft import PeftModel

    from vlmadapt.images import load_image
    from vlmadapt.models import FAMILIES, encode, load_model

    base = _predict(tiny, world, tmp_path / "base.jsonl")
    tuned = _predict(tiny, world, tmp_path / "tuned.jsonl", "--adapter", str(adapter))
    assert set(base) == set(tuned) and len(tuned) == 6
    assert all(p.adapter == str(adapter) and p.prediction is not None for p in tuned.values())
    assert [p.prediction for p in base.values()] != [tuned[i].prediction for i in base]

    model, processor = load_model(tiny)
    model = PeftModel.from_pretrained(model, str(adapter)).eval()
    examples = {ex.id: ex for ex in read_records(world, Example)}
    family = FAMILIES["qwen2_vl"]
    for row in tuned.values():
        ex = examples[row.id]
        assert row.prompt is not None and ex.image is not None
        inputs = encode(family, processor, [row.prompt], [load_image(world.parent, ex.image)])
        with torch.inference_mode():
            ids = model.generate(**inputs, max_new_tokens=5, do_sample=False)
        by_hand = processor.tokenizer.decode(ids[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        assert row.prediction == by_hand.strip(), row.id
