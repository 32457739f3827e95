"""Importers: each source format in its exact layout; every kind of bad input; the real shared data; stats.

Fixtures are literal strings in each format's original layout. The Multi30K lines are quoted from
multi30k/dataset (data/task1/raw/test_2016_flickr.{en,fr}, image_splits/test_2016_flickr.txt).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from vlmadapt.data import IMPORTERS, dataset_stats, import_dataset, render_stats
from vlmadapt.errors import RecordError, UnknownNameError, VlmadaptError
from vlmadapt.jsonl import read_records
from vlmadapt.records import Example

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _dumped(path: Path) -> list[dict[str, Any]]:
    """The records as written, field for field (absent fields stay absent)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 3), (200, 30, 30)).save(path)
    return path


# --- one test per format, on its exact layout ---------------------------------------------------------

FLICKR30K = """{"images": [
 {"sentids": [0, 1], "imgid": 0, "sentences": [
   {"tokens": ["two", "young", "guys"], "raw": "Two young guys with shaggy hair look at their hands.",
    "imgid": 0, "sentid": 0},
   {"tokens": ["two", "young", "men"], "raw": "Two young, White males are outside near many bushes.",
    "imgid": 0, "sentid": 1}],
  "split": "train", "filename": "1000092795.jpg"},
 {"sentids": [2], "imgid": 1, "sentences": [
   {"tokens": ["a", "dog"], "raw": "A dog runs on the grass. ", "imgid": 1, "sentid": 2}],
  "split": "test", "filename": "1007129816.jpg"}
], "dataset": "flickr30k"}"""


def test_flickr30k_karpathy_split_gives_one_caption_example_per_image(tmp_path: Path) -> None:
    src = _write(tmp_path / "dataset_flickr30k.json", FLICKR30K)
    result = import_dataset("flickr30k", src, tmp_path / "out.jsonl")
    assert (result.written, result.rejected, result.rejects_path) == (2, 0, None)
    assert _dumped(tmp_path / "out.jsonl") == [
        {
            "id": "flickr30k-1000092795",
            "task": "caption",
            "lang": "en",
            "image": "1000092795.jpg",
            "answers": [
                "Two young guys with shaggy hair look at their hands.",
                "Two young, White males are outside near many bushes.",
            ],
            "meta": {"split": "train", "imgid": 0},
        },
        {
            "id": "flickr30k-1007129816",
            "task": "caption",
            "lang": "en",
            "image": "1007129816.jpg",
            "answers": ["A dog runs on the grass."],
            "meta": {"split": "test", "imgid": 1},
        },
    ]


def test_split_keeps_one_split_and_an_absent_split_is_an_error(tmp_path: Path) -> None:
    src = _write(tmp_path / "dataset_flickr30k.json", FLICKR30K)
    assert import_dataset("flickr30k", src, tmp_path / "test.jsonl", split="test").written == 1
    assert [ex.id for ex in read_records(tmp_path / "test.jsonl", Example)] == ["flickr30k-1007129816"]
    with pytest.raises(VlmadaptError, match=r"no item has split 'val'; splits in this file: test, train"):
        import_dataset("flickr30k", src, tmp_path / "val.jsonl", split="val")


ROQA_ROWS = [
    '{"question": "Ce culoare are părul băieților?", "answer": "Părul lor este ciufulit.", '
    '"file_name": "1000092795.jpg", "caption": ["Doi tineri cu părul ciufulit se uită la mâini.", '
    '"Doi bărbați albi sunt afară lângă tufișuri."]}',
    '{"question": "Unde se află bărbații?", "answer": "Afară, lângă tufișuri.", '
    '"file_name": "1000092795.jpg", "caption": ["Doi tineri cu părul ciufulit se uită la mâini."]}',
]


