"""The toy world: agreement in the French and Romanian grammar, balance, splits, parallel languages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlmadapt.data.toy import Shape, answer, caption, generate_world, noun_phrase, question
from vlmadapt.jsonl import read_records
from vlmadapt.records import Example, Task


@pytest.mark.parametrize(
    ("lang", "shape", "colour", "expected"),
    [
        ("ro", "circle", "red", "un cerc roșu"),
        ("ro", "star", "red", "o stea roșie"),
        ("ro", "star", "blue", "o stea albastră"),
        ("ro", "triangle", "yellow", "un triunghi galben"),
        ("ro", "star", "yellow", "o stea galbenă"),
        ("fr", "circle", "red", "un cercle rouge"),
        ("fr", "star", "red", "une étoile rouge"),
        ("fr", "square", "green", "un carré vert"),
        ("fr", "star", "green", "une étoile verte"),
        ("fr", "star", "blue", "une étoile bleue"),
        ("en", "star", "yellow", "a yellow star"),
    ],
)
def test_noun_phrases_agree_in_gender(lang: str, shape: str, colour: str, expected: str) -> None:
    assert noun_phrase(lang, shape, colour) == expected


def test_questions_and_answers_agree() -> None:
    star, square = Shape("star", "green", "left", True), Shape("square", "green", "right", False)
    scene = [star, square]
    assert question("ro", "colour", "star") == "Ce culoare are steaua?"
    assert answer("ro", "colour", star, scene) == "verde"
    assert answer("fr", "colour", star, scene) == "verte"
    assert answer("fr", "colour", square, scene) == "vert"
    assert question("fr", "colour", "star") == "De quelle couleur est l'étoile ?"
    assert question("fr", "exists", "star", "blue") == "Y a-t-il une étoile bleue ?"
    assert question("ro", "shape", colour="red") == "Ce formă are obiectul roșu?"
    assert answer("ro", "count", None, scene) == "două"
    assert answer("fr", "position", square, scene) == "à droite"
    assert caption("ro", scene) == "O stea verde și un pătrat verde."
    assert caption("fr", [square, star, Shape("circle", "red", "middle", True)]) == (
        "Une étoile verte, un cercle rouge et un carré vert."
    )


def test_world_is_parallel_balanced_and_split_by_image(tmp_path: Path) -> None:
    paths = generate_world(tmp_path, n_images=30, seed=3)
    by_lang = {lang: read_records(p) for lang, p in paths.items()}
    ids = [r.id for r in by_lang["en"]]
    assert ids == [r.id for r in by_lang["fr"]] == [r.id for r in by_lang["ro"]]
    for ro in by_lang["ro"]:
        assert ro.source is not None and ro.source.lang == "en"
    yes_no = [r.answers[0] for r in by_lang["ro"] if r.task == "yes_no"]
    assert yes_no.count("da") == yes_no.count("nu") == 30
    splits: dict[str, set[str]] = {}
    for r in by_lang["en"]:
        splits.setdefault(r.image or "", set()).add(r.meta["split"])
    assert all(len(s) == 1 for s in splits.values())
    assert sum(s == {"test"} for s in splits.values()) == 6
    assert all((tmp_path / image).is_file() for image in splits)


def test_same_seed_same_world(tmp_path: Path) -> None:
    a = generate_world(tmp_path / "a", n_images=5, seed=7, langs=("ro",))["ro"].read_text()
    b = generate_world(tmp_path / "b", n_images=5, seed=7, langs=("ro",))["ro"].read_text()
    assert a == b
    assert {json.loads(line)["lang"] for line in a.splitlines()} == {"ro"}


def test_two_existence_pairs_per_image_stay_balanced_and_distinct(tmp_path: Path) -> None:
    from collections import Counter

    paths = generate_world(tmp_path, n_images=40, seed=5, langs=("en",), exists=2)
    rows = [r for r in read_records(paths["en"], Example) if r.task == Task.yes_no]
    by_image: dict[str, list[Example]] = {}
    for r in rows:
        by_image.setdefault(str(r.image), []).append(r)
    for image, questions in by_image.items():
        answers = Counter(q.answers[0] for q in questions)
        assert answers["yes"] == answers["no"] and answers["yes"] in (1, 2), image
        assert len({q.question for q in questions}) == len(questions), image  # never asked twice
    assert sum(len(q) == 4 for q in by_image.values()) > len(by_image) / 2  # most scenes show two objects
