"""Translate-test and the vLLM backend's guard, on the tiny Qwen2-VL.

The VLM's answers are stubbed (a random tiny model answers neither yes nor no); translation runs through
the real engine with the `phrasebook` backend, so every translation is an exact, known lookup.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from vlmadapt.cli import main
from vlmadapt.errors import VlmadaptError
from vlmadapt.jsonl import read_records, write_jsonl
from vlmadapt.predict import PredictConfig, run
from vlmadapt.predict.generate import Request
from vlmadapt.records import Example, Prediction, Task

EXAMPLES = [
    Example(id="ro-yes", task=Task.yes_no, lang="ro", question="Există un câine?", answers=["da"]),
    Example(id="ro-no", task=Task.yes_no, lang="ro", question="Există o pisică?", answers=["nu"]),
    Example(
        id="ro-mc",
        task=Task.multiple_choice,
        lang="ro",
        question="Ce culoare are cerul?",
        choices=["roșu", "albastru"],
        answer_index=1,
    ),
    Example(id="fr-yes", task=Task.yes_no, lang="fr", question="Y a-t-il un chien ?", answers=["oui"]),
    Example(id="fr-no", task=Task.yes_no, lang="fr", question="Y a-t-il un chat ?", answers=["non"]),
    Example(
        id="fr-mc",
        task=Task.multiple_choice,
        lang="fr",
        question="De quelle couleur est le ciel ?",
        choices=["rouge", "bleu"],
        answer_index=1,
    ),
]
PHRASEBOOK = {
    "Există un câine?": "Is there a dog?",
    "Există o pisică?": "Is there a cat?",
    "Ce culoare are cerul?": "What color is the sky?",
    "roșu": "red",
    "albastru": "blue",
    "Y a-t-il un chien ?": "Is there a dog?",
    "Y a-t-il un chat ?": "Is there a cat?",
    "De quelle couleur est le ciel ?": "What color is the sky?",
    "rouge": "red",
    "bleu": "blue",
}
# English prompt -> the stubbed VLM's answer
ANSWERS = {
    "Is there a dog? Answer yes or no.": "Yes.",
    "Is there a cat? Answer yes or no.": "no, there is not",
    "What color is the sky?\nOptions:\nA. red\nB. blue\nAnswer with the option's letter.": "B",
}


@pytest.fixture(scope="module")
def tiny(tiny_model: Callable[[str], Path]) -> Path:
    return tiny_model("qwen2_vl")


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The user messages the (stubbed) VLM was asked."""
    seen: list[str] = []

    def fake(model: Any, processor: Any, family: Any, requests: list[Request], gen: Any) -> Any:
        seen.extend(r.text for r in requests)
        return [ANSWERS[r.text] for r in requests], [f"<prompt>{r.text}" for r in requests]

    # the module, not the `run` function that vlmadapt.predict exports under the same name
    monkeypatch.setattr(importlib.import_module("vlmadapt.predict.run"), "generate_batch", fake)
    return seen


