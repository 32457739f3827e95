"""The demo's data helpers on a small toy world: phrasebook, MT noise, conversations, training files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlmadapt.data.toy import generate_world, read_scenes
from vlmadapt.demo.world import add_mt_noise, conversations, phrasebook, split_by_task, training_file
from vlmadapt.jsonl import read_records
from vlmadapt.records import Example, Task


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_world(tmp_path_factory.mktemp("world"), 30, seed=3, langs=("en", "ro"), test_share=0.2)


def test_scenes_say_what_each_image_shows(world: dict[str, Path]) -> None:
    scenes = read_scenes(world["en"].parent)
    assert len(scenes) == 30 and sum(split == "test" for split, _ in scenes.values()) == 6
    captions = {
        ex.image: ex.answers[0] for ex in read_records(world["en"], Example) if ex.task is Task.caption
    }
    for image, (_, shapes) in scenes.items():
        assert all(f"{s.colour} {s.shape}" in captions[image] for s in shapes)


def test_phrasebook_reads_both_directions_from_the_parallel_records(
    world: dict[str, Path], tmp_path: Path
) -> None:
    book = json.loads(phrasebook(world["ro"], "ro", tmp_path / "pb.json").read_text(encoding="utf-8"))
    assert set(book) == {"ro-en", "en-ro"}
    assert book["ro-en"]["Câte forme sunt în imagine?"] == "How many shapes are there?"
    assert book["en-ro"]["on the left"] == "în stânga" and book["en-ro"]["yes"] == "da"
    # one word, one translation: "red" comes back in one gender whatever noun it described
    assert book["en-ro"]["red"] in ("roșu", "roșie")


def test_mt_noise_corrupts_the_asked_share_of_training_answers(
    world: dict[str, Path], tmp_path: Path
) -> None:
    qa = training_file(world["ro"], tmp_path / "qa.jsonl", (Task.open_vqa, Task.yes_no))
    clean = list(read_records(qa, Example))
    assert clean and all(ex.meta["split"] == "train" and ex.task is not Task.caption for ex in clean)
    noisy_path, counts = add_mt_noise(qa, 0.5, 0, tmp_path / "noisy.jsonl")
    noisy = list(read_records(noisy_path, Example))
    changed = [(c, n) for c, n in zip(clean, noisy, strict=True) if c.answers != n.answers]
    assert 0.3 < sum(counts.values()) / len(clean) < 0.7
    for c, n in changed:
        if n.meta["mt_noise"] == "untranslated":
            assert n.answers == c.source.answers  # type: ignore[union-attr]
        else:
            assert n.meta["mt_noise"] == "mistranslated" and n.answers != c.answers
    assert len(changed) <= sum(counts.values())  # a "mistranslation" never keeps the right answer
    assert add_mt_noise(qa, 0.0, 0, tmp_path / "none.jsonl")[1] == {}


def test_one_conversation_per_training_image_with_every_question(
    world: dict[str, Path], tmp_path: Path
) -> None:
    chats = list(read_records(conversations(world["en"], tmp_path / "chats.jsonl", seed=0), Example))
    train = [ex for ex in read_records(world["en"], Example) if ex.meta["split"] == "train"]
    assert len(chats) == 24 and all(ex.task is Task.conversation for ex in chats)
    assert sum(len(ex.turns or []) for ex in chats) == 2 * len(train)
    answers = sorted(t.content for ex in chats for t in ex.turns or [] if t.role == "assistant")
    assert answers == sorted(ex.answers[0] for ex in train)


def test_split_by_task_writes_one_reference_file_per_task(world: dict[str, Path]) -> None:
    files = split_by_task(world["ro"], world["ro"].parent, "test")
    assert set(files) == {Task.caption, Task.open_vqa, Task.yes_no}
    for task, path in files.items():
        rows = list(read_records(path, Example))
        assert rows and all(ex.task is task and ex.meta["split"] == "test" for ex in rows)
