"""Record schema, validated JSONL io, resumable appends, Parquet round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlmadapt.errors import RecordError, VlmadaptError
from vlmadapt.jsonl import (
    Rejects,
    append_jsonl,
    completed_ids,
    read_records,
    save_parquet,
    save_records,
    write_jsonl,
)
from vlmadapt.records import Example, Prediction, SourceText, Task, Turn


def _write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


YES_NO = '{"id": "a", "task": "yes_no", "lang": "ro", "question": "Există o pisică?", "answers": ["da"]}'


def test_valid_records_read_back_with_unicode_intact(tmp_path: Path) -> None:
    ex = Example(
        id="x1",
        task=Task.conversation,
        lang="fr",
        image="img/1.jpg",
        turns=[
            Turn(role="user", content="Que voit-on ?"),
            Turn(role="assistant", content="Un garçon à vélo."),
        ],
        source=SourceText(
            lang="en",
            turns=[
                Turn(role="user", content="What is shown?"),
                Turn(role="assistant", content="A boy on a bike."),
            ],
        ),
        meta={"split": "train"},
    )
    path = write_jsonl(tmp_path / "d.jsonl", [ex])
    assert "garçon" in path.read_text(encoding="utf-8")  # not \u-escaped: readable with head/grep
    assert read_records(path) == [ex]


@pytest.mark.parametrize(
    ("line", "field", "problem"),
    [
        ('{"id": "a", "task": "yes_no", "lang": "ro"', "json", "Expecting"),
        (
            '{"task": "yes_no", "lang": "ro", "question": "q", "answers": ["da"]}',
            "id",
            "missing required field",
        ),
        (
            '{"id": "a", "task": "yes_no", "lang": "ro", "question": 3, "answers": ["da"]}',
            "question",
            "valid string",
        ),
        ('{"id": "a", "task": "riddle", "lang": "ro", "question": "q"}', "task", "caption"),
        (
            '{"id": "a", "task": "yes_no", "lang": "ro", "question": "q", "answer": ["da"]}',
            "answer",
            "unknown field",
        ),
        (
            '{"id": "a", "task": "multiple_choice", "lang": "en", "question": "q", "choices": ["x", "y"], '
            '"answer_index": 2}',
            "record",
            "outside the 2 choices",
        ),
        ('{"id": "a", "task": "caption", "lang": "en", "answers": []}', "record", "at least one reference"),
        (
            '{"id": "a", "task": "conversation", "lang": "en", "turns": [{"role": "user", "content": "hi"}]}',
            "record",
            "must end with an assistant turn",
        ),
        ('["not", "an", "object"]', "record", "expected a JSON object"),
    ],
)
def test_bad_line_names_file_line_field(tmp_path: Path, line: str, field: str, problem: str) -> None:
    path = _write(tmp_path / "bad.jsonl", YES_NO.replace('"a"', '"ok"'), line)
    with pytest.raises(RecordError) as info:
        read_records(path)
    assert info.value.where == f"{path}:2"
    assert info.value.field == field
    assert problem in info.value.problem
    assert str(info.value).startswith(f"{path}:2: {field}: ")


def test_duplicate_ids_are_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "dup.jsonl", YES_NO, "", YES_NO)
    with pytest.raises(RecordError, match=r"dup.jsonl:3: id: duplicate id 'a' \(first on line 1\)"):
        read_records(path)


def test_skip_keeps_good_records_and_writes_every_reject_with_reason(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "mixed.jsonl",
        YES_NO,
        "{broken",
        YES_NO.replace('"a"', '"b"'),
        '{"id": "c", "task": "yes_no", "lang": "ro"}',
    )
    rejects = Rejects(tmp_path / "rejects.jsonl")
    good = read_records(path, on_error="skip", rejects=rejects)
    assert [r.id for r in good] == ["a", "b"]
    written = [json.loads(x) for x in rejects.write().read_text().splitlines()]  # type: ignore[union-attr]
    assert [r["where"] for r in written] == [f"{path}:2", f"{path}:4"]
    assert written[0]["reason"].startswith("json: ")
    assert written[0]["record"] == "{broken"
    assert written[1]["reason"] == "record: a yes_no example needs a non-empty 'question'"


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VlmadaptError, match=r"nope\.jsonl: no such file"):
        read_records(tmp_path / "nope.jsonl")


def test_prediction_needs_output_or_error() -> None:
    assert Prediction(id="1", prediction=None, error="image not found").error
    with pytest.raises(ValueError, match="needs 'prediction' or"):
        Prediction(id="1", prediction=None)


def test_append_and_resume_repairs_a_torn_last_line(tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"
    append_jsonl(out, [Prediction(id="1", prediction="da"), Prediction(id="2", prediction="nu")])
    with out.open("a", encoding="utf-8") as f:  # a kill in the middle of writing line 3
        f.write('{"id": "3", "predic')
    assert completed_ids(out) == {"1", "2"}
    assert out.read_text(encoding="utf-8").count("\n") == 2  # torn tail cut, so the re-run appends cleanly
    assert out.read_text(encoding="utf-8").endswith("}\n")
    append_jsonl(out, [Prediction(id="3", prediction="da")])
    assert [p.id for p in read_records(out, Prediction)] == ["1", "2", "3"]


def test_parquet_round_trip_keeps_nested_fields(tmp_path: Path) -> None:
    records = [
        Example(
            id="1",
            task=Task.multiple_choice,
            lang="ro",
            question="Ce formă are?",
            choices=["cerc", "pătrat", "stea"],
            answer_index=2,
            meta={"hint": "ş→ș", "grade": 3},
        ),
        Example(
            id="2",
            task=Task.conversation,
            lang="ro",
            image="a.png",
            turns=[Turn(role="user", content="Descrie."), Turn(role="assistant", content="O stea roșie.")],
        ),
        Example(
            id="3",
            task=Task.caption,
            lang="ro",
            answers=["Un băiat.", "Un copil."],
            source=SourceText(lang="en", answers=["A boy.", "A child."]),
        ),
    ]
    path = save_parquet(tmp_path / "d.parquet", records)
    assert read_records(path) == records
    assert read_records(save_records(tmp_path / "d.jsonl", records)) == records
