"""Importers: each source dataset, read in its original layout, becomes vlmadapt example records.

A format is a **reader** (how items sit in the source files, see `sources`) and a **converter** (one
source item -> the fields of an `Example`). The multilingual benchmarks (XM3600, MaXM, xGQA, MaRVL,
CVQA, MTVQA) take each record's language from the source: `--lang` keeps one language, `--lang mul`
all of them in one file. `import_dataset` passes every item through its converter, the
Example schema, the split filter, the image check and the duplicate-id check. A bad item raises
`RecordError` naming ``file:line`` (line-based sources) or ``file: item KEY`` (JSON documents), the field
and the problem; with ``on_error="skip"`` it goes, with that reason and the item as read, to the rejects
file instead. Nothing is dropped silently. A source that cannot be read as a whole (not JSON, the wrong
shape, misaligned text files) raises in either mode.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmadapt.data.sources import Fields, Item, base_name, json_items, list_or_lines, read_text, text_lines
from vlmadapt.errors import RecordError, VlmadaptError, lookup
from vlmadapt.images import image_problem
from vlmadapt.jsonl import OnError, Rejects, parse_record, save_records, write_jsonl
from vlmadapt.records import Example


@dataclass(frozen=True)
class Context:
    src: Path
    lang: str


@dataclass(frozen=True)
class Importer:
    description: str
    read: Callable[[Context], Iterator[Item]]
    convert: Callable[[Fields, Item, Context], dict[str, Any]]  # source item -> Example fields


@dataclass(frozen=True)
class ImportResult:
    written: int
    path: Path
    rejected: int
    rejects_path: Path | None


# --- formats -----------------------------------------------------------------------------------------


def _flickr30k(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    """Karpathy split file: one image with its (usually five) reference sentences."""
    filename = f.text("filename")
    return {
        "id": f"flickr30k-{Path(filename).stem}",
        "task": "caption",
        "lang": ctx.lang,
        "image": filename,
        "answers": [sentence.text("raw") for sentence in f.objects("sentences")],
        "meta": {"split": f.text("split")} | f.present("imgid"),
    }


def _roqa(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    """Flickr30K-RoQA row: a question and answer about a Flickr30k image, with the image's captions."""
    file_name = f.text("file_name")
    captions = [f.text("caption")] if isinstance(f.obj.get("caption"), str) else f.texts("caption")
    # The rows carry no id; file name + position is stable for a given file, and the same in JSON and JSONL.
    rid = f.ident("id") if "id" in f.obj else f"roqa-{Path(file_name).stem}-{item.index}"
    return {
        "id": rid,
        "task": "open_vqa",
        "lang": ctx.lang,
        "image": file_name,
        "question": f.text("question"),
        "answers": [f.text("answer")],
        "meta": {"captions": captions} | f.present("split"),
    }


_LLAVA_ROLES = {"human": "user", "gpt": "assistant"}
_IMAGE_TOKEN = "<image>"


