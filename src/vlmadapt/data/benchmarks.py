"""The native multilingual benchmarks' readers and converters: XM3600, MaXM, xGQA, MaRVL, CVQA, MTVQA.

Each reads the layout its authors publish; the comment above each reader says where it was seen. Their
sources hold several languages (a file per language, or all in one file): `--lang` keeps one, and
`--lang mul` keeps them all in one records file, each record with its own `lang`. They are registered in
`importers.IMPORTERS` beside the other formats, and go through the same checks in `import_dataset`.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlmadapt.data.sources import Fields, Item, base_name, json_items, list_or_lines, read_text
from vlmadapt.errors import RecordError, VlmadaptError

if TYPE_CHECKING:  # importers imports this module to register its formats
    from vlmadapt.data.importers import Context

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


def xm3600_items(ctx: Context) -> Iterator[Item]:
    def tagged() -> Tagged:
        for item in list_or_lines(ctx.src):
            raw = item.raw
            langs = [k for k, v in raw.items() if isinstance(v, dict)] if isinstance(raw, dict) else []
            if item.problem is not None or not langs:
                yield (), item
            for key in langs if item.problem is None else []:
                yield (bench_lang(key),), Item(item.where, item.index, raw, key=key)

    return _in_language(ctx, tagged())


def xm3600(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
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


def maxm_items(ctx: Context) -> Iterator[Item]:
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


def maxm(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
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


def xgqa_items(ctx: Context) -> Iterator[Item]:
    lang, _ = xgqa_name(ctx.src)
    return _in_language(ctx, (((lang,), item) for item in json_items(ctx.src, "mapping")))


def xgqa(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
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
# <concept>/<file>. A record has one `image`: the left one; both are in meta.images (see `marvl`).


def marvl_items(ctx: Context) -> Iterator[Item]:
    def tagged() -> Tagged:
        for item in list_or_lines(ctx.src):
            language = item.raw.get("language") if isinstance(item.raw, dict) else None
            yield ((bench_lang(language),) if isinstance(language, str) else ()), item

    return _in_language(ctx, tagged())


def marvl(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    """MaRVL: is the statement true of the pair of images?

    The statement is about two images, and `vlmadapt predict` gives the model one per record: `image`, the
    left one. `meta.images` holds both, [left, right], relative to the release's `marvl-images/` folder
    (predict with ``--image-root marvl-images``). Predicting on `image` alone judges the pair from half of
    it, which is not the task the papers score. To score the task, join each pair side by side into one
    image, left then right (the statements say "left" and "right": 左图, 右图), and point `image` at it::

        left, right = (Image.open(root / p).convert("RGB") for p in record["meta"]["images"])
        pair = Image.new("RGB", (left.width + right.width, max(left.height, right.height)), "white")
        pair.paste(left, (0, 0))
        pair.paste(right, (left.width, 0))
        pair.save(root / "pairs" / f"{record['id']}.jpg")  # record["image"] = f"pairs/{record['id']}.jpg"

    then predict on those records with the same ``--image-root``.
    """
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
    """Rows of a Hugging Face dataset file: Parquet as the Hub serves it (an image column is
    {"bytes", "path"}, with the image's bytes), or the JSON lines / list `datasets.Dataset.to_json` writes."""
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
    # Other struct columns are left out, as before; an image column is a struct {bytes, path}.
    columns = [
        name
        for name in schema.names
        if not pa.types.is_struct(kind := schema.field(name).type) or kind.get_field_index("path") >= 0
    ]
    index = 0
    # Small batches: a row holds its image (CVQA's are photographs of up to a few MB).
    for batch in table.iter_batches(batch_size=32, columns=columns):
        for row in batch.to_pylist():
            yield Item(f"{src}: row {index}", index, row)
            index += 1


def _image(f: Fields, ctx: Context, key: str = "image") -> str | None:
    """The record's `image` from a Hugging Face image column ({"bytes", "path"}, or a file name): embedded
    bytes become a file in the import's images folder, named by their content (`importers.ImageStore`);
    without bytes, the `path` as given (relative to your --image-root); None when there is neither."""
    value = f.obj.get(key)
    data = value.get("bytes") if isinstance(value, dict) else None
    if isinstance(data, bytes) and data:
        try:
            return ctx.images.stage(data)
        except ValueError as e:
            raise f.error(f"{key}.bytes", str(e)) from None
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


def cvqa_items(ctx: Context) -> Iterator[Item]:
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


def cvqa(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
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
        "image": _image(f, ctx),
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


def mtvqa_items(ctx: Context) -> Iterator[Item]:
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


def mtvqa(f: Fields, item: Item, ctx: Context) -> dict[str, Any]:
    """MTVQA: one question about the text in an image, in the image's language."""
    pairs = mtvqa_pairs(f)
    j = int(item.key) if item.key is not None else 0
    qa, lang, row = pairs[j], bench_lang(f.text("lang")), f.ident("id")
    return {
        "id": f"mtvqa-{lang}-{row}-{j}",
        "task": "open_vqa",
        "lang": lang,
        "image": _image(f, ctx),
        "question": qa.text("question"),
        "answers": [_text_or_number(qa, "answer")],
        "meta": {"image_id": f.obj["id"], "qa_index": j},
    }
