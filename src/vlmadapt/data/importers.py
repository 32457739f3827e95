"""Importers: each source dataset, read in its original layout, becomes vlmadapt example records.

A format is a **reader** (how items sit in the source files, see `sources`) and a **converter** (one
source item -> the fields of an `Example`); `IMPORTERS` lists them all. The multilingual benchmarks
(XM3600, MaXM, xGQA, MaRVL, CVQA, MTVQA) live in `benchmarks` and take each record's language from the
source: `--lang` keeps one language, `--lang mul` all of them in one file. `import_dataset` passes every
item through its converter, the Example schema, the split filter, the image check and the duplicate-id
check. Images that a source embeds as bytes (CVQA and MTVQA Parquet from the Hub) are written as files,
named by their content, to the images folder (`--image-root`, default ``<DEST stem>.images/`` beside
DEST), and `image` names the file relative to it: predict with ``--image-root`` that folder. A bad item raises
`RecordError` naming ``file:line`` (line-based sources) or ``file: item KEY`` (JSON documents), the field
and the problem; with ``on_error="skip"`` it goes, with that reason and the item as read, to the rejects
file instead. Nothing is dropped silently. A source that cannot be read as a whole (not JSON, the wrong
shape, misaligned text files) raises in either mode.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmadapt.data import benchmarks
from vlmadapt.data.sources import Fields, Item, base_name, json_items, list_or_lines, text_lines
from vlmadapt.errors import RecordError, VlmadaptError, lookup
from vlmadapt.images import image_problem
from vlmadapt.jsonl import OnError, Rejects, parse_record, save_records, write_jsonl
from vlmadapt.records import Example

# Pillow's format name -> the suffix an image file of it gets; another format gets ".<format>". Pillow
# names many phones' JPEG photos MPO (a JPEG with a second, preview, picture): they are .jpg files.
_IMAGE_SUFFIXES = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif"}


class ImageStore:
    """Images that a source embeds as bytes, written as files under `folder`.

    A converter `stage`s an item's bytes and puts the name it gets in `image`; `import_dataset` writes the
    file only once the record is kept, so a rejected item leaves no file. The name is the bytes' SHA-256
    (16 hex digits) with the suffix of the format Pillow reads: a re-import writes the same files, and an
    image that several records share (CVQA's two questions, MTVQA's questions) is one file.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: set[str] = set()  # the names of this import's files, written or already there
        self._staged: dict[str, bytes] = {}

    def stage(self, data: bytes) -> str:
        """The file name these bytes get; ValueError when Pillow cannot read them as an image."""
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as im:
                kind = im.format or "bin"
                im.verify()
        except UnidentifiedImageError:  # its message names a BytesIO object, not the data
            raise ValueError(f"the embedded {len(data)} bytes are not an image Pillow can read") from None
        except (OSError, SyntaxError) as e:
            raise ValueError(f"the embedded image is damaged ({e})") from None
        name = hashlib.sha256(data).hexdigest()[:16] + _IMAGE_SUFFIXES.get(kind, f".{kind.lower()}")
        self._staged[name] = data
        return name

    def is_staged(self, name: str) -> bool:
        return name in self._staged

    def write(self, name: str | None) -> None:
        """Write the staged image `name`; a file that already holds as many bytes is kept (same name: same
        content), so a re-import rewrites nothing."""
        data = self._staged.pop(name, None) if name is not None else None
        if name is None or data is None or name in self.written:
            return
        path = self.folder / name
        if not (path.is_file() and path.stat().st_size == len(data)):
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{name}.tmp")  # then rename: a killed import leaves no torn image
            tmp.write_bytes(data)
            os.replace(tmp, path)
        self.written.add(name)

    def discard(self) -> None:
        """Forget what the last item staged (it was rejected or filtered out)."""
        self._staged.clear()