@pytest.mark.parametrize("layout", ["json", "jsonl"])
def test_roqa_rows_become_open_vqa_with_stable_ids(tmp_path: Path, layout: str) -> None:
    text = "[" + ",\n".join(ROQA_ROWS) + "]" if layout == "json" else "\n".join(ROQA_ROWS) + "\n"
    src = _write(tmp_path / f"roqa_test.{layout}", text)
    import_dataset("roqa", src, tmp_path / "out.jsonl", lang="ro")
    assert _dumped(tmp_path / "out.jsonl") == [
        {
            "id": "roqa-1000092795-0",
            "task": "open_vqa",
            "lang": "ro",
            "image": "1000092795.jpg",
            "question": "Ce culoare are părul băieților?",
            "answers": ["Părul lor este ciufulit."],
            "meta": {
                "captions": [
                    "Doi tineri cu părul ciufulit se uită la mâini.",
                    "Doi bărbați albi sunt afară lângă tufișuri.",
                ]
            },
        },
        {
            "id": "roqa-1000092795-1",
            "task": "open_vqa",
            "lang": "ro",
            "image": "1000092795.jpg",
            "question": "Unde se află bărbații?",
            "answers": ["Afară, lângă tufișuri."],
            "meta": {"captions": ["Doi tineri cu părul ciufulit se uită la mâini."]},
        },
    ]


LLAVA = """[
  {"id": "000000033471", "image": "coco/train2017/000000033471.jpg", "conversations": [
    {"from": "human", "value": "<image>\\nWhat are the colors of the bus in the image?"},
    {"from": "gpt", "value": "The bus in the image is white and red."},
    {"from": "human", "value": "What feature can be seen on the back of the bus?"},
    {"from": "gpt", "value": "The back of the bus features an advertisement."}]},
  {"id": "i6IyJda_0", "model": "", "conversations": [
    {"from": "human", "value": "How to tell if a customer segment is well segmented?"},
    {"from": "gpt", "value": "Check that it is homogeneous and distinct."}]},
  {"id": 42, "image": "ocr_vqa/images/42.jpg", "conversations": [
    {"from": "human", "value": "Who wrote this book?\\n<image>"},
    {"from": "gpt", "value": "Jane Doe"}]}
]"""


def test_llava_conversations_map_roles_and_drop_the_image_placeholder(tmp_path: Path) -> None:
    src = _write(tmp_path / "llava_v1_5_mix665k.json", LLAVA)
    import_dataset("llava", src, tmp_path / "out.jsonl")
    assert _dumped(tmp_path / "out.jsonl") == [
        {
            "id": "000000033471",
            "task": "conversation",
            "lang": "en",
            "image": "coco/train2017/000000033471.jpg",
            "turns": [
                {"role": "user", "content": "What are the colors of the bus in the image?"},
                {"role": "assistant", "content": "The bus in the image is white and red."},
                {"role": "user", "content": "What feature can be seen on the back of the bus?"},
                {"role": "assistant", "content": "The back of the bus features an advertisement."},
            ],
            "answers": [],
            "meta": {},
        },
        {
            "id": "i6IyJda_0",
            "task": "conversation",
            "lang": "en",
            "turns": [
                {"role": "user", "content": "How to tell if a customer segment is well segmented?"},
                {"role": "assistant", "content": "Check that it is homogeneous and distinct."},
            ],
            "answers": [],
            "meta": {},
        },
        {
            "id": "42",
            "task": "conversation",
            "lang": "en",
            "image": "ocr_vqa/images/42.jpg",
            "turns": [
                {"role": "user", "content": "Who wrote this book?"},
                {"role": "assistant", "content": "Jane Doe"},
            ],
            "answers": [],
            "meta": {},
        },
    ]


@pytest.mark.parametrize(
    ("value", "content"),
    [
        ("<image>\nWhat is this?", "What is this?"),
        ("What is this?\n<image>", "What is this?"),
        ("Look:<image>\nWhat is this?", "Look:What is this?"),
        ("Two lines\nstay two\n<image>", "Two lines\nstay two"),
    ],
)
def test_llava_image_placeholder_goes_with_its_newline(tmp_path: Path, value: str, content: str) -> None:
    turns = [{"from": "human", "value": value}, {"from": "gpt", "value": "A cat."}]
    src = _write(tmp_path / "llava.json", json.dumps([{"id": "a", "image": "a.jpg", "conversations": turns}]))
    import_dataset("llava", src, tmp_path / "out.jsonl")
    assert _dumped(tmp_path / "out.jsonl")[0]["turns"][0] == {"role": "user", "content": content}


