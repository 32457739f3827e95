"""The translate stage end to end against a real local server: structure, phrasebook, cache, retries."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from vlmadapt.config import build_config
from vlmadapt.errors import ConfigError, UnknownNameError, VlmadaptError
from vlmadapt.jsonl import read_records, write_jsonl
from vlmadapt.llm.backends import BackendConfig
from vlmadapt.llm.devserver import DevServer
from vlmadapt.quality.checks import structure_problems
from vlmadapt.records import Example
from vlmadapt.translate import TranslateConfig, run
from vlmadapt.translate.postedit import NNBSP

POPE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pope"

RECORDS = [
    {
        "id": "pope-1",
        "task": "yes_no",
        "lang": "en",
        "image": "COCO_val2014_000000310196.jpg",
        "question": "Is there a snowboard in the image?",
        "answers": ["yes"],
        "meta": {"split": "random"},
    },
    {
        "id": "llava-1",
        "task": "conversation",
        "lang": "en",
        "image": "000000033471.jpg",
        "turns": [
            {
                "role": "user",
                "content": "<image>\nWhat is the man holding?\n"
                "Answer the question using a single word or phrase.",
            },
            {"role": "assistant", "content": "Kite"},
            {"role": "user", "content": "How many tails does it have?"},
            {"role": "assistant", "content": "It has 3 tails."},
        ],
    },
    {
        "id": "sqa-1",
        "task": "multiple_choice",
        "lang": "en",
        "question": "Which animal is a mammal?",
        "choices": ["whale", "shark", "10"],
        "answer_index": 0,
        "meta": {"hint": "Mammals feed milk."},
    },
    {
        "id": "f30k-1",
        "task": "caption",
        "lang": "en",
        "answers": ["A dog runs.", "Two dogs play: one is white!"],
    },
]


def _write(tmp_path: Path, records: Sequence[dict[str, Any]] = RECORDS, name: str = "en.jsonl") -> Path:
    return write_jsonl(tmp_path / name, [Example.model_validate(r) for r in records])


def _cfg(src: Path, out: Path, url: str, target: str = "ro", **kw: Any) -> TranslateConfig:
    backend = BackendConfig(name="openai", model="dev", url=url, concurrency=4)
    return TranslateConfig(input=src, output=out, target=target, backend=backend, progress=False, **kw)


def test_every_task_keeps_its_structure_and_source(tmp_path: Path) -> None:
    src = _write(tmp_path)
    with DevServer() as server:
        path = run(_cfg(src, tmp_path / "ro.jsonl", server.url))
    pope, llava, sqa, f30k = read_records(path)
    assert (pope.lang, pope.question, pope.answers) == ("ro", "sI ereht a draobwons ni eht egami?", ["da"])
    assert pope.image == "COCO_val2014_000000310196.jpg" and pope.meta == {"split": "random"}
    assert pope.source is not None and pope.source.question == "Is there a snowboard in the image?"
    assert [t.content for t in llava.turns or []] == [
        "<image>\ntahW si eht nam gnidloh?\n"
        "Răspundeți la întrebare folosind un singur cuvânt sau o expresie scurtă.",
        "etiK",
        "woH ynam sliat seod ti evah?",
        "tI sah 3 sliat.",
    ]
    assert [t.role for t in llava.turns or []] == ["user", "assistant", "user", "assistant"]
    assert (sqa.choices, sqa.answer_index) == (["elahw", "krahs", "10"], 0)
    assert sqa.meta == {"hint": "slammaM deef klim.", "source_meta": {"hint": "Mammals feed milk."}}
    assert f30k.answers == ["A god snur.", "owT sgod yalp: eno si etihw!"]
    for rec, original in zip((pope, llava, sqa, f30k), RECORDS, strict=True):
        assert rec.source is not None and rec.source.lang == "en"
        assert rec.source.model_dump(exclude_none=True, exclude={"lang"}) == {
            k: original[k] for k in ("question", "answers", "choices", "turns") if k in original
        } | ({"answers": []} if "answers" not in original else {})
        assert structure_problems(rec) == []


def test_french_typography_is_applied(tmp_path: Path) -> None:
    src = _write(tmp_path, [RECORDS[3]])
    with DevServer() as server:
        (rec,) = read_records(run(_cfg(src, tmp_path / "fr.jsonl", server.url, target="fr")))
    assert rec.answers == ["A god snur.", f"owT sgod yalp\u00a0: eno si etihw{NNBSP}!"]


def test_repeated_templates_are_translated_once_and_reruns_hit_the_cache(tmp_path: Path) -> None:
    turns = [
        {"role": "user", "content": "<image>\nName the animal {}.\nGive a short answer."},
        {"role": "assistant", "content": "A cat."},
    ]
    records = [
        {
            "id": f"c{i}",
            "task": "conversation",
            "lang": "en",
            "turns": [{**t, "content": t["content"].format(i)} for t in turns],
        }
        for i in range(30)
    ]
    src = _write(tmp_path, records)
    with DevServer() as server:
        run(_cfg(src, tmp_path / "a.jsonl", server.url, chunk_size=7))
        assert server.completions == 30 + 2  # 30 questions, the instruction once, the answer once
        run(_cfg(src, tmp_path / "b.jsonl", server.url, chunk_size=7))
        assert server.completions == 32  # everything from the cache
        changed = _cfg(src, tmp_path / "c.jsonl", server.url)
        changed.backend.system_prompt = "Translate into {target}."
        run(changed)
        assert server.completions == 64  # a new prompt is a new cache entry
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


class _Flaky:
    """Drops the numbers of every segment on the first attempt; exact on retries (or never, if stubborn)."""

    def __init__(self, stubborn: bool = False) -> None:
        self.stubborn = stubborn
        self.calls: list[tuple[int, list[str]]] = []

    def signature(self) -> dict[str, Any]:
        return {"backend": "flaky", "stubborn": self.stubborn}

    def translate(self, texts: Sequence[str], attempt: int = 0) -> Iterator[tuple[int, str]]:
        self.calls.append((attempt, list(texts)))
        for i, t in enumerate(texts):
            yield i, re.sub(r"\d+", "", t) if attempt == 0 or self.stubborn else t.upper()

    def close(self) -> None:
        pass


@pytest.mark.parametrize("stubborn", [False, True])
def test_broken_structure_is_retried_then_marked(tmp_path: Path, stubborn: bool) -> None:
    src = _write(tmp_path, [RECORDS[0], RECORDS[1]])
    backend = _Flaky(stubborn)
    _, llava = read_records(run(_cfg(src, tmp_path / "o.jsonl", "http://unused", retries=2), backend=backend))
    retried = ["It has 3 tails."]
    assert backend.calls[1:] == [(1, retried), (2, retried)] if stubborn else [(1, retried)]
    if stubborn:
        assert llava.turns is not None and llava.turns[3].content == "It has  tails."
        assert llava.meta["translation"] == {"problems": ["turns[3]: 'It has 3 tails.': number 3 missing"]}
    else:
        assert llava.turns is not None and llava.turns[3].content == "IT HAS 3 TAILS."
        assert "translation" not in llava.meta
    stats = json.loads((tmp_path / "o.jsonl.provenance.json").read_text())["runs"][-1]
    assert (stats["retried"], stats["marked"]) == ((2, 1) if stubborn else (1, 0))


def test_resume_with_other_settings_is_refused(tmp_path: Path) -> None:
    src = _write(tmp_path, RECORDS[:2])
    with DevServer() as server:
        run(_cfg(src, tmp_path / "o.jsonl", server.url))
        _write(tmp_path, RECORDS)
        other = _cfg(src, tmp_path / "o.jsonl", server.url)
        other.backend.temperature = 0.3
        with pytest.raises(VlmadaptError, match=r"o.jsonl: was started with different settings \(backend;"):
            run(other)
        run(_cfg(src, tmp_path / "o.jsonl", server.url))  # same settings: resumes
    assert [r.id for r in read_records(tmp_path / "o.jsonl")] == [r["id"] for r in RECORDS]


def test_bad_inputs_are_named(tmp_path: Path) -> None:
    src = _write(tmp_path)
    with pytest.raises(VlmadaptError, match=r"already in 'en'"):
        run(_cfg(src, tmp_path / "o.jsonl", "http://x", target="en"))
    mixed = _write(tmp_path, [RECORDS[0], {**RECORDS[3], "lang": "fr"}], "mixed.jsonl")
    with pytest.raises(
        VlmadaptError, match=r"mixed.jsonl: records are in several languages \(en, fr\); set --from"
    ):
        run(_cfg(mixed, tmp_path / "o.jsonl", "http://x"))
    stray = write_jsonl(tmp_path / "stray.jsonl", [{"id": "other-1"}])
    with pytest.raises(VlmadaptError, match=r"stray.jsonl: holds 1 ids that are not in"):
        run(_cfg(src, stray, "http://x"))
    cfg = _cfg(src, tmp_path / "o.jsonl", "http://x")
    cfg.backend.name = "deepl"
    with pytest.raises(
        UnknownNameError,
        match=r"unknown translation backend 'deepl'; known: causal, openai, phrasebook, seq2seq",
    ):
        run(cfg)
    with pytest.raises(
        ConfigError, match=r"recipe.yaml: backend.concurency: unknown key; known keys here: .*concurrency"
    ):
        build_config(
            TranslateConfig,
            {"input": src, "output": "o", "target": "ro", "backend": {"concurency": 3}},
            "recipe.yaml",
        )


@pytest.mark.skipif(not POPE.is_dir(), reason="real POPE files live in ../shared/data/pope (absent here)")
@pytest.mark.parametrize("target", ["fr", "ro"])
def test_real_pope_questions(tmp_path: Path, target: str) -> None:
    raw = []
    for name in ("coco_pope_random.json", "coco_pope_popular.json", "coco_pope_adversarial.json"):
        with (POPE / name).open(encoding="utf-8") as f:
            raw += [json.loads(next(f)) for _ in range(20)]
    records = [
        {
            "id": f"{i}",
            "task": "yes_no",
            "lang": "en",
            "image": r["image"],
            "question": r["text"],
            "answers": [r["label"]],
        }
        for i, r in enumerate(raw)
    ]
    src = _write(tmp_path, records)
    with DevServer() as server:
        out = read_records(run(_cfg(src, tmp_path / f"{target}.jsonl", server.url, target=target)))
    yes, no = {"fr": ("oui", "non"), "ro": ("da", "nu")}[target]
    assert [r.answers[0] for r in out] == [yes if r["label"] == "yes" else no for r in raw]
    assert all(structure_problems(r) == [] for r in out)
    mark = f"{NNBSP}?" if target == "fr" else "?"
    assert all(r.question and r.question.endswith(mark) and "\n" not in r.question for r in out)
