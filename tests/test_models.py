"""VLM families: registry, tiny fixtures loaded through `load_model`, prompts, forward/backward, generate.

Every family's tiny model is built once per session (conftest `tiny_model`) from its real config and
processor classes, saved, and loaded back by the same code a user's 7B checkpoint goes through.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vlmadapt.errors import ConfigError, UnknownNameError, VlmadaptError
from vlmadapt.models import (
    FAMILIES,
    build_prompt,
    build_tiny,
    detect_family,
    encode,
    get_family,
    group_of,
    language_model,
    load_model,
    param_groups,
    render_with_spans,
)

ALL = list(FAMILIES)
# Image placeholder tokens for the 64x48 test image, computed by hand from each processor's rules.
# Qwen: resized to 56x56 -> 4x4 patches of 14 -> 2x2 after the 2x2 merge. Mllama: one <|image|> (the image
# enters through cross-attention). LLaVA-NeXT: best grid 56x56 = 2x2 views of 28 px -> 4x4 features (no
# row removed by unpadding) + 4 row newlines + 2x2 base features + 1 CLS, minus the CLS the "default"
# strategy drops = 24. LLaVA with SigLIP: 56x56 -> 4x4 patches, no CLS = 16.
IMAGE_TOKENS = {"qwen2_vl": 4, "qwen2_5_vl": 4, "mllama": 1, "llava_next": 24, "llava": 16}
QUESTION = "What is the man holding?"

Cli = Callable[[list[str]], tuple[int, str, str]]  # the `cli` fixture of conftest.py


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """Tiny models run faster on one thread, most of all on a shared 2-core CI machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _load(tiny_model: Callable[[str], Path], family: str) -> tuple[Any, Any]:
    model, processor = load_model(tiny_model(family))
    return model.eval(), processor


def _image_inputs(family: str, processor: Any, image: Any, question: str = QUESTION) -> Any:
    fam = FAMILIES[family]
    return encode(fam, processor, [build_prompt(fam, processor, question, image=True)], [image])


# Registry -------------------------------------------------------------------------------------------------


def test_registry_names_real_transformers_classes() -> None:
    import transformers

    from vlmadapt.models.tiny import _TINY

    assert ALL == ["qwen2_vl", "qwen2_5_vl", "mllama", "llava_next", "llava"]
    assert set(_TINY) == set(FAMILIES)
    for family in FAMILIES.values():
        assert hasattr(transformers, family.model_class), family.model_class
        assert hasattr(transformers, family.processor_class), family.processor_class
        assert family.description and family.model_type == family.name


def test_unknown_family_lists_the_known(tmp_path: Path) -> None:
    with pytest.raises(
        UnknownNameError, match=r"unknown VLM family 'blip2'; known: llava, llava_next, mllama"
    ):
        get_family("blip2")
    with pytest.raises(UnknownNameError, match="qwen2_vl"):
        build_tiny("blip2", tmp_path)


def test_group_of_prefers_the_longest_prefix() -> None:
    qwen = FAMILIES["qwen2_vl"]
    assert group_of("model.visual.blocks.0.attn.qkv.weight", qwen) == "vision"
    assert group_of("model.visual.merger.mlp.0.weight", qwen) == "projector"
    assert group_of("model.language_model.layers.0.self_attn.q_proj.weight", qwen) == "language_model"
    assert group_of("lm_head.weight", qwen) == "lm_head"
    assert group_of("model.visualizer.weight", qwen) == "other"  # a prefix matches whole name parts only


# Tiny fixtures through load_model ------------------------------------------------------------------------


@pytest.mark.parametrize("family", ALL)
def test_tiny_loads_back_with_the_family_classes(tiny_model: Callable[[str], Path], family: str) -> None:
    fam = FAMILIES[family]
    model, processor = _load(tiny_model, family)
    assert type(model).__name__ == fam.model_class
    assert type(processor).__name__ == fam.processor_class
    tokenizer = processor.tokenizer
    image_id = tokenizer.convert_tokens_to_ids(fam.image_token)
    assert model.config.image_token_id == processor.image_token_id == image_id
    # Mllama's image token sits just past the text vocabulary (its embedding table has 8 extra rows).
    expected_vocab = len(tokenizer) - 1 if family == "mllama" else len(tokenizer)
    assert model.config.get_text_config().vocab_size == expected_vocab
    stops = model.generation_config.eos_token_id
    stops = stops if isinstance(stops, list) else [stops]
    assert tokenizer.convert_tokens_to_ids(fam.end_of_turn) in stops
    assert model.generation_config.pad_token_id == tokenizer.pad_token_id is not None
    assert "What" in tokenizer.convert_ids_to_tokens(tokenizer("What is it?")["input_ids"])  # learned English