SCIENCEQA = """{
 "5": {"question": "Which figure of speech is used in this text?", "choices": ["hyperbole", "onomatopoeia"],
       "answer": 1, "hint": "Sing, O goddess, the anger of Achilles.", "image": null, "task": "closed choice",
       "grade": "grade10", "subject": "language science", "topic": "figurative-language",
       "category": "Literary devices", "skill": "Classify the figure of speech", "lecture": "L.",
       "solution": "S.", "split": "test"},
 "12": {"question": "Which of these states is farthest north?", "choices": ["West Virginia", "Louisiana",
        "Arizona", "Oklahoma"], "answer": 0, "hint": "", "image": "image.png", "task": "closed choice",
        "grade": "grade2", "subject": "social science", "topic": "geography", "category": "Geography",
        "skill": "Read a map: cardinal directions", "lecture": "", "solution": "", "split": "train"}
}"""


def test_scienceqa_problems_become_multiple_choice_with_release_image_paths(tmp_path: Path) -> None:
    src = _write(tmp_path / "problems.json", SCIENCEQA)
    import_dataset("scienceqa", src, tmp_path / "out.jsonl")
    assert _dumped(tmp_path / "out.jsonl") == [
        {
            "id": "scienceqa-5",
            "task": "multiple_choice",
            "lang": "en",
            "question": "Which figure of speech is used in this text?",
            "answers": ["onomatopoeia"],
            "choices": ["hyperbole", "onomatopoeia"],
            "answer_index": 1,
            "meta": {
                "split": "test",
                "hint": "Sing, O goddess, the anger of Achilles.",
                "subject": "language science",
                "topic": "figurative-language",
                "category": "Literary devices",
                "skill": "Classify the figure of speech",
                "grade": "grade10",
                "lecture": "L.",
                "solution": "S.",
            },
        },
        {
            "id": "scienceqa-12",
            "task": "multiple_choice",
            "lang": "en",
            "image": "train/12/image.png",
            "question": "Which of these states is farthest north?",
            "answers": ["West Virginia"],
            "choices": ["West Virginia", "Louisiana", "Arizona", "Oklahoma"],
            "answer_index": 0,
            "meta": {
                "split": "train",
                "hint": "",
                "subject": "social science",
                "topic": "geography",
                "category": "Geography",
                "skill": "Read a map: cardinal directions",
                "grade": "grade2",
                "lecture": "",
                "solution": "",
            },
        },
    ]


TEXTVQA = """{"dataset_type": "val", "dataset_name": "textvqa", "dataset_version": "0.5.1", "data": [
 {"question": "what is the brand of phone?", "image_id": "003a8ae2ef43b901",
  "image_classes": ["Cassette deck", "Printer"], "flickr_original_url": "https://farm2.staticflickr.com/x.jpg",
  "flickr_300k_url": "https://farm2.staticflickr.com/y.jpg", "image_width": 1024, "image_height": 730,
  "answers": ["nokia", "nokia", "nokia", "nokia", "toshiba", "nokia", "nokia", "nokia", "nokia", "nokia"],
  "question_tokens": ["what", "is", "the", "brand", "of", "phone"], "question_id": 34602, "set_name": "val"}
]}"""


def test_textvqa_questions_keep_all_ten_answers(tmp_path: Path) -> None:
    src = _write(tmp_path / "TextVQA_0.5.1_val.json", TEXTVQA)
    import_dataset("textvqa", src, tmp_path / "out.jsonl")
    assert _dumped(tmp_path / "out.jsonl") == [
        {
            "id": "textvqa-34602",
            "task": "open_vqa",
            "lang": "en",
            "image": "003a8ae2ef43b901.jpg",
            "question": "what is the brand of phone?",
            "answers": ["nokia"] * 4 + ["toshiba"] + ["nokia"] * 5,
            "meta": {"question_id": 34602, "image_classes": ["Cassette deck", "Printer"], "split": "val"},
        }
    ]


