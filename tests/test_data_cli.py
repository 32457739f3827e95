"""`vlmadapt data import | formats | stats` through the real CLI entry point: messages, exit codes, files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

Cli = Callable[[list[str]], tuple[int, str, str]]  # the `cli` fixture of conftest.py


POPE = (
    '{"question_id": 1, "image": "COCO_val2014_000000310196.jpg", '
    '"text": "Is there a snowboard in the image?", "label": "yes"}\n'
    '{"question_id": 2, "image": "COCO_val2014_000000310196.jpg", "text": "Is there a car in the image?", '
    '"label": "no"}\n'
)
BAD_LABEL = '{"question_id": 3, "image": "x.jpg", "text": "Is there a dog in the image?", "label": "maybe"}\n'


def _pope(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "coco_pope_random.json"
    path.write_text(POPE + extra, encoding="utf-8")
    return path


def test_import_writes_records_and_says_where(tmp_path: Path, cli: Cli) -> None:
    dest = tmp_path / "pope.jsonl"
    code, out, err = cli(["data", "import", "pope", str(_pope(tmp_path)), str(dest), "--lang", "en"])
    assert (code, err) == (0, "")
    assert "wrote 2 records to" in out
    assert [json.loads(x)["id"] for x in dest.read_text().splitlines()] == ["pope-random-1", "pope-random-2"]


def test_formats_lists_every_importer(cli: Cli) -> None:
    code, out, _ = cli(["data", "formats"])
    assert code == 0
    names = [line.split()[0] for line in out.splitlines() if line and not line.startswith(" ")]
    assert [
        n for n in names if n in {"flickr30k", "llava", "multi30k", "pope", "roqa", "scienceqa", "textvqa"}
    ] == [
        "flickr30k",
        "llava",
        "multi30k",
        "pope",
        "roqa",
        "scienceqa",
        "textvqa",
    ]


def _assert_user_error(code: int, err: str, *needles: str) -> None:
    flat = " ".join(err.split())  # rich may wrap long lines
    assert code == 2
    assert flat.startswith("error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in flat, (needle, flat)


def test_bad_jsonl_line_exits_2_naming_file_line_and_field(tmp_path: Path, cli: Cli) -> None:
    src = _pope(tmp_path, BAD_LABEL)
    code, _, err = cli(["data", "import", "pope", str(src), str(tmp_path / "o.jsonl")])
    _assert_user_error(code, err, f"{src}:3: label: expected 'yes' or 'no', got 'maybe'")


def test_malformed_jsonl_line_exits_2(tmp_path: Path, cli: Cli) -> None:
    src = _pope(tmp_path, '{"question_id": 3,\n')
    code, _, err = cli(["data", "import", "pope", str(src), str(tmp_path / "o.jsonl")])
    _assert_user_error(code, err, f"{src}:3: json: Expecting property name enclosed in double quotes")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[{"id": "1", "conversations": [}]', ":1: json: Expecting value at column 32"),
        ('[{"id": "1", "conversations": [{"from": "human"}]}]', ": item 0: conversations.0.value: missing"),
        ('[{"id": "1", "conversations": "hi"}]', ": item 0: conversations: expected a list, got str"),
    ],
)
def test_bad_json_document_exits_2_naming_file_item_and_field(
    tmp_path: Path, cli: Cli, text: str, needle: str
) -> None:
    src = tmp_path / "llava.json"
    src.write_text(text, encoding="utf-8")
    code, _, err = cli(["data", "import", "llava", str(src), str(tmp_path / "o.jsonl")])
    _assert_user_error(code, err, f"{src}{needle}")


def test_missing_and_unreadable_images_exit_2(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "images"
    root.mkdir()
    Image.new("RGB", (2, 2)).save(root / "COCO_val2014_000000310196.jpg")
    (root / "x.jpg").write_bytes(b"garbage bytes")
    src = _pope(tmp_path, BAD_LABEL.replace("maybe", "no"))
    argv = ["data", "import", "pope", str(src), str(tmp_path / "o.jsonl"), "--image-root", str(root)]
    code, _, err = cli(argv)
    _assert_user_error(code, err, f"{src}:3: image: unreadable image {root / 'x.jpg'}")
    (root / "x.jpg").unlink()
    code, _, err = cli(argv)
    _assert_user_error(code, err, f"{src}:3: image: image not found: {root / 'x.jpg'}")


def test_unknown_format_and_bad_options_exit_2(tmp_path: Path, cli: Cli) -> None:
    src = str(_pope(tmp_path))
    code, _, err = cli(["data", "import", "coco", src, str(tmp_path / "o.jsonl")])
    _assert_user_error(code, err, "unknown import format 'coco'; known: cvqa, flickr30k, llava, marvl")
    code, _, err = cli(["data", "import", "pope", src, str(tmp_path / "o.jsonl"), "--on-error", "x"])
    _assert_user_error(code, err, "import: on_error: Input should be 'raise' or 'skip', not 'x'")
    code, _, err = cli(["data", "import", "pope", src, str(tmp_path / "o.jsonl"), "--split", "val"])
    _assert_user_error(code, err, "no item has split 'val'; splits in this file: random")


def test_on_error_skip_writes_rejects_with_reasons(tmp_path: Path, cli: Cli) -> None:
    src = _pope(tmp_path, BAD_LABEL)
    dest = tmp_path / "out" / "pope.jsonl"
    code, out, err = cli(["data", "import", "pope", str(src), str(dest), "--on-error", "skip"])
    assert code == 0
    assert "wrote 2 records" in out
    assert "1 rejected" in " ".join(err.split())
    rejects = [json.loads(x) for x in (tmp_path / "out" / "pope.rejects.jsonl").read_text().splitlines()]
    assert [(r["where"], r["reason"]) for r in rejects] == [
        (f"{src}:3", "label: expected 'yes' or 'no', got 'maybe'")
    ]


def test_stats_prints_counts_and_image_checks(tmp_path: Path, cli: Cli) -> None:
    dest = tmp_path / "pope.jsonl"
    assert cli(["data", "import", "pope", str(_pope(tmp_path)), str(dest)])[0] == 0
    (tmp_path / "images").mkdir()
    code, out, err = cli(["data", "stats", str(dest), "--image-root", str(tmp_path / "images")])
    assert (code, err) == (0, "")
    flat = " ".join(out.split())
    for needle in ("2 records", "yes_no 2", "random 2", "1 unique", "yes 1, no 1, other 0; yes ratio 0.500"):
        assert needle in flat, needle
    assert "1 checked, 1 missing, 0 unreadable" in flat


def test_stats_on_a_bad_records_file_exits_2(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": "1", "task": "yes_no", "lang": "en", "answers": ["yes"]}\n', encoding="utf-8")
    code, _, err = cli(["data", "stats", str(path)])
    _assert_user_error(code, err, f"{path}:1: record: a yes_no example needs a non-empty 'question'")