def test_translate_test_round_trip(tiny: Path, tmp_path: Path, asked: list[str]) -> None:
    data = write_jsonl(tmp_path / "ex.jsonl", EXAMPLES)
    book = tmp_path / "book.json"
    book.write_text(json.dumps(PHRASEBOOK, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "p.jsonl"
    args = ["predict", "--model", str(tiny), "--data", str(data), "--out", str(out), "--batch-size", "4"]
    with pytest.raises(SystemExit) as info:
        main([*args, "--translate-test", "--mt", "phrasebook", "--mt-phrasebook", str(book)])
    assert info.value.code == 0

    rows = {p.id: p for p in read_records(out, Prediction)}
    assert {i: p.prediction for i, p in rows.items()} == {
        "ro-yes": "da",
        "ro-no": "nu",
        "ro-mc": "B",
        "fr-yes": "oui",
        "fr-no": "non",
        "fr-mc": "B",
    }
    assert sorted(set(asked)) == sorted(ANSWERS)  # only English prompts reached the model
    assert rows["fr-no"].meta == {
        "lang": "fr",
        "translate_test": {
            "question_en": "Is there a cat?",
            "choices_en": None,
            "answer_en": "no, there is not",
            "mt": "phrasebook",
        },
    }
    assert rows["ro-mc"].meta["translate_test"] == {
        "question_en": "What color is the sky?",
        "choices_en": ["red", "blue"],
        "answer_en": "B",
        "mt": "phrasebook",
    }
    assert (tmp_path / "translate-cache.sqlite").is_file()


def test_translate_test_two_way_phrasebook_translates_open_answers_back(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ex = Example(
        id="ro-open", task=Task.open_vqa, lang="ro", question="Ce culoare are cerul?", answers=["albastru"]
    )
    data = write_jsonl(tmp_path / "ex.jsonl", [ex])
    book = tmp_path / "book.json"
    sections = {"ro-en": {"Ce culoare are cerul?": "What color is the sky?"}, "en-ro": {"blue": "albastru"}}
    book.write_text(json.dumps(sections, ensure_ascii=False), encoding="utf-8")

    def fake(model: Any, processor: Any, family: Any, requests: list[Request], gen: Any) -> Any:
        assert [r.text for r in requests] == ["What color is the sky?"]
        return ["blue"], ["<prompt>"]

    monkeypatch.setattr(importlib.import_module("vlmadapt.predict.run"), "generate_batch", fake)
    cfg = {"model": str(tiny), "data": data, "out": tmp_path / "p.jsonl", "translate_test": True}
    run(PredictConfig.model_validate({**cfg, "mt": {"name": "phrasebook"}, "mt_phrasebook": book}))
    (row,) = read_records(tmp_path / "p.jsonl", Prediction)
    assert row.prediction == "albastru"
    assert row.meta["translate_test"]["answer_en"] == "blue"


def test_translate_test_names_a_text_the_backend_cannot_translate(
    tiny: Path, tmp_path: Path, asked: list[str]
) -> None:
    data = write_jsonl(tmp_path / "ex.jsonl", EXAMPLES[:1])
    cfg = PredictConfig.model_validate(
        {
            "model": str(tiny),
            "data": data,
            "out": tmp_path / "p.jsonl",
            "translate_test": True,
            "mt": {"name": "phrasebook"},
        }
    )
    with pytest.raises(
        VlmadaptError, match="phrasebook backend \\(ro->en\\): no entry for 'Există un câine\\?'"
    ):
        run(cfg)
    assert asked == []


def test_vllm_backend_without_vllm_or_cuda_is_a_clear_error(tiny: Path, tmp_path: Path) -> None:
    import torch

    if importlib.util.find_spec("vllm") is not None and torch.cuda.is_available():
        pytest.skip("vllm can run here")
    data = write_jsonl(tmp_path / "ex.jsonl", EXAMPLES[:1])
    cfg = PredictConfig.model_validate(
        {"model": str(tiny), "data": data, "out": tmp_path / "p.jsonl", "backend": "vllm"}
    )
    with pytest.raises(VlmadaptError, match=r"backend vllm: (the vllm package is not installed|no CUDA)"):
        run(cfg)
    assert not (tmp_path / "p.jsonl").exists()


class Tagger:
    """A stand-in MT backend: tags each text with its target language and counts what it was sent."""

    sent: ClassVar[list[str]] = []

    def __init__(self, source: str, target: str) -> None:
        self.source, self.target = source, target

    def signature(self) -> dict[str, str]:
        return {"backend": "tagger", "source": self.source, "target": self.target}

    def translate(self, texts: Any, attempt: int = 0) -> Any:
        Tagger.sent.extend(texts)
        return ((i, f"[{self.target}] {t}") for i, t in enumerate(texts))

    def close(self) -> None:
        pass


def test_open_answers_go_through_mt_and_its_cache(
    tiny: Path, tmp_path: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from vlmadapt.llm.backends import BACKENDS

    monkeypatch.setitem(BACKENDS, "tagger", lambda cfg, source, target: Tagger(source, target))
    monkeypatch.setitem(ANSWERS, "[en] Ce culoare are mașina?", "red")
    monkeypatch.setitem(ANSWERS, "[en] Există un câine? Answer yes or no.", "Not sure")
    examples = [
        Example(
            id="open", task=Task.open_vqa, lang="ro", question="Ce culoare are mașina?", answers=["roșie"]
        ),
        Example(id="hedge", task=Task.yes_no, lang="ro", question="Există un câine?", answers=["da"]),
    ]
    data = write_jsonl(tmp_path / "ex.jsonl", examples)
    Tagger.sent = []
    for out in ("a.jsonl", "b.jsonl"):  # the second run finds every translation in the cache
        cfg = {"model": str(tiny), "data": data, "out": tmp_path / out, "translate_test": True}
        run(PredictConfig.model_validate({**cfg, "mt": {"name": "tagger"}}))
    assert sorted(Tagger.sent) == sorted(["Ce culoare are mașina?", "Există un câine?", "red", "Not sure"])
    for out in ("a.jsonl", "b.jsonl"):
        rows = {p.id: p for p in read_records(tmp_path / out, Prediction)}
        assert rows["open"].prediction == "[ro] red"
        assert rows["hedge"].prediction == "[ro] Not sure"  # a hedge is not a "no"
        assert rows["open"].meta["translate_test"]["question_en"] == "[en] Ce culoare are mașina?"