POPE = (
    '{"question_id": 1, "image": "COCO_val2014_000000310196.jpg", '
    '"text": "Is there a snowboard in the image?", "label": "yes"}\n'
    '{"question_id": 2, "image": "COCO_val2014_000000310196.jpg", '
    '"text": "Is there a backpack in the image?", "label": "no"}\n'
)


def test_pope_takes_the_split_from_the_file_name(tmp_path: Path) -> None:
    src = _write(tmp_path / "coco_pope_adversarial.json", POPE)
    result = import_dataset("pope", src, tmp_path / "out.jsonl")
    assert result.written == 2
    assert _dumped(tmp_path / "out.jsonl") == [
        {
            "id": "pope-adversarial-1",
            "task": "yes_no",
            "lang": "en",
            "image": "COCO_val2014_000000310196.jpg",
            "question": "Is there a snowboard in the image?",
            "answers": ["yes"],
            "meta": {"split": "adversarial", "question_id": 1},
        },
        {
            "id": "pope-adversarial-2",
            "task": "yes_no",
            "lang": "en",
            "image": "COCO_val2014_000000310196.jpg",
            "question": "Is there a backpack in the image?",
            "answers": ["no"],
            "meta": {"split": "adversarial", "question_id": 2},
        },
    ]


MULTI30K_EN = (
    "A man in an orange hat starring at something.\n"
    "A Boston Terrier is running on lush green grass in front of a white fence.\n"
)
MULTI30K_FR = (
    "Un homme avec un chapeau orange regardant quelque chose.\n"
    "Un terrier de Boston court sur l'herbe verdoyante devant une clôture blanche.\n"
)
MULTI30K_IMAGES = "1007129816.jpg\n1009434119.jpg\n"
MULTI30K_EXPECTED = [
    {
        "id": "multi30k-test_2016_flickr-1",
        "task": "caption",
        "lang": "fr",
        "image": "1007129816.jpg",
        "answers": ["Un homme avec un chapeau orange regardant quelque chose."],
        "source": {"lang": "en", "answers": ["A man in an orange hat starring at something."]},
        "meta": {"split": "test_2016_flickr", "line": 1},
    },
    {
        "id": "multi30k-test_2016_flickr-2",
        "task": "caption",
        "lang": "fr",
        "image": "1009434119.jpg",
        "answers": ["Un terrier de Boston court sur l'herbe verdoyante devant une clôture blanche."],
        "source": {
            "lang": "en",
            "answers": ["A Boston Terrier is running on lush green grass in front of a white fence."],
        },
        "meta": {"split": "test_2016_flickr", "line": 2},
    },
]


def test_multi30k_french_captions_carry_the_english_line_as_source(tmp_path: Path) -> None:
    src = _write(tmp_path / "test_2016_flickr.fr", MULTI30K_FR)
    _write(tmp_path / "test_2016_flickr.en", MULTI30K_EN)
    _write(tmp_path / "test_2016_flickr.images.txt", MULTI30K_IMAGES)
    import_dataset("multi30k", src, tmp_path / "out.jsonl", lang="fr")
    assert _dumped(tmp_path / "out.jsonl") == MULTI30K_EXPECTED


def test_multi30k_reads_the_repository_layout_gzipped_raw_and_image_splits(tmp_path: Path) -> None:
    raw = tmp_path / "data" / "task1" / "raw"
    raw.mkdir(parents=True)
    for lang, text in (("fr", MULTI30K_FR), ("en", MULTI30K_EN)):
        with gzip.open(raw / f"test_2016_flickr.{lang}.gz", "wt", encoding="utf-8") as f:
            f.write(text)
    _write(tmp_path / "data" / "task1" / "image_splits" / "test_2016_flickr.txt", MULTI30K_IMAGES)
    import_dataset("multi30k", raw / "test_2016_flickr.fr.gz", tmp_path / "out.jsonl", lang="fr")
    assert _dumped(tmp_path / "out.jsonl") == MULTI30K_EXPECTED


