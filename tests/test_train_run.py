"""Training end to end on the tiny fixture of every family, through the tiny recipes.

A few steps lower the loss; every adapter weight changes while every vision, projector and base weight
stays bit-identical; the adapter saves, reloads and generates the same tokens; a killed run resumes to the
same adapter; export merges; bad examples are rejected with reasons; config errors stop before any
model loads; QLoRA refuses to start without CUDA.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import TrainerCallback

from vlmadapt.errors import ConfigError, VlmadaptError
from vlmadapt.train import load_train_config, run

RECIPES = Path(__file__).resolve().parents[1] / "recipes" / "tiny"
# family -> (tiny recipe, extra overrides); every family runs through one of the study's tiny recipes
RUNS: dict[str, tuple[str, list[str]]] = {
    "qwen2_vl": ("ro-qwen2vl-lora", []),
    "qwen2_5_vl": ("ro-qwen2vl-lora", []),
    "mllama": ("ro-llama32v-lora", ["train.gradient_checkpointing=true"]),
    "llava_next": ("ro-llava16-qlora", ["model.quantization=none", "train.eval_steps=2"]),
    "llava": ("ro-llava16-qlora", ["model.quantization=none"]),
}
TEXT_ONLY = [
    {
        "id": "chat-1",
        "task": "conversation",
        "lang": "ro",
        "meta": {"split": "train"},
        "turns": [
            {"role": "user", "content": "Bună! Ce poți face?"},
            {"role": "assistant", "content": "Pot descrie imagini."},
            {"role": "user", "content": "Mulțumesc."},
            {"role": "assistant", "content": "Cu plăcere."},
        ],
    },
    {
        "id": "text-1",
        "task": "open_vqa",
        "lang": "ro",
        "meta": {"split": "train"},
        "question": "Ce culoare are cerul?",
        "answers": ["Albastru."],
    },
]
BAD = [
    {
        "id": "bad-missing",
        "task": "open_vqa",
        "lang": "ro",
        "meta": {"split": "train"},
        "image": "images/no.png",
        "question": "Ce este?",
        "answers": ["Nimic."],
    },
    {
        "id": "bad-corrupt",
        "task": "open_vqa",
        "lang": "ro",
        "meta": {"split": "train"},
        "image": "images/corrupt.png",
        "question": "Ce este?",
        "answers": ["Nimic."],
    },
    {
        "id": "bad-empty",
        "task": "caption",
        "lang": "ro",
        "meta": {"split": "train"},
        "image": "images/toy-00001.png",
        "answers": [""],
    },
    {
        "id": "bad-long",
        "task": "open_vqa",
        "lang": "ro",
        "meta": {"split": "train"},
        "image": "images/toy-00001.png",
        "question": "De ce? " * 300,
        "answers": ["Pentru că."],
    },
]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Toy-world records (6 training examples with images, a test split), two text-only examples, four bad
    examples and one line that is not JSON."""
    from vlmadapt.data.toy import generate_world

    root = tmp_path_factory.mktemp("toy")
    paths = generate_world(root, 5, langs=("ro", "fr"))
    (root / "images" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    toy = [json.loads(line) for line in paths["ro"].read_text(encoding="utf-8").splitlines()]
    train = [r for r in toy if r["meta"]["split"] == "train"][:6]
    test = [r for r in toy if r["meta"]["split"] == "test"][:4]
    lines = [json.dumps(r, ensure_ascii=False) for r in [*TEXT_ONLY, *BAD, *train, *test]]
    (root / "eval.jsonl").write_text("".join(x + "\n" for x in lines[-len(test) :]), encoding="utf-8")
    lines.insert(3, '{"id": "bad-json", "task": ')
    (root / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    fr = [
        r
        for r in (json.loads(x) for x in paths["fr"].read_text(encoding="utf-8").splitlines())
        if r["meta"]["split"] == "train"
    ][:6]
    (root / "fr.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in fr), encoding="utf-8"
    )
    return root


class Snapshot(TrainerCallback):
    """Parameters at the start and end of each training run, and the trained model."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []

    def on_train_begin(
        self, args: Any, state: Any, control: Any, model: Any = None, optimizer: Any = None, **kwargs: Any
    ) -> None:
        self.runs.append(
            {
                "before": {n: p.detach().clone() for n, p in model.named_parameters()},
                "trainable": {n for n, p in model.named_parameters() if p.requires_grad},
                "lrs": sorted({g["initial_lr"] for g in optimizer.param_groups}) if optimizer else None,
            }
        )

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        self.runs[-1]["after"] = {n: p.detach().clone() for n, p in model.named_parameters()}
        self.runs[-1]["model"] = model

    def changed(self, i: int = -1) -> tuple[set[str], set[str]]:
        """(names that changed, names that stayed bit-identical) in run i."""
        r = self.runs[i]
        same = {n for n in r["before"] if torch.equal(r["before"][n], r["after"][n])}
        return set(r["before"]) - same, same


@pytest.fixture(scope="module")
def lora_run(data: Path, tiny_model: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """family -> (output dir, Snapshot) of its tiny recipe, trained once per module."""
    done: dict[str, tuple[Path, Snapshot]] = {}

    def get(family: str) -> tuple[Path, Snapshot]:
        if family not in done:
            recipe, extra = RUNS[family]
            out = tmp_path_factory.mktemp(f"run_{family}")
            cfg = load_train_config(
                RECIPES / f"{recipe}.yaml",
                [
                    f"model.path={tiny_model(family)}",
                    f"data.train={data / 'train.jsonl'}",
                    f"output_dir={out}",
                    *([f"data.eval={data / 'eval.jsonl'}"] if "train.eval_steps=2" in extra else []),
                    *extra,
                ],
            )
            snap = Snapshot()
            assert run(cfg, callbacks=[snap]) == out
            done[family] = (out, snap)
        return done[family]

    return get


def collate_all(out: Path, family: str, data: Path) -> list[dict[str, Any]]:
    """The training batches of a run, rebuilt from its saved recipe and processor."""
    import yaml

    from vlmadapt.models import FAMILIES
    from vlmadapt.train.config import TrainConfig
    from vlmadapt.train.run import load_data, load_processor

    cfg = TrainConfig.model_validate(yaml.safe_load((out / "recipe.yaml").read_text(encoding="utf-8")))
    cfg = cfg.model_copy(update={"output_dir": out.parent / f"{out.name}-reload"})
    loaded = load_data(cfg, FAMILIES[family], load_processor(str(out), FAMILIES[family]))
    return [loaded.collator([b]) for b in loaded.train]


def mean_loss(model: Any, batches: list[dict[str, Any]]) -> float:
    model.eval()
    with torch.no_grad():
        return sum(float(model(**b).loss) for b in batches) / len(batches)


def greedy(model: Any, family: str, processor: Any, image: Any) -> list[int]:
    from vlmadapt.models import FAMILIES, build_prompt, encode

    fam = FAMILIES[family]
    prompt = build_prompt(fam, processor, "Ce culoare are cercul?", image=True)
    inputs = encode(fam, processor, [prompt], [image])
    model.eval()
    with torch.no_grad():
        ids = model.generate(**inputs, max_new_tokens=6, min_new_tokens=6, do_sample=False)
    return ids[0, inputs["input_ids"].shape[1] :].tolist()


@pytest.mark.parametrize("family", list(RUNS))
def test_lora_trains_only_the_adapters_and_reloads(
    family: str, lora_run: Any, tiny_model: Any, data: Path
) -> None:
    from peft import PeftModel
    from safetensors.torch import load_file

    from vlmadapt.images import load_image
    from vlmadapt.models import load_model

    out, snap = lora_run(family)
    for name in (
        "adapter_config.json",
        "adapter_model.safetensors",
        "tokenizer.json",
        "recipe.yaml",
        "plan.json",
        "metrics.json",
        "rejects.jsonl",
        "provenance.json",
    ):
        assert (out / name).is_file(), name

    # only the LoRA weights of the language model trained, and every one of them changed
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    trainable = snap.runs[0]["trainable"]
    assert trainable and all(".lora_" in n for n in trainable)
    assert len(trainable) == 2 * plan["num_targets"]
    assert all(n.startswith("base_model.model.model.language_model.") for n in trainable)
    changed, same = snap.changed()
    assert changed == trainable
    assert same == set(snap.runs[0]["before"]) - trainable  # vision, projector, base: bit-identical

    # rejected examples, with their reasons; the rest trained
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["data"]["train_examples"] == 8 and metrics["data"]["train_rejected"] == 5
    reasons = [json.loads(line)["reason"] for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert len(reasons) == 5 and any(r.startswith("json") for r in reasons)
    for expected in ("image not found", "unreadable image", "empty answer", "over max_length"):
        assert any(expected in r for r in reasons), expected
    if family == "llava_next":
        assert any("eval_loss" in entry for entry in metrics["log_history"])

    # the saved adapter is the trained one; reloaded on the base it lowers the loss and generates the same
    saved = load_file(out / "adapter_model.safetensors")
    trained = snap.runs[0]["after"]
    assert len(saved) == len(trainable)
    for key, value in saved.items():
        name = key.replace(".weight", ".default.weight")
        assert torch.equal(trained[name], value), key
    base, processor = load_model(tiny_model(family))
    batches = collate_all(out, family, data)
    before = mean_loss(base, batches)
    image = load_image(data, "images/toy-00002.png")
    expected = greedy(snap.runs[0]["model"], family, processor, image)
    adapted = PeftModel.from_pretrained(base, str(out))
    assert mean_loss(adapted, batches) < before
    assert greedy(adapted, family, processor, image) == expected


def test_export_merges_the_adapter_into_the_base(
    lora_run: Any, tiny_model: Any, data: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from vlmadapt.cli import app
    from vlmadapt.images import load_image
    from vlmadapt.models import load_model

    out, snap = lora_run("llava")
    result = CliRunner().invoke(app, ["export", str(out), "--out", str(tmp_path / "merged")])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "merged" / "adapter_config.json").exists()
    merged, processor = load_model(tmp_path / "merged")
    image = load_image(data, "images/toy-00002.png")
    assert greedy(merged, "llava", processor, image) == greedy(
        snap.runs[0]["model"], "llava", processor, image
    )


class Crash(TrainerCallback):
    """Kills the run (an exception out of the training loop) once checkpoint-2 is written."""

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == 2:
            raise KeyboardInterrupt("killed")


def test_a_killed_run_resumes_to_the_same_adapter(data: Path, tiny_model: Any, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    base = [
        f"model.path={tiny_model('qwen2_vl')}",
        f"data.train={data / 'train.jsonl'}",
        "data.limit=7",
        "train.max_steps=4",
        "train.save_steps=2",
    ]
    recipe = RECIPES / "ro-qwen2vl-lora.yaml"
    run(load_train_config(recipe, [*base, f"output_dir={tmp_path / 'whole'}"]))
    with pytest.raises(KeyboardInterrupt):
        run(load_train_config(recipe, [*base, f"output_dir={tmp_path / 'killed'}"]), callbacks=[Crash()])
    assert sorted(p.name for p in (tmp_path / "killed" / "checkpoints").iterdir()) == ["checkpoint-2"]
    assert not (tmp_path / "killed" / "adapter_model.safetensors").exists()
    run(load_train_config(recipe, [*base, f"output_dir={tmp_path / 'killed'}"]))  # resume: auto
    whole = load_file(tmp_path / "whole" / "adapter_model.safetensors")
    resumed = load_file(tmp_path / "killed" / "adapter_model.safetensors")
    assert whole.keys() == resumed.keys()
    for key in whole:
        torch.testing.assert_close(resumed[key], whole[key], rtol=0, atol=1e-6)
    losses = [
        [
            (e["step"], e["loss"])
            for e in json.loads((tmp_path / d / "metrics.json").read_text())["log_history"]
            if "loss" in e
        ]
        for d in ("whole", "killed")
    ]
    assert losses[0] == losses[1] and [step for step, _ in losses[0]] == [1, 2, 3, 4]


def lm_and_encoder(tiny_llava: Path, dest: Path) -> tuple[Path, Path]:
    """A causal LM (Mistral) and a SigLIP vision encoder, each saved alone, cut from the tiny LLaVA."""
    from transformers import (
        AutoTokenizer,
        LlavaForConditionalGeneration,
        MistralForCausalLM,
        SiglipImageProcessor,
    )

    llava = LlavaForConditionalGeneration.from_pretrained(tiny_llava)
    lm = MistralForCausalLM(llava.config.text_config)
    lm.model, lm.lm_head = llava.model.language_model, llava.lm_head
    lm.save_pretrained(dest / "lm")
    AutoTokenizer.from_pretrained(tiny_llava).save_pretrained(dest / "lm")
    llava.model.vision_tower.save_pretrained(dest / "siglip")
    SiglipImageProcessor.from_pretrained(tiny_llava).save_pretrained(dest / "siglip")
    return dest / "lm", dest / "siglip"


def test_french_recipes_assemble_pretrain_finetune_and_double_finetune(
    data: Path, tiny_model: Any, tmp_path: Path
) -> None:

    lm, siglip = lm_and_encoder(tiny_model("llava"), tmp_path)
    common = [f"data.train={data / 'fr.jsonl'}"]
    snap = Snapshot()

    # 1. assembly + projector alignment: the projector alone trains
    pretrain = tmp_path / "pretrain"
    run(
        load_train_config(
            RECIPES / "fr-llava-pretrain.yaml",
            [
                *common,
                f"output_dir={pretrain}",
                f"assemble.language_model={lm}",
                f"assemble.vision_encoder={siglip}",
            ],
        ),
        callbacks=[snap],
    )
    config = json.loads((pretrain / "base" / "config.json").read_text())
    assert config["architectures"] == ["LlavaForConditionalGeneration"]
    changed, _ = snap.changed(0)
    assert changed == snap.runs[0]["trainable"]
    assert changed and all(n.startswith("model.multi_modal_projector.") for n in changed)
    from transformers import MistralForCausalLM, SiglipVisionModel

    from vlmadapt.models import load_model

    saved, _ = load_model(pretrain)  # the full model, ready for the next stage
    source_lm, source_vision = (
        MistralForCausalLM.from_pretrained(lm),
        SiglipVisionModel.from_pretrained(siglip),
    )
    for mine, theirs in (
        (saved.model.language_model, source_lm.model),
        (saved.lm_head, source_lm.lm_head),
        (saved.model.vision_tower, source_vision),
    ):
        pairs = zip(mine.state_dict().items(), theirs.state_dict().items(), strict=True)
        assert all(a == b and torch.equal(x, y) for (a, x), (b, y) in pairs)

    # 2. LoRA r=128 / alpha=256 on the language model, the projector at its own learning rate
    run(
        load_train_config(
            RECIPES / "fr-llava-lora.yaml",
            [*common, f"output_dir={tmp_path / 'lora'}", f"model.path={pretrain}"],
        ),
        callbacks=[snap],
    )
    assert snap.runs[1]["lrs"] == [2e-5, 2e-4]
    adapter = json.loads((tmp_path / "lora" / "adapter_config.json").read_text())
    assert (adapter["r"], adapter["lora_alpha"]) == (128, 256)
    changed, _ = snap.changed(1)
    assert {n.split(".modules_to_save")[0] for n in changed if ".lora_" not in n} == {
        "base_model.model.model.multi_modal_projector"
    }

    # 3. the double finetune: both stages run, the second from the first's weights
    double = tmp_path / "double"
    run(
        load_train_config(
            RECIPES / "fr-llava-double.yaml", [*common, f"output_dir={double}", f"model.path={pretrain}"]
        ),
        callbacks=[snap],
    )
    assert (double / "01-vision" / "model.safetensors").is_file()
    assert (double / "02-language" / "adapter_model.safetensors").is_file()
    changed, _ = snap.changed(2)
    assert any(".vision_tower." in n for n in changed) and any(
        ".multi_modal_projector." in n for n in changed
    )
    assert not any(".language_model." in n for n in changed)
    assert snap.runs[3]["lrs"] == [2e-7, 2e-5, 2e-4]  # vision near zero, projector, adapters
    stage2 = json.loads((double / "02-language" / "adapter_config.json").read_text())
    assert stage2["base_model_name_or_path"] == str(double / "01-vision")
    # a re-run finds both stages finished and trains nothing
    again = Snapshot()
    run(
        load_train_config(
            RECIPES / "fr-llava-double.yaml", [*common, f"output_dir={double}", f"model.path={pretrain}"]
        ),
        callbacks=[again],
    )
    assert again.runs == []


def test_config_errors_stop_before_any_model_loads(
    data: Path, tiny_model: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vlmadapt.models

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(vlmadapt.models, "load_model", refuse)
    base = [
        f"model.path={tiny_model('qwen2_vl')}",
        f"data.train={data / 'train.jsonl'}",
        f"output_dir={tmp_path / 'out'}",
    ]
    recipe = RECIPES / "ro-qwen2vl-lora.yaml"
    cases = [
        (
            ["model.family=qwen9_vl"],
            ConfigError,
            r"model\.family: unknown VLM family 'qwen9_vl'; known: .*qwen2_vl",
        ),
        (["model.family=mllama"], VlmadaptError, r"family"),
        (["lora.modules=[model.language_model.layers.0.self_attn.qq_proj]"], ConfigError, r"lora\.modules"),
        ([f"data.train={tmp_path / 'none.jsonl'}"], ConfigError, r"data\.train: no such file"),
        ([f"model.path={tiny_model('llava_next')}"], ConfigError, r"data\.min_pixels/max_pixels"),
        (["data.strict=true"], VlmadaptError, r"train\.jsonl:4: json: "),
        (
            [f"model.path={tiny_model('mllama')}", "data.max_pixels=null", "data.system_prompt=Hi"],
            ConfigError,
            r"data\.system_prompt: mllama",
        ),
    ]
    for overrides, error, message in cases:
        with pytest.raises(error, match=message):
            run(load_train_config(recipe, [*base, *overrides]))
    # every example rejected (none fits in 8 tokens): the reasons are written before the error names them
    with pytest.raises(VlmadaptError, match=r"no usable train examples \(\d+ rejected; reasons in .*rejects"):
        run(load_train_config(recipe, [*base, "data.max_length=8"]))
    assert "over max_length 8" in (tmp_path / "out" / "rejects.jsonl").read_text(encoding="utf-8")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on machines without CUDA")
def test_qlora_without_cuda_is_a_clear_error(data: Path, tiny_model: Any, tmp_path: Path) -> None:
    from vlmadapt.train.qlora import quantization_config

    cfg = load_train_config(
        RECIPES / "ro-llava16-qlora.yaml",
        [
            f"model.path={tiny_model('llava_next')}",
            f"data.train={data / 'train.jsonl'}",
            f"output_dir={tmp_path}",
        ],
    )
    with pytest.raises(ConfigError, match=r"model\.quantization: '4bit' \(QLoRA\) needs a CUDA GPU"):
        run(cfg)
    assert not (tmp_path / "plan.json").exists()
    from vlmadapt.models import FAMILIES

    bnb = quantization_config(FAMILIES["llava_next"].layout(), torch.bfloat16)
    assert bnb.load_in_4bit and bnb.bnb_4bit_quant_type == "nf4"
    assert sorted(bnb.llm_int8_skip_modules) == [
        "lm_head",
        "model.image_newline",
        "model.multi_modal_projector",
        "model.vision_tower",
    ]


def test_tensorboard_is_optional(tmp_path: Path) -> None:
    from transformers.integrations import is_tensorboard_available

    from vlmadapt.train.trainer import tensorboard

    assert tensorboard(False, tmp_path) is None
    if is_tensorboard_available():
        assert tensorboard("auto", tmp_path).logging_dir == str(tmp_path)
    else:
        assert tensorboard("auto", tmp_path) is None
        with pytest.raises(ConfigError, match=r"train\.tensorboard"):
            tensorboard(True, tmp_path)