@pytest.mark.parametrize("family", ALL)
def test_param_groups_cover_every_parameter(tiny_model: Callable[[str], Path], family: str) -> None:
    model, _ = _load(tiny_model, family)
    groups = param_groups(model, family)
    assert groups["other"] == 0, groups
    assert all(groups[g] > 0 for g in ("vision", "projector", "language_model", "lm_head")), groups
    assert sum(groups.values()) == sum(p.numel() for p in model.parameters())
    assert sum(groups.values()) < 400_000  # tiny
    for param in model.parameters():
        param.requires_grad_(False)
    for param in language_model(model, family).parameters():
        param.requires_grad_(True)
    trainable = param_groups(model, family, trainable_only=True)
    assert trainable == {**dict.fromkeys(groups, 0), "language_model": groups["language_model"]}


@pytest.mark.parametrize("family", ALL)
def test_image_tokens_per_family(
    tiny_model: Callable[[str], Path], tiny_image: Callable[..., Any], family: str
) -> None:
    _, processor = _load(tiny_model, family)
    inputs = _image_inputs(family, processor, tiny_image())
    assert (inputs["input_ids"] == processor.image_token_id).sum().item() == IMAGE_TOKENS[family]


@pytest.mark.parametrize("family", ALL)
def test_forward_with_labels_trains_the_language_model(
    tiny_model: Callable[[str], Path], tiny_image: Callable[..., Any], family: str
) -> None:
    import torch

    fam = FAMILIES[family]
    model, processor = _load(tiny_model, family)
    model.train()
    full, [(start, _)] = render_with_spans(
        fam, processor, [("user", QUESTION), ("assistant", "A red ball.")], image=True
    )
    image = tiny_image()
    inputs = encode(fam, processor, [full], [image])
    n_prompt = encode(fam, processor, [full[:start]], [image])["input_ids"].shape[1]
    labels = torch.full_like(inputs["input_ids"], -100)  # [1, T]: supervise the answer tokens only
    labels[:, n_prompt:] = inputs["input_ids"][:, n_prompt:]
    loss = model(**inputs, labels=labels).loss
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    for name, param in language_model(model, family).named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert model.get_submodule(fam.lm_head[0]).weight.grad.abs().sum() > 0


@pytest.mark.parametrize("family", ALL)
def test_image_changes_the_output(
    tiny_model: Callable[[str], Path], tiny_image: Callable[..., Any], family: str
) -> None:
    import torch

    model, processor = _load(tiny_model, family)
    with torch.no_grad():
        a, b = (model(**_image_inputs(family, processor, tiny_image(seed))).logits[0, -1] for seed in (0, 1))
    assert (a - b).abs().max() > 1e-4  # Mllama's cross-attention gates are open, as in a real checkpoint


@pytest.mark.parametrize("family", ALL)
def test_greedy_generate_is_deterministic(
    tiny_model: Callable[[str], Path], tiny_image: Callable[..., Any], family: str
) -> None:
    import torch

    fam = FAMILIES[family]
    model, processor = _load(tiny_model, family)
    processor.tokenizer.padding_side = "left"
    prompts = [build_prompt(fam, processor, q, image=True) for q in (QUESTION, "What color is the dog?")]
    inputs = encode(fam, processor, prompts, [tiny_image(0), tiny_image(1, width=40, height=70)])
    width = inputs["input_ids"].shape[1]
    with torch.no_grad():
        runs = [model.generate(**inputs, max_new_tokens=5, do_sample=False) for _ in range(2)]
    assert torch.equal(runs[0], runs[1])
    assert runs[0].shape[0] == 2 and 1 <= runs[0].shape[1] - width <= 5
    assert processor.image_token_id not in runs[0][:, width:]