def test_multi30k_english_file_has_no_source(tmp_path: Path) -> None:
    src = _write(tmp_path / "val.en", MULTI30K_EN)
    _write(tmp_path / "val.images.txt", MULTI30K_IMAGES)
    import_dataset("multi30k", src, tmp_path / "out.jsonl")
    assert [("source" in r, r["lang"], r["id"]) for r in _dumped(tmp_path / "out.jsonl")] == [
        (False, "en", "multi30k-val-1"),
        (False, "en", "multi30k-val-2"),
    ]


@pytest.mark.parametrize(
    ("files", "lang", "message"),
    [
        ({"val.images.txt": MULTI30K_IMAGES}, "en", r"val\.fr: the file name says language 'fr' but --lang"),
        ({}, "fr", r"val\.fr: no image list found \(tried .*val\.images\.txt, .*image_splits/val\.txt\)"),
        ({"val.images.txt": "1007129816.jpg\n"}, "fr", r"val\.fr has 2 lines but .*val\.images\.txt has 1"),
        (
            {"val.images.txt": MULTI30K_IMAGES, "val.en": "only one line\n"},
            "fr",
            r"val\.fr has 2 lines but .*val\.en has 1; Multi30K files must be line-aligned",
        ),
    ],
)
def test_multi30k_misaligned_or_mislabelled_files_are_errors(
    tmp_path: Path, files: dict[str, str], lang: str, message: str
) -> None:
    src = _write(tmp_path / "val.fr", MULTI30K_FR)
    for name, text in files.items():
        _write(tmp_path / name, text)
    with pytest.raises(VlmadaptError, match=message):
        import_dataset("multi30k", src, tmp_path / "out.jsonl", lang=lang)


def test_parquet_output_reads_back_the_same_records(tmp_path: Path) -> None:
    src = _write(tmp_path / "coco_pope_random.json", POPE)
    import_dataset("pope", src, tmp_path / "a.jsonl")
    import_dataset("pope", src, tmp_path / "a.parquet")
    assert read_records(tmp_path / "a.parquet") == read_records(tmp_path / "a.jsonl")


def test_every_format_is_registered_with_a_description() -> None:
    assert sorted(IMPORTERS) == [
        *("cvqa", "flickr30k", "llava", "marvl", "maxm", "mtvqa", "multi30k"),
        *("pope", "roqa", "scienceqa", "textvqa", "xgqa", "xm3600"),
    ]
    assert all(imp.description for imp in IMPORTERS.values())


# --- bad input -----------------------------------------------------------------------------------------


def _pope_line(**fields: Any) -> str:
    item = {"question_id": 7, "image": "a.jpg", "text": "Is there a dog in the image?", "label": "no"}
    item.update(fields)
    return json.dumps({k: v for k, v in item.items() if v is not ...})


@pytest.mark.parametrize(
    ("line", "field", "problem"),
    [
        ('{"question_id": 7, "image": "a.jpg", "text": "Is', "json", "Unterminated string starting at"),
        (_pope_line(text=...), "text", "missing required field"),
        (_pope_line(text=3), "text", "expected a string, got int"),
        (_pope_line(text="  "), "text", "empty text"),
        (_pope_line(label="maybe"), "label", "expected 'yes' or 'no', got 'maybe'"),
        (_pope_line(question_id=None), "question_id", "must not be null"),
        ("[1, 2]", "item", "expected a JSON object, got list"),
        (_pope_line(question_id=1), "id", "duplicate id 'pope-random-1' (first at "),
    ],
)
def test_bad_jsonl_item_names_file_line_and_field(
    tmp_path: Path, line: str, field: str, problem: str
) -> None:
    src = _write(tmp_path / "coco_pope_random.json", POPE + "\n" + line + "\n")
    with pytest.raises(RecordError) as info:
        import_dataset("pope", src, tmp_path / "out.jsonl")
    assert (info.value.where, info.value.field) == (f"{src}:4", field)
    assert problem in info.value.problem
    assert not (tmp_path / "out.jsonl").exists()  # nothing half-written