@dataclass(frozen=True)
class Context:
    src: Path
    lang: str
    images: ImageStore  # where images embedded in the source go


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
    images: int = 0  # image files of the written records that came embedded in the source
    images_path: Path | None = None  # their folder, when there are any


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
        benchmarks.xm3600_items,
        benchmarks.xm3600,
    ),
    "maxm": Importer(
        "MaXM release JSON (split = language, annotations with qa_pairs; XM3600 images): open VQA",
        benchmarks.maxm_items,
        benchmarks.maxm,
    ),
    "xgqa": Importer(
        "xGQA questions (testdev_balanced_questions_<lang>.json or few_shot/<lang>/<split>.json; GQA "
        "layout, English answers): open VQA",
        benchmarks.xgqa_items,
        benchmarks.xgqa,
    ),
    "marvl": Importer(
        "MaRVL JSON lines (marvl-<lang>.jsonl: caption, left_img, right_img, label): yes/no (true/false)",
        benchmarks.marvl_items,
        benchmarks.marvl,
    ),
    "cvqa": Importer(
        "CVQA rows (Hugging Face Parquet or JSON lines: Subset, Question, Options and their English "
        "translations, Label): multiple choice, the question as written and in English (--lang ja: "
        "Japanese rows, both questions; --lang en: every English question)",
        benchmarks.cvqa_items,
        benchmarks.cvqa,
    ),
    "mtvqa": Importer(
        "MTVQA rows (Hugging Face Parquet or JSON lines: image, qa_pairs, lang, id): open VQA, one record "
        "per question",
        benchmarks.mtvqa_items,
        benchmarks.mtvqa,
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
    opens. Images embedded in the source as bytes are written to `image_root`, or without it to
    ``<dest stem>.images/`` beside `dest`, and each record's `image` names its file there. With
    ``on_error="skip"`` bad items go, with their reason, to `rejects_path` (default: `dest` with the
    suffix ``.rejects.jsonl``), written even when empty so that a stale one never survives.
    """
    importer = lookup(IMPORTERS, fmt, "import format")
    src, dest = Path(src), Path(dest)
    _check_options(src, dest, image_root, lang, on_error)
    rejects = Rejects(Path(rejects_path) if rejects_path else dest.with_suffix(".rejects.jsonl"))
    store = ImageStore(Path(image_root) if image_root is not None else dest.with_name(f"{dest.stem}.images"))
    examples = _convert_all(importer, Context(src, lang, store), image_root, split, rejects, on_error)
    save_records(dest, examples)
    images = (len(store.written), store.folder if store.written else None)
    if on_error == "raise":
        return ImportResult(len(examples), dest, 0, None, *images)
    path = write_jsonl(rejects.path, rejects.items)  # type: ignore[arg-type]
    return ImportResult(len(examples), dest, len(rejects), path, *images)


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
        ctx.images.discard()  # the bytes a rejected or filtered-out item staged
        try:
            ex = _example(importer, item, ctx)
            splits.add(ex.meta.get("split"))
            if split is not None and ex.meta.get("split") != split:
                continue
            _check_image(ex, item.where, image_root, images, ctx.images)
            if ex.id in first_at:
                raise RecordError(item.where, "id", f"duplicate id {ex.id!r} (first at {first_at[ex.id]})")
        except RecordError as e:
            if on_error == "raise":
                raise
            rejects.add(item.where, f"{e.field}: {e.problem}", _as_read(item.raw))
            continue
        first_at[ex.id] = item.where
        kept.append(ex)
        ctx.images.write(ex.image)
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


def _check_image(
    ex: Example, where: str, root: Path | str | None, seen: dict[str, str | None], store: ImageStore
) -> None:
    if root is None or ex.image is None or store.is_staged(ex.image):  # staged: Pillow has read it
        return
    if ex.image not in seen:
        seen[ex.image] = image_problem(root, ex.image)
    problem = seen[ex.image]
    if problem:
        raise RecordError(where, "image", problem)


def _as_read(raw: Any) -> Any:
    """An item as the rejects file holds it: embedded bytes (a Parquet image) become "<N bytes>"."""
    if isinstance(raw, bytes):
        return f"<{len(raw)} bytes>"
    if isinstance(raw, dict):
        return {k: _as_read(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_as_read(v) for v in raw]
    return raw


def _no_such_split(src: Path, split: str, splits: set[str | None]) -> None:
    known = sorted(str(s) for s in splits if s is not None)
    have = f"splits in this file: {', '.join(known)}" if known else "its items carry no split"
    raise VlmadaptError(f"{src}: no item has split {split!r}; {have}")
