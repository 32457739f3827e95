"""Reading source datasets as they ship (JSON documents, JSON lines, aligned text files); checking fields.

Every item read carries `where` it came from (``file:line`` for line-based files, ``file: item KEY`` for
JSON documents), so an error can name it. `Fields` reads one item's fields by the source's own names and
raises `RecordError(where, field, problem)` for a missing field, a wrong type or empty text.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmadapt.errors import RecordError, VlmadaptError


@dataclass(frozen=True)
class Item:
    """One source item, as read."""

    where: str  # "file:line" for line-based sources, "file: item KEY" for JSON documents
    index: int  # position among the file's items, from 0
    raw: Any  # verbatim (parsed JSON, or the line's text when it did not parse); goes to rejects as is
    key: str | None = None  # the mapping key, for sources keyed by id (ScienceQA)
    problem: RecordError | None = None  # set when the item itself did not parse


def read_text(path: Path) -> str:
    """The file's text; ``.gz`` files (as Multi30K ships them) are decompressed."""
    if not path.is_file():
        raise VlmadaptError(f"{path}: no such file")
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as f:
                return f.read()
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError, EOFError) as e:
        raise VlmadaptError(f"{path}: cannot read as UTF-8 text ({e})") from None


def base_name(path: Path) -> str:
    """The file name without a trailing ``.gz``."""
    return path.name.removesuffix(".gz")


def text_lines(path: Path) -> list[str]:
    """The file's lines, without line ends."""
    # split("\n"), not splitlines(): captions may hold U+2028 or U+0085, which splitlines treats as breaks.
    lines = [line.removesuffix("\r") for line in read_text(path).split("\n")]
    return lines[:-1] if lines and lines[-1] == "" else lines


def _parse_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise RecordError(f"{path}:{e.lineno}", "json", f"{e.msg} at column {e.colno}") from None


def json_items(src: Path, layout: str) -> Iterator[Item]:
    """Items of a JSON document laid out as `layout`: "list", "mapping" (keyed by id), or the name of the
    top-level key that holds the list of items. The document is parsed before the first item is asked for."""
    return _doc_items(src, _parse_json(src, read_text(src)), layout)


def _doc_items(src: Path, doc: Any, layout: str) -> Iterator[Item]:
    if layout not in ("list", "mapping"):
        if not isinstance(doc, dict) or not isinstance(doc.get(layout), list):
            raise VlmadaptError(f"{src}: expected a JSON object with a {layout!r} list of items")
        doc = doc[layout]
    if isinstance(doc, list) and layout != "mapping":
        return (Item(f"{src}: item {i}", i, raw) for i, raw in enumerate(doc))
    if isinstance(doc, dict) and layout == "mapping":
        return (Item(f"{src}: item {k}", i, raw, key=k) for i, (k, raw) in enumerate(doc.items()))
    wanted = "an object keyed by id" if layout == "mapping" else "a list of items"
    raise VlmadaptError(f"{src}: expected a JSON document holding {wanted}, got {type(doc).__name__}")


def _line_items(src: Path, text: str) -> Iterator[Item]:
    """One item per non-blank line; a line that is not JSON becomes an item carrying its problem."""
    index = 0
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{src}:{lineno}"
        try:
            yield Item(where, index, json.loads(line))
        except json.JSONDecodeError as e:
            problem = RecordError(where, "json", f"{e.msg} at column {e.colno}")
            yield Item(where, index, line.removesuffix("\r"), problem=problem)
        index += 1


def list_or_lines(src: Path) -> Iterator[Item]:
    """A JSON list, or JSON lines. `datasets.Dataset.to_json` and POPE both write JSON lines named `.json`."""
    text = read_text(src)
    if text.lstrip().startswith("["):
        return _doc_items(src, _parse_json(src, text), "list")
    return _line_items(src, text)


_KIND_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "an object"}


class Fields:
    """Checked access to one source object's fields; errors name `where` and the field's path."""

    def __init__(self, where: str, obj: dict[str, Any], prefix: str = "") -> None:
        self.where, self.obj, self.prefix = where, obj, prefix

    def error(self, key: str, problem: str) -> RecordError:
        return RecordError(self.where, f"{self.prefix}{key}", problem)

    def get(self, key: str, kind: type, required: bool = True) -> Any:
        """The value, checked against `kind`; None when not `required` and absent or null."""
        value = self.obj.get(key)
        if value is None:
            if required:
                raise self.error(key, "missing required field" if key not in self.obj else "must not be null")
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(key, f"expected {_KIND_NAMES[kind]}, got {type(value).__name__}")
        return value

    def text(self, key: str) -> str:
        """A required non-blank string, stripped."""
        value: str = self.get(key, str)
        if not value.strip():
            raise self.error(key, "empty text")
        return value.strip()

    def texts(self, key: str, required: bool = True) -> list[str]:
        """A list of non-blank strings, stripped; an error names the element (``answers.3``)."""
        values = self.get(key, list, required) or []
        elements = Fields(self.where, {str(i): v for i, v in enumerate(values)}, f"{self.prefix}{key}.")
        return [elements.text(str(i)) for i in range(len(values))]

    def objects(self, key: str) -> list[Fields]:
        """A non-empty list of objects, each as `Fields` that name their path (``sentences.2.raw``)."""
        values = self.get(key, list)
        if not values:
            raise self.error(key, "empty list")
        out = []
        for i, value in enumerate(values):
            if not isinstance(value, dict):
                raise self.error(f"{key}.{i}", f"expected an object, got {type(value).__name__}")
            out.append(Fields(self.where, value, f"{self.prefix}{key}.{i}."))
        return out

    def ident(self, key: str) -> str:
        """An id that the source stores as a string or an integer."""
        value = self.obj.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.text(key)

    def present(self, *keys: str) -> dict[str, Any]:
        """The listed fields that are present and not null, unchanged (for `meta`)."""
        return {k: self.obj[k] for k in keys if self.obj.get(k) is not None}