def _llava(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    """LLaVA instruction data: alternating human/gpt turns; `<image>` marks where the image goes."""
    image = f.get("image", str, required=False)
    turns = [_llava_turn(turn, i, image is not None) for i, turn in enumerate(f.objects("conversations"))]
    if turns[-1]["role"] != "assistant":
        raise f.error("conversations", "the last turn must come from 'gpt'")
    return {"id": f.ident("id"), "task": "conversation", "lang": ctx.lang, "image": image, "turns": turns}


def _llava_turn(turn: Fields, i: int, has_image: bool) -> dict[str, str]:
    role = turn.get("from", str)
    expected = "human" if i % 2 == 0 else "gpt"
    if role != expected:
        raise turn.error("from", f"expected {expected!r} (turns alternate human, gpt), got {role!r}")
    value = turn.text("value")
    if _IMAGE_TOKEN in value and not has_image:
        raise turn.error("value", f"{_IMAGE_TOKEN} placeholder in an item without 'image'")
    # LLaVA writes "<image>\n" before the text (or "\n<image>" after it); drop the marker and its newline.
    text = value.replace(f"{_IMAGE_TOKEN}\n", "").replace(f"\n{_IMAGE_TOKEN}", "").replace(_IMAGE_TOKEN, "")
    if not text.strip():
        raise turn.error("value", f"no text besides {_IMAGE_TOKEN}")
    return {"role": _LLAVA_ROLES[role], "content": text.strip()}


_SCIENCEQA_META = ("subject", "topic", "category", "skill", "grade", "lecture", "solution")


def _scienceqa(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    """ScienceQA problems.json entry; its image (if any) is `<split>/<pid>/image.png` in the release."""
    pid = item.key if item.key is not None else str(item.index)
    choices = f.texts("choices")
    answer = f.get("answer", int)
    if not 0 <= answer < len(choices):
        raise f.error("answer", f"{answer} is not an index into the {len(choices)} choices")
    split = f.text("split")
    image = f.get("image", str, required=False)
    hint = f.get("hint", str, required=False) or ""
    return {
        "id": f"scienceqa-{pid}",
        "task": "multiple_choice",
        "lang": ctx.lang,
        "image": f"{split}/{pid}/{image}" if image else None,
        "question": f.text("question"),
        "choices": choices,
        "answer_index": answer,
        "answers": [choices[answer]],
        "meta": {"split": split, "hint": hint.strip()} | f.present(*_SCIENCEQA_META),
    }


def _textvqa(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    """TextVQA question; train and val carry ten human answers each, the test split none."""
    qid = f.ident("question_id")
    meta = {"question_id": f.obj["question_id"]} | f.present("image_classes")
    if f.obj.get("set_name") is not None:
        meta["split"] = f.text("set_name")
    return {
        "id": f"textvqa-{qid}",
        "task": "open_vqa",
        "lang": ctx.lang,
        "image": f"{f.text('image_id')}.jpg",
        "question": f.text("question"),
        "answers": f.texts("answers", required=False),
        "meta": meta,
    }


POPE_SPLITS = ("random", "popular", "adversarial")


def pope_split(src: Path) -> str:
    """`coco_pope_random.json` -> "random"; a file named otherwise keeps its whole stem as the split."""
    stem = Path(base_name(src)).stem
    last = stem.rsplit("_", 1)[-1]
    return last if last in POPE_SPLITS else stem


def _pope(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    """POPE question: is this object in the image? `label` is the answer."""
    qid = f.ident("question_id")
    label = f.text("label")
    if label not in ("yes", "no"):
        raise f.error("label", f"expected 'yes' or 'no', got {label!r}")
    split = pope_split(ctx.src)
    return {
        "id": f"pope-{split}-{qid}",
        "task": "yes_no",
        "lang": ctx.lang,
        "image": f.text("image"),
        "question": f.text("text"),
        "answers": [label],
        "meta": {"split": split, "question_id": f.obj["question_id"]},
    }


def _multi30k_items(ctx: Context) -> Iterator[Item]:
    """Multi30K task 1: `<split>.<lang>` captions, line-aligned with the image names and the English file."""
    split, file_lang = multi30k_name(ctx.src)
    if file_lang and file_lang != ctx.lang:
        raise VlmadaptError(
            f"{ctx.src}: the file name says language {file_lang!r} but --lang is {ctx.lang!r}; "
            f"pass --lang {file_lang}"
        )
    captions = text_lines(ctx.src)
    files = {"image": _multi30k_images(ctx.src, split)}
    english = _first_file(ctx.src.parent, [f"{split}.en", f"{split}.en.gz"]) if ctx.lang != "en" else None
    if english is not None:
        files["en"] = english
    columns = {"caption": captions} | {name: text_lines(path) for name, path in files.items()}
    for name, path in files.items():
        if len(columns[name]) != len(captions):
            raise VlmadaptError(
                f"{ctx.src} has {len(captions)} lines but {path} has {len(columns[name])}; "
                "Multi30K files must be line-aligned"
            )
    for i in range(len(captions)):
        yield Item(f"{ctx.src}:{i + 1}", i, {name: lines[i] for name, lines in columns.items()})


def multi30k_name(src: Path) -> tuple[str, str | None]:
    """`val.fr(.gz)` -> ("val", "fr"); a suffix that is not a two-letter code gives no language."""
    stem, _, suffix = base_name(src).rpartition(".")
    if stem and re.fullmatch(r"[a-z]{2}", suffix):
        return stem, suffix
    return Path(base_name(src)).stem, None


def _multi30k_images(src: Path, split: str) -> Path:
    # Beside the captions (`val.images.txt`), or the repository's `image_splits/val.txt` next to `raw/`.
    names = [f"{split}.images.txt", f"../image_splits/{split}.txt"]
    found = _first_file(src.parent, names)
    if found is None:
        tried = ", ".join(str(src.parent / n) for n in names)
        raise VlmadaptError(f"{src}: no image list found (tried {tried})")
    return found


def _first_file(folder: Path, names: list[str]) -> Path | None:
    return next((folder / n for n in names if (folder / n).is_file()), None)


def _multi30k(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    split, _ = multi30k_name(ctx.src)
    line = item.index + 1
    record = {
        "id": f"multi30k-{split}-{line}",
        "task": "caption",
        "lang": ctx.lang,
        "image": f.text("image"),
        "answers": [f.text("caption")],
        "meta": {"split": split, "line": line},
    }
    if "en" in f.obj:
        record["source"] = {"lang": "en", "answers": [f.text("en")]}
    return record


# --- native multilingual benchmarks ----------------------------------------------------------------------
#
# Each reads the layout its authors publish; the comment above each reader says where it was seen. Their
# sources hold several languages (a file per language, or all in one file): `--lang` keeps one, and
# `--lang mul` keeps them all in one records file, each record with its own `lang`.

ALL_LANGUAGES = "mul"  # ISO 639-2 "multiple languages"
# Codes the releases use that are not the packs' ISO 639-1 codes: MaXM's Hebrew, MTVQA's Korean / Japanese.
_LANG_ALIASES = {"iw": "he", "kr": "ko", "jp": "ja"}


def bench_lang(code: str) -> str:
    """A benchmark's language code as records spell it: "iw" -> "he", "KR" -> "ko", "FR" -> "fr"."""
    lowered = code.strip().lower()
    return _LANG_ALIASES.get(lowered, lowered)


Tagged = Iterator[tuple[tuple[str, ...], Item]]  # items with the languages that keep them


def _in_language(ctx: Context, tagged: Tagged) -> Iterator[Item]:
    """The items `--lang` keeps (all of them for --lang mul); an error naming the source's languages when
    it keeps none. An item whose language cannot be read is kept: its conversion says what is wrong."""
    wanted = bench_lang(ctx.lang)
    seen: set[str] = set()
    kept = 0
    for langs, item in tagged:
        seen.update(langs)
        if not langs or wanted == ALL_LANGUAGES or wanted in langs:
            kept += 1
            yield item
    if seen and not kept:
        raise VlmadaptError(
            f"{ctx.src}: no item in language {ctx.lang!r}; languages here: {', '.join(sorted(seen))}; "
            f"pass --lang with one of them, or --lang {ALL_LANGUAGES} for all"
        )


def _json_document(src: Path) -> Any:
    text = read_text(src)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise RecordError(f"{src}:{e.lineno}", "json", f"{e.msg} at column {e.colno}") from None


def _text_or_number(f: Fields, key: str) -> str:
    """A required answer that the source may store as a number (MTVQA: 2024)."""
    value = f.obj.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return f.text(key)


def _flag(f: Fields, key: str) -> dict[str, bool]:
    """{key: value} for a boolean field that is present, {} when absent; an error for another type."""
    value = f.obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, bool):
        raise f.error(key, f"expected true or false, got {type(value).__name__}")
    return {key: value}


# Crossmodal-3600 captions.jsonl (google.github.io/crossmodal-3600 web-data/captions.zip; the layout as
# read by HELM's crossmodal_3600_scenario.py and SEACrowd's xm3600.py): one line per image,
# {"image/key": "000411001ff7dd4f", "image/locale": "ar", "<lang>": {"caption": [...],
#  "caption/tokenized": [...], "caption/tokenized/lowercase": [...]}, ... 36 languages}; images
# images.tgz -> <image/key>.jpg.


def _xm3600_items(ctx: Context) -> Iterator[Item]:
    def tagged() -> Tagged:
        for item in list_or_lines(ctx.src):
            raw = item.raw
            langs = [k for k, v in raw.items() if isinstance(v, dict)] if isinstance(raw, dict) else []
            if item.problem is not None or not langs:
                yield (), item
            for key in langs if item.problem is None else []:
                yield (bench_lang(key),), Item(item.where, item.index, raw, key=key)

    return _in_language(ctx, tagged())


def _xm3600(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    """Crossmodal-3600: one image's captions in one language."""
    if item.key is None:
        raise f.error("image/key", "no language with captions on this line")
    image = f.text("image/key")
    captions = Fields(f.where, f.get(item.key, dict), f"{item.key}.").texts("caption")
    if not captions:
        raise f.error(f"{item.key}.caption", "empty list")
    lang = bench_lang(item.key)
    meta = {"image_key": image} | (
        {"image_locale": f.text("image/locale")} if "image/locale" in f.obj else {}
    )
    return {
        "id": f"xm3600-{image}-{lang}",
        "task": "caption",
        "lang": lang,
        "image": f"{image}.jpg",
        "answers": captions,
        "meta": meta,
    }


# MaXM maxm_v1_release.zip (github.com/google-research-datasets/maxm README, "Format (.json)"): one JSON
# document per language, {"dataset", "version", "split": language ID ("iw" for Hebrew), "annotations":
# [{"image_id", "image_url", "qa_pairs": [{"question_id", "question", "answers", "processed_answers",
# "is_collection"}]}]}; the images are Crossmodal-3600's, <image_id>.jpg.


def _maxm_items(ctx: Context) -> Iterator[Item]:
    doc = _json_document(ctx.src)
    if not isinstance(doc, dict) or not isinstance(doc.get("annotations"), list):
        raise VlmadaptError(f"{ctx.src}: expected a MaXM JSON object with an 'annotations' list")
    if not isinstance(doc.get("split"), str) or not doc["split"].strip():
        raise VlmadaptError(f"{ctx.src}: no 'split' (MaXM's language ID) in the document")
    lang = bench_lang(doc["split"])

    def tagged() -> Tagged:
        for i, ann in enumerate(doc["annotations"]):
            where = f"{ctx.src}: annotation {i}"
            pairs = ann.get("qa_pairs") if isinstance(ann, dict) else None
            if not isinstance(pairs, list) or not pairs:
                yield (lang,), Item(where, i, ann)
                continue
            for j in range(len(pairs)):
                yield (lang,), Item(f"{where}, qa_pair {j}", i, ann, key=f"{lang}/{j}")

    return _in_language(ctx, tagged())


def _maxm(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    """MaXM: one question about an XM3600 image, with its ground-truth answers."""
    if item.key is None:
        f.objects("qa_pairs")  # raises: missing, not a list, or empty
        raise f.error("qa_pairs", "expected a list of question-answer objects")
    lang, _, j = item.key.partition("/")
    image = f.text("image_id")
    qa = f.objects("qa_pairs")[int(j)]
    qid = qa.ident("question_id")
    answers = qa.texts("answers")
    if not answers:
        raise qa.error("answers", "empty list")
    meta = {"image_id": image, "question_id": qa.obj["question_id"]} | _flag(qa, "is_collection")
    processed = qa.texts("processed_answers", required=False)
    return {
        "id": f"maxm-{lang}-{qid}",
        "task": "open_vqa",
        "lang": lang,
        "image": f"{image}.jpg",
        "question": qa.text("question"),
        "answers": answers,
        "meta": meta | ({"processed_answers": processed} if processed else {}),
    }


# xGQA (github.com/adapter-hub/xGQA README; files as in e-bug/iglue datasets/xGQA/annotations and
# big_vision's xgqa builder): GQA's question format, a JSON object keyed by question id, {"<qid>":
# {"imageId", "question", "answer", "fullAnswer", "types": {"structural", "semantic", "detailed"}, ...}},
# one file per language: zero_shot/testdev_balanced_questions_<lang>.json, few_shot/<lang>/<split>.json.
# Only the questions are translated: "answer" stays GQA's English label (few_shot/de/train_1.json:
# "Ist der Bus in der Nähe der Menschen schwarz und klein?" -> "no"). Images: GQA's <imageId>.jpg.
_XGQA_ZERO_SHOT = re.compile(r"testdev_balanced_questions_([a-z]{2,3})\.json")
_XGQA_FEW_SHOT = re.compile(r"(test|dev|train_\d+)\.json")


def xgqa_name(src: Path) -> tuple[str, str]:
    """(language, split) from an xGQA file name; an error for a name that is neither layout's."""
    name = base_name(src)
    if m := _XGQA_ZERO_SHOT.fullmatch(name):
        return m.group(1), "testdev"
    if (m := _XGQA_FEW_SHOT.fullmatch(name)) and re.fullmatch(r"[a-z]{2,3}", src.parent.name):
        return src.parent.name, m.group(1)
    raise VlmadaptError(
        f"{src}: cannot tell the language from the file name; xGQA files are named "
        "testdev_balanced_questions_<lang>.json (zero-shot) or <lang>/<split>.json (few-shot)"
    )


def _xgqa_items(ctx: Context) -> Iterator[Item]:
    lang, _ = xgqa_name(ctx.src)
    return _in_language(ctx, (((lang,), item) for item in json_items(ctx.src, "mapping")))


def _xgqa(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    """xGQA: a GQA question translated into one language; the answer is GQA's English label."""
    lang, split = xgqa_name(ctx.src)
    qid = item.key if item.key is not None else str(item.index)
    image = f.text("imageId")
    types = f.get("types", dict, required=False) or {}
    kinds = {
        k: v for k, v in types.items() if k in ("structural", "semantic", "detailed") and isinstance(v, str)
    }
    meta = {"split": split, "question_id": qid, "image_id": image, "answer_lang": "en"} | kinds
    return {
        "id": f"xgqa-{lang}-{qid}",
        "task": "open_vqa",
        "lang": lang,
        "image": f"{image}.jpg",
        "question": f.text("question"),
        "answers": [f.text("answer")],
        "meta": meta | ({"full_answer": f.text("fullAnswer")} if f.obj.get("fullAnswer") else {}),
    }


# MaRVL (marvl-challenge; files as in e-bug/iglue datasets/marvl/zero_shot/annotations/marvl-<lang>.jsonl):
# JSON lines {"concept": "39-Panci", "language": "id", "caption", "left_img": "39-0.jpg", "right_img",
# "annotator_info": {...}, "chapter", "id": "id-0", "label": true}; images marvl-images/<lang>/images/
# <concept>/<file>. A record has one `image`: the left one; both are in meta.images.


def _marvl_items(ctx: Context) -> Iterator[Item]:
    def tagged() -> Tagged:
        for item in list_or_lines(ctx.src):
            language = item.raw.get("language") if isinstance(item.raw, dict) else None
            yield ((bench_lang(language),) if isinstance(language, str) else ()), item

    return _in_language(ctx, tagged())


def _marvl(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    """MaRVL: is the statement true of the pair of images?"""
    lang = bench_lang(f.text("language"))
    concept = f.text("concept")
    images = [f"{lang}/images/{concept}/{f.text(side)}" for side in ("left_img", "right_img")]
    label = _flag(f, "label").get("label")
    if label is None:
        raise f.error("label", "missing required field")
    return {
        "id": f"marvl-{f.ident('id')}",
        "task": "yes_no",
        "lang": lang,
        "image": images[0],
        "question": f.text("caption"),
        "answers": ["true" if label else "false"],
        "meta": {"images": images, "concept": concept, "label": label} | f.present("chapter"),
    }


def hf_rows(src: Path) -> Iterator[Item]:
    """Rows of a Hugging Face dataset file: Parquet as the Hub serves it (images left on disk: only
    their `path` is read), or the JSON lines / list `datasets.Dataset.to_json` writes."""
    if src.suffix != ".parquet":
        return list_or_lines(src)
    return _parquet_rows(src)


def _parquet_rows(src: Path) -> Iterator[Item]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not src.is_file():
        raise VlmadaptError(f"{src}: no such file")
    try:
        table = pq.ParquetFile(src)
    except (OSError, pa.ArrowException) as e:
        raise VlmadaptError(f"{src}: cannot read as Parquet ({e})") from None
    schema = table.schema_arrow
    columns = []
    for name in schema.names:
        kind = schema.field(name).type
        if not pa.types.is_struct(kind):
            columns.append(name)
        elif kind.get_field_index("path") >= 0:  # an image: {bytes, path}; the bytes stay on disk
            columns.append(f"{name}.path")
    index = 0
    for batch in table.iter_batches(columns=columns):
        for row in batch.to_pylist():
            yield Item(f"{src}: row {index}", index, row)
            index += 1


def _image_path(f: Fields, key: str = "image") -> str | None:
    """The file name of a Hugging Face image column ({"bytes", "path"} or a string); None when the
    image is only embedded bytes (extract them, then give the paths)."""
    value = f.obj.get(key)
    if isinstance(value, dict):
        value = value.get("path")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _listed(f: Fields, key: str) -> list[str]:
    """A list of strings the dataset may store as its Python repr ("['a', 'b']", as CVQA once did)."""
    value = f.obj.get(key)
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (SyntaxError, ValueError):
            raise f.error(key, "expected a list of strings, or its Python repr") from None
        return Fields(f.where, {key: value}, f.prefix).texts(key)
    return f.texts(key)


# CVQA (huggingface.co/datasets/afaji/cvqa, README "Data Fields"): one row per question, {"image",
# "ID", "Subset": "('Japanese', 'Japan')", "Question" (local language), "Translated Question" (English),
# "Options", "Translated Options" (four each), "Label" (-1 in the public test set: answers are scored on
# the leaderboard), "Category", "Image Type", "Image Source", "License"}. Each row becomes two records,
# the question as written and its English version (meta.question_lang "local" / "en").
# CVQA names languages; their codes (README's language list, ISO 639-1 where one exists).
CVQA_LANGUAGES = {
    "Amharic": "am",
    "Arabic": "ar",
    "Bengali": "bn",
    "Breton": "br",
    "Bulgarian": "bg",
    "Chinese": "zh",
    "Egyptian Arabic": "arz",
    "Filipino": "fil",
    "French": "fr",
    "Hindi": "hi",
    "Igbo": "ig",
    "Indonesian": "id",
    "Irish": "ga",
    "Japanese": "ja",
    "Javanese": "jv",
    "Kinyarwanda": "rw",
    "Korean": "ko",
    "Malay": "ms",
    "Marathi": "mr",
    "Minangkabau": "min",
    "Mongolian": "mn",
    "Norwegian": "no",
    "Oromo": "om",
    "Portuguese": "pt",
    "Romanian": "ro",
    "Russian": "ru",
    "Sinhala": "si",
    "Spanish": "es",
    "Sundanese": "su",
    "Swahili": "sw",
    "Tamil": "ta",
    "Telugu": "te",
    "Urdu": "ur",
}


def cvqa_subset(f: Fields) -> tuple[str, str, str]:
    """(language name, country, language code) of a CVQA row's "Subset"."""
    raw = f.get("Subset", str)
    try:
        value = ast.literal_eval(raw)
    except (SyntaxError, ValueError):
        value = None
    if not (isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise f.error(
            "Subset", f"expected a (language, country) pair like \"('Japanese', 'Japan')\", got {raw!r}"
        )
    name, country = (v.strip() for v in value)
    code = CVQA_LANGUAGES.get(name) or _pack_code(name)
    if code is None:
        known = ", ".join(sorted(CVQA_LANGUAGES))
        raise f.error("Subset", f"unknown language {name!r}; known: {known} (or a language pack's name)")
    return name, country, code


def _pack_code(name: str) -> str | None:
    from vlmadapt.languages import LANGUAGES

    return next((code for code in LANGUAGES if LANGUAGES[code].name.lower() == name.lower()), None)


def _cvqa_items(ctx: Context) -> Iterator[Item]:
    def tagged() -> Tagged:
        for item in hf_rows(ctx.src):
            if item.problem is not None or not isinstance(item.raw, dict):
                yield (), item
                continue
            try:
                code = cvqa_subset(Fields(item.where, item.raw))[2]
            except RecordError:
                yield (), item  # its conversion says what is wrong
                continue
            yield (code,), Item(item.where, item.index, item.raw, key="local")
            yield (code, "en"), Item(item.where, item.index, item.raw, key="en")

    return _in_language(ctx, tagged())


_CVQA_META = {
    "Category": "category",
    "Image Type": "image_type",
    "Image Source": "image_source",
    "License": "license",
}


def _cvqa(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    """CVQA: a culturally specific multiple-choice question, as written (local) or in English."""
    name, country, code = cvqa_subset(f)
    local = item.key != "en"
    choices = _listed(f, "Options" if local else "Translated Options")
    label = f.get("Label", int, required=False)
    if label is not None and label >= len(choices):
        raise f.error("Label", f"{label} is not an index into the {len(choices)} options")
    meta = {"cvqa_id": f.ident("ID"), "subset": f.obj["Subset"], "language": name, "country": country}
    meta |= {"local_lang": code, "question_lang": "local" if local else "en"}
    meta |= {new: f.obj[old] for old, new in _CVQA_META.items() if isinstance(f.obj.get(old), str)}
    record: dict[str, Any] = {
        "id": f"cvqa-{f.ident('ID')}-{'local' if local else 'en'}",
        "task": "multiple_choice",
        "lang": code if local else "en",
        "image": _image_path(f),
        "question": f.text("Question" if local else "Translated Question"),
        "choices": choices,
        "meta": meta,
    }
    if label is not None and label >= 0:  # -1: the public test set's hidden label
        record |= {"answer_index": label, "answers": [choices[label]]}
    return record


# MTVQA (huggingface.co/datasets/ByteDance/MTVQA; the rows as lmms-eval's tasks/mtvqa/utils.py reads them):
# one row per image, {"image", "qa_pairs": the Python repr of [{"question", "answer"}, ...], "lang": "FR",
# "id"}; one record per question-answer pair. Languages AR, DE, FR, IT, JA, KO, RU, TH, VI.


def mtvqa_pairs(f: Fields) -> list[Fields]:
    """A row's question-answer pairs, from a list or its repr (ast) / JSON text."""
    value = f.obj.get("qa_pairs")
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (SyntaxError, ValueError):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise f.error("qa_pairs", "expected a list of {question, answer}, or its text") from None
    return Fields(f.where, {"qa_pairs": value}, f.prefix).objects("qa_pairs")


def _mtvqa_items(ctx: Context) -> Iterator[Item]:
    def tagged() -> Tagged:
        for item in hf_rows(ctx.src):
            raw = item.raw if isinstance(item.raw, dict) else {}
            langs = (bench_lang(raw["lang"]),) if isinstance(raw.get("lang"), str) else ()
            try:
                pairs = mtvqa_pairs(Fields(item.where, raw)) if item.problem is None and raw else []
            except RecordError:
                pairs = []
            if not pairs:
                yield langs, item  # its conversion says what is wrong
            for j in range(len(pairs)):
                yield langs, Item(f"{item.where}, qa_pair {j}", item.index, item.raw, key=str(j))

    return _in_language(ctx, tagged())


def _mtvqa(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    """MTVQA: one question about the text in an image, in the image's language."""
    pairs = mtvqa_pairs(f)
    j = int(item.key) if item.key is not None else 0
    qa, lang, row = pairs[j], bench_lang(f.text("lang")), f.ident("id")
    return {
        "id": f"mtvqa-{lang}-{row}-{j}",
        "task": "open_vqa",
        "lang": lang,
        "image": _image_path(f),
        "question": qa.text("question"),
        "answers": [_text_or_number(qa, "answer")],
        "meta": {"image_id": f.obj["id"], "qa_index": j},
    }


IMPORTERS: dict[str, Importer] = {
    "flickr30k": Importer(
        "Karpathy split JSON (dataset_flickr30k.json): one caption example per image, all references",
        lambda ctx: json_items(ctx.src, "images"),
        _flickr30k,
    ),
    "roqa": Importer(
        "Flickr30K-RoQA rows (JSON list or lines: question, answer, file_name, caption): open VQA",
        lambda ctx: list_or_lines(ctx.src),
        _roqa,
    ),
    "llava": Importer(
        "LLaVA conversation JSON (id, image, conversations from human/gpt): conversations",
        lambda ctx: json_items(ctx.src, "list"),
        _llava,
    ),
    "scienceqa": Importer(
        "ScienceQA problems.json (keyed by problem id; images at <split>/<pid>/image.png): multiple choice",
        lambda ctx: json_items(ctx.src, "mapping"),
        _scienceqa,
    ),
    "textvqa": Importer(
        "TextVQA JSON (TextVQA_0.5.1_<split>.json, questions under 'data', image <image_id>.jpg): open VQA",
        lambda ctx: json_items(ctx.src, "data"),
        _textvqa,
    ),
    "pope": Importer(
        "POPE questions (JSON lines: question_id, image, text, label; split from the file name): yes/no",
        lambda ctx: list_or_lines(ctx.src),
        _pope,
    ),
    "multi30k": Importer(
        "Multi30K task 1 text (<split>.<lang>, line-aligned with <split>.images.txt): captions, "
        "with the English line as source",
        _multi30k_items,
        _multi30k,
    ),
    "xm3600": Importer(
        "Crossmodal-3600 captions.jsonl (image/key, image/locale, a caption list per language): captions, "
        "one record per image and language (--lang mul: all 36)",
        _xm3600_items,
        _xm3600,
    ),
    "maxm": Importer(
        "MaXM release JSON (split = language, annotations with qa_pairs; XM3600 images): open VQA",
        _maxm_items,
        _maxm,
    ),
    "xgqa": Importer(
        "xGQA questions (testdev_balanced_questions_<lang>.json or few_shot/<lang>/<split>.json; GQA "
        "layout, English answers): open VQA",
        _xgqa_items,
        _xgqa,
    ),
    "marvl": Importer(
        "MaRVL JSON lines (marvl-<lang>.jsonl: caption, left_img, right_img, label): yes/no (true/false)",
        _marvl_items,
        _marvl,
    ),
    "cvqa": Importer(
        "CVQA rows (Hugging Face Parquet or JSON lines: Subset, Question, Options and their English "
        "translations, Label): multiple choice, the question as written and in English (--lang ja: "
        "Japanese rows, both questions; --lang en: every English question)",
        _cvqa_items,
        _cvqa,
    ),
    "mtvqa": Importer(
        "MTVQA rows (Hugging Face Parquet or JSON lines: image, qa_pairs, lang, id): open VQA, one record "
        "per question",
        _mtvqa_items,
        _mtvqa,
    ),
}


# --- the import --------------------------------------------------------------------------------------


def import_dataset(
    fmt: str,
    src: Path | str,
    dest: Path | str,
    *,
    image_root: Path | str | None = None,
    lang: str = "en",
    split: str | None = None,
    on_error: OnError = "raise",
    rejects_path: Path | str | None = None,
) -> ImportResult:
    """Convert `src` (format `fmt`, in its original layout) into example records at `dest` (.jsonl/.parquet).

    `split` keeps one split where the source has splits; `image_root` checks that every image exists and
    opens. With ``on_error="skip"`` bad items go, with their reason, to `rejects_path` (default: `dest`
    with the suffix ``.rejects.jsonl``), written even when empty so that a stale one never survives.
    """
    importer = lookup(IMPORTERS, fmt, "import format")
    src, dest = Path(src), Path(dest)
    _check_options(src, dest, image_root, lang, on_error)
    rejects = Rejects(Path(rejects_path) if rejects_path else dest.with_suffix(".rejects.jsonl"))
    examples = _convert_all(importer, Context(src, lang), image_root, split, rejects, on_error)
    save_records(dest, examples)
    if on_error == "raise":
        return ImportResult(len(examples), dest, 0, None)
    path = write_jsonl(rejects.path, rejects.items)  # type: ignore[arg-type]
    return ImportResult(len(examples), dest, len(rejects), path)


def _check_options(src: Path, dest: Path, image_root: Path | str | None, lang: str, on_error: str) -> None:
    if on_error not in ("raise", "skip"):
        raise VlmadaptError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{1,4})?", lang):
        raise VlmadaptError(f"--lang {lang!r} is not a language code; use an ISO 639-1 code like en, fr, ro")
    if image_root is not None and not Path(image_root).is_dir():
        raise VlmadaptError(f"--image-root {image_root}: no such folder")
    if dest.resolve() == src.resolve():
        raise VlmadaptError(f"{dest}: the output would overwrite the source; choose another path")


def _convert_all(
    importer: Importer,
    ctx: Context,
    image_root: Path | str | None,
    split: str | None,
    rejects: Rejects,
    on_error: OnError,
) -> list[Example]:
    """Every valid item of the source (of `split`, when given); a bad one raises or goes to `rejects`."""
    kept: list[Example] = []
    first_at: dict[str, str] = {}  # id -> where it first appeared
    images: dict[str, str | None] = {}  # image -> its problem; each image is opened once
    splits: set[str | None] = set()
    n_items = 0
    for item in importer.read(ctx):
        n_items += 1
        try:
            ex = _example(importer, item, ctx)
            splits.add(ex.meta.get("split"))
            if split is not None and ex.meta.get("split") != split:
                continue
            _check_image(ex, item.where, image_root, images)
            if ex.id in first_at:
                raise RecordError(item.where, "id", f"duplicate id {ex.id!r} (first at {first_at[ex.id]})")
        except RecordError as e:
            if on_error == "raise":
                raise
            rejects.add(item.where, f"{e.field}: {e.problem}", item.raw)
            continue
        first_at[ex.id] = item.where
        kept.append(ex)
    if n_items == 0:
        raise VlmadaptError(f"{ctx.src}: no items found")
    if split is not None and split not in splits and splits:
        _no_such_split(ctx.src, split, splits)
    return kept


def _example(importer: Importer, item: Item, ctx: Context) -> Example:
    if item.problem is not None:
        raise item.problem
    if not isinstance(item.raw, dict):
        raise RecordError(item.where, "item", f"expected a JSON object, got {type(item.raw).__name__}")
    return parse_record(Example, importer.convert(Fields(item.where, item.raw), item, ctx), item.where)


def _check_image(ex: Example, where: str, root: Path | str | None, seen: dict[str, str | None]) -> None:
    if root is None or ex.image is None:
        return
    if ex.image not in seen:
        seen[ex.image] = image_problem(root, ex.image)
    problem = seen[ex.image]
    if problem:
        raise RecordError(where, "image", problem)


def _no_such_split(src: Path, split: str, splits: set[str | None]) -> None:
    known = sorted(str(s) for s in splits if s is not None)
    have = f"splits in this file: {', '.join(known)}" if known else "its items carry no split"
    raise VlmadaptError(f"{src}: no item has split {split!r}; {have}")
