"""Batches: labels supervise exactly the answers and end-of-turn markers, for every family.

Prompts, image tokens and padding are never supervised; a sample whose image tokens would be cut is
rejected with its reason; a long conversation keeps whole turns; text-only samples work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vlmadapt.jsonl import Rejects
from vlmadapt.prompts import PromptConfig
from vlmadapt.records import Example
from vlmadapt.train.batches import IGNORE, Collator, Rejected, Sample, check_all, group_batches

FAMILIES = ["qwen2_vl", "qwen2_5_vl", "mllama", "llava_next", "llava"]
EOT = {
    "qwen2_vl": "<|im_end|>",
    "qwen2_5_vl": "<|im_end|>",
    "mllama": "<|eot_id|>",
    "llava_next": "</s>",
    "llava": "</s>",
}

RECORDS = [
    {
        "id": "vqa",
        "task": "open_vqa",
        "lang": "ro",
        "image": "a.png",
        "question": "Ce face bărbatul?",
        "answers": ["Merge pe bicicletă."],
    },
    {
        "id": "yn",
        "task": "yes_no",
        "lang": "fr",
        "image": "b.png",
        "question": "Y a-t-il un chien ?",
        "answers": ["oui"],
    },
    {
        "id": "mc",
        "task": "multiple_choice",
        "lang": "fr",
        "image": "a.png",
        "question": "Quelle couleur ?",
        "choices": ["rouge", "bleu", "vert"],
        "answer_index": 2,
    },
    {
        "id": "cap",
        "task": "caption",
        "lang": "ro",
        "image": "b.png",
        "answers": ["O pisică doarme pe un scaun."],
    },
]
CHAT = {
    "id": "chat",
    "task": "conversation",
    "lang": "fr",
    "turns": [
        {"role": "user", "content": "Bonjour, qui es-tu ?"},
        {"role": "assistant", "content": "Un assistant."},
        {"role": "user", "content": "Quelle heure est-il ?"},
        {"role": "assistant", "content": "Il est midi."},
    ],
}
ANSWERS = {
    "vqa": ["Merge pe bicicletă."],
    "yn": ["oui"],
    "mc": ["C"],
    "cap": ["O pisică doarme pe un scaun."],
    "chat": ["Un assistant.", "Il est midi."],
}


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory, tiny_image: Any) -> Path:
    root = tmp_path_factory.mktemp("images")
    tiny_image(1, 90, 60).save(root / "a.png")
    tiny_image(2, 50, 70).save(root / "b.png")
    (root / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    return root


def collator(family: str, tiny_model: Any, root: Path, max_length: int = 512, **kwargs: Any) -> Collator:
    from vlmadapt.models import FAMILIES as REGISTRY
    from vlmadapt.train.run import load_processor

    fam = REGISTRY[family]
    processor = load_processor(str(tiny_model(family)), fam)
    return Collator(fam, processor, root, PromptConfig(), None, max_length, kwargs)


def supervised(batch: dict[str, Any], row: int, tokenizer: Any) -> list[str]:
    """The decoded runs of consecutive supervised tokens of one row."""
    labels = batch["labels"][row].tolist()
    runs, current = [], []
    for label in [*labels, IGNORE]:
        if label != IGNORE:
            current.append(label)
        elif current:
            runs.append(tokenizer.decode(current))
            current = []
    return runs


@pytest.mark.parametrize("family", FAMILIES)
def test_labels_are_the_answer_and_end_of_turn_only(family: str, tiny_model: Any, images: Path) -> None:
    col = collator(family, tiny_model, images)
    tok = col.processor.tokenizer
    examples = [Example.model_validate(r) for r in [*RECORDS, CHAT]]
    samples = [col.check(ex) for ex in examples]
    for group in (samples[:4], samples[4:]):  # image batch (with padding), then a text-only batch
        batch = col([group])
        image_id = col.image_token_id()
        for row, sample in enumerate(group):
            runs = supervised(batch, row, tok)
            expected = [a + EOT[family] for a in ANSWERS[sample.record["id"]]]
            assert [r.lstrip() for r in runs] == expected  # Mistral's [/INST] is followed by " answer"
            labels, ids, mask = batch["labels"][row], batch["input_ids"][row], batch["attention_mask"][row]
            assert not bool(((labels != IGNORE) & (mask == 0)).any())  # never padding
            assert not bool(((labels != IGNORE) & (ids == image_id)).any())  # never image tokens
            assert bool((labels[labels != IGNORE] == ids[labels != IGNORE]).all())  # labels are the ids
        if group[0].image:
            assert "pixel_values" in batch
            assert int((batch["attention_mask"] == 0).sum()) > 0  # the rows were padded
        else:
            assert "pixel_values" not in batch


def test_qwen_pixel_cap_changes_the_number_of_image_tokens(tiny_model: Any, images: Path) -> None:
    ex = Example.model_validate(RECORDS[0])
    counts = []
    for max_pixels in (56 * 56, 112 * 112):
        col = collator(
            "qwen2_vl", tiny_model, images, size={"shortest_edge": 56 * 56, "longest_edge": max_pixels}
        )
        ids = col([[col.check(ex)]])["input_ids"][0]
        counts.append(int((ids == col.image_token_id()).sum()))
    assert 0 < counts[0] < counts[1] <= 16


def test_image_kwargs_from_the_config_keys(tiny_model: Any) -> None:
    from vlmadapt.errors import ConfigError
    from vlmadapt.models import FAMILIES as REGISTRY
    from vlmadapt.train.batches import image_kwargs
    from vlmadapt.train.run import load_processor

    qwen = load_processor(str(tiny_model("qwen2_vl")), REGISTRY["qwen2_vl"])
    assert image_kwargs(qwen, "qwen2_vl", None, 12544, {}) == {
        "size": {"shortest_edge": 56 * 56, "longest_edge": 12544}
    }
    mllama = load_processor(str(tiny_model("mllama")), REGISTRY["mllama"])
    assert image_kwargs(mllama, "mllama", None, None, {"do_resize": True}) == {"do_resize": True}
    with pytest.raises(ConfigError, match=r"data\.min_pixels/max_pixels"):
        image_kwargs(mllama, "mllama", 100, None, {})


@pytest.mark.parametrize("family", ["qwen2_vl", "llava"])
def test_truncation_never_cuts_image_tokens_and_keeps_whole_turns(
    family: str, tiny_model: Any, images: Path
) -> None:
    col = collator(family, tiny_model, images)
    ex = Example.model_validate(RECORDS[0])
    full = col([[col.check(ex)]])["input_ids"][0]
    image_pos = (full == col.image_token_id()).nonzero().flatten()
    short = collator(family, tiny_model, images, max_length=int(image_pos[-1]))  # ends inside the image
    with pytest.raises(Rejected, match=r"would cut inside its .* image tokens"):
        short.check(ex)
    just = collator(family, tiny_model, images, max_length=len(full) - 1)  # the answer's last token falls off
    with pytest.raises(Rejected, match=r"over max_length .* even with only its first answer"):
        just.check(ex)

    chat = Example.model_validate({**CHAT, "image": "a.png"})
    whole = col([[col.check(chat)]])
    n = int(whole["attention_mask"][0].sum())
    cut = collator(family, tiny_model, images, max_length=n - 2)
    sample = cut.check(chat)
    assert sample.turns == 2  # the second exchange did not fit: it is dropped whole
    batch = cut([[sample]])
    assert batch["input_ids"].shape[1] <= n - 2
    assert [r.lstrip() for r in supervised(batch, 0, cut.processor.tokenizer)] == [
        "Un assistant." + EOT[family]
    ]


def test_bad_examples_are_rejected_with_their_reason(tiny_model: Any, images: Path) -> None:
    col = collator("llava_next", tiny_model, images)
    bad = [
        {**RECORDS[0], "id": "missing", "image": "nope.png"},
        {**RECORDS[0], "id": "corrupt", "image": "corrupt.png"},
        {**RECORDS[0], "id": "empty", "answers": ["   "]},
        {**RECORDS[0], "id": "outside", "image": "../a.png"},
        {
            **CHAT,
            "id": "empty-turn",
            "turns": [{"role": "user", "content": "Salut"}, {"role": "assistant", "content": " "}],
        },
    ]
    examples = [Example.model_validate(r) for r in [RECORDS[1], *bad]]
    rejects = Rejects(None)
    samples = check_all(col, examples, "train.jsonl", rejects, strict=False)
    assert [s.record["id"] for s in samples] == ["yn"]
    reasons = {item["where"].split(":")[1]: item["reason"] for item in rejects.items}
    assert reasons["missing"].startswith("image not found")
    assert reasons["corrupt"].startswith("unreadable image")
    assert reasons["empty"] == "empty answer"
    assert "leaves the image root" in reasons["outside"]
    assert reasons["empty-turn"] == "empty assistant turn"
    from vlmadapt.errors import VlmadaptError

    with pytest.raises(VlmadaptError, match="example 'missing': image not found"):
        check_all(col, examples, "train.jsonl", Rejects(None), strict=True)


def test_batches_never_mix_image_and_text_only_samples() -> None:
    samples = [Sample({"id": str(i)}, 2, image=i % 3 != 0) for i in range(20)]
    batches = group_batches(samples, 4, seed=1)
    assert sorted(s.record["id"] for b in batches for s in b) == sorted(str(i) for i in range(20))
    assert all(len({s.image for s in b}) == 1 for b in batches)
    assert all(len(b) <= 4 for b in batches)
    assert group_batches(samples, 4, seed=1) == batches
    assert group_batches(samples, 4, seed=2) != batches