@pytest.mark.parametrize("family", ALL)
def test_text_only_prompt(tiny_model: Callable[[str], Path], family: str) -> None:
    import torch

    fam = FAMILIES[family]
    model, processor = _load(tiny_model, family)
    prompt = build_prompt(fam, processor, QUESTION, image=False)
    assert QUESTION in prompt and fam.image_token not in prompt
    inputs = encode(fam, processor, [prompt])
    assert processor.image_token_id not in inputs["input_ids"]
    bos = processor.tokenizer.bos_token_id
    assert bos is None or (inputs["input_ids"][0] == bos).sum() == 1  # the BOS is never doubled
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]


# Prompts and answer spans ---------------------------------------------------------------------------------

# What each family's template writes for the first answer of a conversation.
ANSWER_SPAN = {
    "qwen2_vl": "A red ball.<|im_end|>",
    "qwen2_5_vl": "A red ball.<|im_end|>",
    "mllama": "A red ball.<|eot_id|>",
    "llava_next": " A red ball.</s>",
    "llava": " A red ball.</s>",
}


@pytest.mark.parametrize("family", ALL)
def test_answer_spans_of_a_conversation(
    tiny_model: Callable[[str], Path], tiny_image: Callable[..., Any], family: str
) -> None:
    fam = FAMILIES[family]
    _, processor = _load(tiny_model, family)
    turns = [
        ("user", QUESTION),
        ("assistant", "A red ball."),
        ("user", "And the dog?"),
        ("assistant", "It is brown."),
    ]
    full, spans = render_with_spans(fam, processor, turns, image=True)
    assert [full[a:b] for a, b in spans] == [
        ANSWER_SPAN[family],
        ANSWER_SPAN[family].replace("A red ball.", "It is brown."),
    ]
    assert full.count(fam.image_token) == 1
    assert full.startswith(build_prompt(fam, processor, QUESTION, image=True))
    # Tokenising a prefix gives a prefix of the tokens: answer token positions follow from prefix lengths.
    image = tiny_image()
    ids = encode(fam, processor, [full], [image])["input_ids"][0].tolist()
    for cut in (c for span in spans for c in span):
        head = encode(fam, processor, [full[:cut]], [image])["input_ids"][0].tolist()
        assert ids[: len(head)] == head


def test_conversation_errors_name_the_problem(tiny_model: Callable[[str], Path]) -> None:
    mllama = FAMILIES["mllama"]
    _, processor = _load(tiny_model, "mllama")
    with pytest.raises(VlmadaptError, match="system message"):
        build_prompt(mllama, processor, QUESTION, image=True, system="Answer in French.")
    assert "Answer in French." in build_prompt(
        mllama, processor, QUESTION, image=False, system="Answer in French."
    )
    with pytest.raises(VlmadaptError, match="alternates user and assistant"):
        render_with_spans(mllama, processor, [("assistant", "Hi."), ("user", "Hello?")], image=False)


# Loading errors and family detection ------------------------------------------------------------------------


@pytest.mark.parametrize("family", ALL)
def test_family_detected_from_config(tiny_model: Callable[[str], Path], family: str) -> None:
    assert detect_family(tiny_model(family)) == family
    assert json.loads((tiny_model(family) / "config.json").read_text())["model_type"] == family