@pytest.mark.parametrize(
    ("fmt", "text", "where", "field", "problem"),
    [
        ("llava", LLAVA.replace('"gpt", "value": "Jane', '"human", "value": "Jane'), "item 2",
         "conversations.1.from", "expected 'gpt' (turns alternate human, gpt), got 'human'"),
        ("llava", LLAVA.replace('"human", "value": "How', '"system", "value": "How'), "item 1",
         "conversations.0.from", "expected 'human' (turns alternate human, gpt), got 'system'"),
        ("llava", LLAVA.replace(', "model": ""', "").replace('"How to', '"<image>\\nHow to'), "item 1",
         "conversations.0.value", "<image> placeholder in an item without 'image'"),
        ("llava", LLAVA.replace('"conversations": [\n    {"from": "human", "value": "How', '"c": [{"x": "'),
         "item 1", "conversations", "missing required field"),
        ("scienceqa", SCIENCEQA.replace('"answer": 1', '"answer": 2'), "item 5", "answer",
         "2 is not an index into the 2 choices"),
        ("scienceqa", SCIENCEQA.replace('"answer": 1', '"answer": "1"'), "item 5", "answer",
         "expected an integer, got str"),
        ("scienceqa", SCIENCEQA.replace('"Louisiana"', "null"), "item 12", "choices.1", "must not be null"),
        ("flickr30k", FLICKR30K.replace('"raw": "A dog', '"raw": 5, "x": "A dog'), "item 1",
         "sentences.0.raw", "expected a string, got int"),
        ("flickr30k", FLICKR30K.replace('"split": "test", ', ""), "item 1", "split",
         "missing required field"),
        ("textvqa", TEXTVQA.replace('"nokia", "toshiba"', '"nokia", 4'), "item 0", "answers.4",
         "expected a string, got int"),
    ],
)  # fmt: skip
def test_bad_json_item_names_file_item_and_field(
    tmp_path: Path, fmt: str, text: str, where: str, field: str, problem: str
) -> None:
    assert text not in (LLAVA, SCIENCEQA, FLICKR30K, TEXTVQA)  # the replacement took
    src = _write(tmp_path / "src.json", text)
    with pytest.raises(RecordError) as info:
        import_dataset(fmt, src, tmp_path / "out.jsonl")
    assert (info.value.where, info.value.field, info.value.problem) == (f"{src}: {where}", field, problem)


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        ("llava", '[{"id": "a",\n "image": x}]', r"src\.json:2: json: Expecting value at column 11"),
        ("textvqa", '{"data": [}', r"src\.json:1: json: Expecting value at column 11"),
        ("textvqa", '{"questions": []}', r"src\.json: expected a JSON object with a 'data' list of items"),
        ("scienceqa", "[]", r"src\.json: expected a JSON document holding an object keyed by id, got list"),
        ("llava", "{}", r"src\.json: expected a JSON document holding a list of items, got dict"),
        ("llava", "[]", r"src\.json: no items found"),
        ("roqa", "\n\n", r"src\.json: no items found"),
    ],
)
def test_malformed_or_misshapen_json_files_name_the_file_and_position(
    tmp_path: Path, fmt: str, text: str, message: str
) -> None:
    src = _write(tmp_path / "src.json", text)
    with pytest.raises(VlmadaptError, match=message):
        import_dataset(fmt, src, tmp_path / "out.jsonl")


def test_unknown_format_missing_source_and_bad_options(tmp_path: Path) -> None:
    src = _write(tmp_path / "coco_pope_random.json", POPE)
    with pytest.raises(
        UnknownNameError, match=r"unknown import format 'vqav2'; known: cvqa, flickr30k, llava, "
    ):
        import_dataset("vqav2", src, tmp_path / "out.jsonl")
    with pytest.raises(VlmadaptError, match=r"nope\.json: no such file"):
        import_dataset("pope", tmp_path / "nope.json", tmp_path / "out.jsonl")
    with pytest.raises(VlmadaptError, match=r"--lang 'French' is not a language code"):
        import_dataset("pope", src, tmp_path / "out.jsonl", lang="French")
    with pytest.raises(VlmadaptError, match=r"--image-root .*imgs: no such folder"):
        import_dataset("pope", src, tmp_path / "out.jsonl", image_root=tmp_path / "imgs")
    with pytest.raises(VlmadaptError, match=r"the output would overwrite the source"):
        import_dataset("pope", src, src)


def test_image_root_checks_every_image_exists_and_opens(tmp_path: Path) -> None:
    root = tmp_path / "images"
    _image(root / "COCO_val2014_000000310196.jpg")
    (root / "bad.jpg").write_bytes(b"\x00garbage, not a JPEG")
    src = _write(tmp_path / "coco_pope_random.json", POPE)
    assert import_dataset("pope", src, tmp_path / "ok.jsonl", image_root=root).written == 2

    for image, problem in (("missing.jpg", "image not found: "), ("bad.jpg", "unreadable image ")):
        bad = _write(tmp_path / "coco_pope_random.json", POPE + _pope_line(question_id=3, image=image))
        with pytest.raises(RecordError) as info:
            import_dataset("pope", bad, tmp_path / "out.jsonl", image_root=root)
        assert (info.value.where, info.value.field) == (f"{bad}:3", "image")
        assert info.value.problem.startswith(problem)
        assert image in info.value.problem


def test_skip_writes_every_reject_with_its_reason_and_keeps_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "images"
    _image(root / "COCO_val2014_000000310196.jpg")
    src = _write(
        tmp_path / "coco_pope_popular.json",
        POPE + "{broken\n" + _pope_line(label="maybe") + "\n" + _pope_line(question_id=9, image="gone.jpg"),
    )
    result = import_dataset("pope", src, tmp_path / "out.jsonl", image_root=root, on_error="skip")
    assert (result.written, result.rejected) == (2, 3)
    assert result.rejects_path == tmp_path / "out.rejects.jsonl"
    rejects = _dumped(tmp_path / "out.rejects.jsonl")
    assert [r["where"] for r in rejects] == [f"{src}:3", f"{src}:4", f"{src}:5"]
    assert rejects[0] == {
        "where": f"{src}:3",
        "reason": "json: Expecting property name enclosed in double quotes at column 2",
        "record": "{broken",
    }
    assert rejects[1]["reason"] == "label: expected 'yes' or 'no', got 'maybe'"
    assert rejects[1]["record"]["label"] == "maybe"
    assert rejects[2]["reason"].startswith("image: image not found: ")
    assert [ex.id for ex in read_records(tmp_path / "out.jsonl", Example)] == [
        "pope-popular-1",
        "pope-popular-2",
    ]


def test_skip_with_nothing_to_reject_leaves_an_empty_rejects_file(tmp_path: Path) -> None:
    src = _write(tmp_path / "coco_pope_random.json", POPE)
    stale = _write(tmp_path / "r.jsonl", '{"old": "reject"}\n')
    result = import_dataset("pope", src, tmp_path / "out.jsonl", on_error="skip", rejects_path=stale)
    assert (result.rejected, result.rejects_path) == (0, stale)
    assert stale.read_text() == ""


# --- the real shared data -------------------------------------------------------------------------------


def _shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"no shared real data at {path} (only present in the project workspace)")
    return path