def test_unsupported_model_type_lists_the_supported(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(
        VlmadaptError, match=r"model_type 'llama'.*supported model types: qwen2_vl, qwen2_5_vl"
    ):
        load_model(tmp_path)


def test_family_that_contradicts_config(tiny_model: Callable[[str], Path]) -> None:
    with pytest.raises(ConfigError, match="is a 'llava_next' model; pass family='llava_next'"):
        load_model(tiny_model("llava_next"), family="llava")


def test_offline_missing_model_says_what_to_pass(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read at import time
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        VlmadaptError, match=r"'vlmadapt-test/no-such-vlm' is not a local directory.*config\.json"
    ):
        load_model("vlmadapt-test/no-such-vlm")


@pytest.mark.parametrize(
    ("family", "left_out", "message"),
    [
        ("llava", ("model.safetensors",), r"a file is missing.*model\.safetensors"),
        # Qwen2-VL's processor loads an empty tokenizer without complaint when tokenizer.json is missing.
        (
            "qwen2_vl",
            ("tokenizer.json", "tokenizer_config.json"),
            r"the tokenizer maps <\|image_pad\|> to id 0",
        ),
        ("mllama", ("tokenizer.json", "tokenizer_config.json"), r"a file is missing.*tokenizer"),
    ],
)
def test_directory_with_missing_files(
    tiny_model: Callable[[str], Path], tmp_path: Path, family: str, left_out: tuple[str, ...], message: str
) -> None:
    for path in tiny_model(family).iterdir():
        if path.name not in left_out:
            shutil.copy(path, tmp_path / path.name)
    with pytest.raises(VlmadaptError, match=rf"{tmp_path}: {message}"):
        load_model(tmp_path)


def test_directory_without_config(tmp_path: Path) -> None:
    with pytest.raises(
        VlmadaptError, match=r"no config\.json here; pass the directory save_pretrained wrote"
    ):
        load_model(tmp_path)


def test_dtype_choice(tiny_model: Callable[[str], Path]) -> None:
    import torch

    model, _ = load_model(tiny_model("llava"), dtype="bfloat16")
    assert model.dtype == torch.bfloat16
    with pytest.raises(ConfigError, match="dtype: 'fp8' is not one of auto, float32"):
        load_model(tiny_model("llava"), dtype="fp8")


def test_peft_wrapped_model_keeps_its_groups(tiny_model: Callable[[str], Path]) -> None:
    from peft import LoraConfig, get_peft_model

    model, _ = load_model(tiny_model("qwen2_vl"))
    before = param_groups(model, "qwen2_vl")
    lora = LoraConfig(r=2, lora_alpha=2, target_modules=r".*language_model.*\.(q_proj|v_proj)")
    wrapped = get_peft_model(model, lora)
    after = param_groups(wrapped, "qwen2_vl")
    assert after["other"] == 0 and after["vision"] == before["vision"]
    assert after["language_model"] > before["language_model"]
    trainable = param_groups(wrapped, "qwen2_vl", trainable_only=True)
    assert trainable["language_model"] == after["language_model"] - before["language_model"] > 0
    assert trainable["vision"] == trainable["projector"] == trainable["lm_head"] == 0


# Determinism, CLI, import hygiene -------------------------------------------------------------------------


def test_build_tiny_is_deterministic(tiny_model: Callable[[str], Path], tmp_path: Path) -> None:
    reference = tiny_model("llava")
    same = build_tiny("llava", tmp_path / "same", seed=0)
    other = build_tiny("llava", tmp_path / "other", seed=1)
    for name in ("model.safetensors", "tokenizer.json", "config.json", "processor_config.json"):
        assert (same / name).read_bytes() == (reference / name).read_bytes(), name
    assert (other / "model.safetensors").read_bytes() != (reference / "model.safetensors").read_bytes()
    assert (other / "tokenizer.json").read_bytes() == (reference / "tokenizer.json").read_bytes()


def test_cli_models_list_and_tiny(tmp_path: Path, cli: Cli) -> None:
    code, listed, _ = cli(["models", "list"])
    assert code == 0
    for family in FAMILIES.values():
        assert family.name in listed and family.model_class in listed
    code, out, _ = cli(["models", "tiny", "qwen2_vl", str(tmp_path / "x")])
    assert code == 0 and "saved a tiny qwen2_vl model" in out
    assert detect_family(tmp_path / "x") == "qwen2_vl"
    code, _, err = cli(["models", "tiny", "blip2", str(tmp_path / "y")])
    assert code == 2 and "known: llava" in err


def test_importing_models_loads_no_torch() -> None:
    code = "import sys, vlmadapt.models; print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_build_tiny_takes_sizes_and_extra_tokenizer_text(tmp_path: Path) -> None:
    import json

    from vlmadapt.models.tiny import Sizes, build_tiny

    sizes = Sizes(hidden=32, intermediate=48, layers=1, kv_heads=1, vision_width=16)
    out = build_tiny("qwen2_vl", tmp_path / "m", sizes=sizes, corpus=["zyxwv zyxwv zyxwv"] * 50)
    config = json.loads((out / "config.json").read_text())
    text = config["text_config"]
    assert (text["hidden_size"], text["intermediate_size"], text["num_hidden_layers"]) == (32, 48, 1)
    assert (text["num_attention_heads"], text["num_key_value_heads"]) == (2, 1)  # heads stay 16 wide
    assert config["vision_config"]["embed_dim"] == 16
    vocab = json.loads((out / "tokenizer.json").read_text())["model"]["vocab"]
    assert "zyxwv" in vocab or "Ġzyxwv" in vocab  # the extra text was learned
    with pytest.raises(ValueError, match="multiple of 16"):
        build_tiny("qwen2_vl", tmp_path / "bad", sizes=Sizes(hidden=40))