@pytest.mark.parametrize("split", ["random", "popular", "adversarial"])
def test_real_pope_files_import_whole_and_balanced(tmp_path: Path, split: str) -> None:
    src = _shared("pope", f"coco_pope_{split}.json")
    result = import_dataset("pope", src, tmp_path / "pope.jsonl")
    assert result.written == 3000
    stats = dataset_stats(tmp_path / "pope.jsonl")
    assert stats["by_split"] == {split: 3000}
    assert stats["unique_images"] == 500
    assert stats["yes_no"] == {"yes": 1500, "no": 1500, "other": 0, "yes_ratio": 0.5}


def test_real_multi30k_val_french_with_english_source(tmp_path: Path) -> None:
    src = _shared("multi30k", "val.fr")
    assert import_dataset("multi30k", src, tmp_path / "val.fr.jsonl", lang="fr").written == 1014
    examples = read_records(tmp_path / "val.fr.jsonl", Example)
    assert examples[0] == Example.model_validate(
        {
            "id": "multi30k-val-1",
            "task": "caption",
            "lang": "fr",
            "image": "1018148011.jpg",
            "answers": ["Un groupe d'hommes chargent du coton dans un camion"],
            "source": {"lang": "en", "answers": ["A group of men are loading cotton onto a truck"]},
            "meta": {"split": "val", "line": 1},
        }
    )
    assert all(ex.source is not None and ex.source.answers for ex in examples)


# --- stats -----------------------------------------------------------------------------------------------


def test_stats_count_tasks_languages_splits_lengths_and_yes_ratio(tmp_path: Path) -> None:
    records = [
        '{"id": "1", "task": "yes_no", "lang": "ro", "image": "a.jpg", "question": "Există o pisică?", '
        '"answers": ["Da."], "meta": {"split": "test"}}',
        '{"id": "2", "task": "yes_no", "lang": "ro", "image": "a.jpg", "question": "Există un câine aici?", '
        '"answers": ["nu"], "meta": {"split": "test"}}',
        '{"id": "3", "task": "yes_no", "lang": "en", "image": "b.jpg", "question": "Is it red?", '
        '"answers": ["perhaps"]}',
        '{"id": "4", "task": "conversation", "lang": "en", '
        '"turns": [{"role": "user", "content": "Hi there"}, '
        '{"role": "assistant", "content": "Hello to you too"}], "meta": {"split": "train"}}',
    ]
    path = _write(tmp_path / "d.jsonl", "\n".join(records) + "\n")
    stats = dataset_stats(path)
    assert stats == {
        "path": str(path),
        "records": 4,
        "by_task": {"conversation": 1, "yes_no": 3},
        "by_lang": {"en": 2, "ro": 2},
        "by_split": {"(none)": 1, "test": 2, "train": 1},
        "unique_images": 2,
        "text_only": 1,
        "question_words": {"mean": 3.0, "median": 3.0},  # 3, 4, 3, 2 words
        "answer_words": {"mean": 1.75, "median": 1.0},  # 1, 1, 1, 4 words
        "yes_no": {"yes": 1, "no": 1, "other": 1, "yes_ratio": 1 / 3},
    }
    assert render_stats(stats).row_count == 7


def test_stats_with_image_root_count_missing_and_unreadable_images(tmp_path: Path) -> None:
    root = tmp_path / "images"
    _image(root / "ok.jpg")
    (root / "bad.jpg").write_bytes(b"not an image")
    lines = [
        json.dumps({"id": str(i), "task": "caption", "lang": "en", "image": im, "answers": ["A cat."]})
        for i, im in enumerate(["ok.jpg", "bad.jpg", "gone.jpg", "ok.jpg", "../outside.jpg"])
    ]
    path = _write(tmp_path / "d.jsonl", "\n".join(lines) + "\n")
    images = dataset_stats(path, image_root=root)["images"]
    assert {k: images[k] for k in ("checked", "missing", "unreadable")} == {
        "checked": 4,
        "missing": 2,
        "unreadable": 1,
    }
    assert len(images["problems"]) == 3
    assert images["problems"][2].startswith(f"unreadable image {root / 'bad.jpg'}")
