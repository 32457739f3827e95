"""Reading and writing records: JSONL (validated line by line) and Parquet through `datasets`.

Every line is parsed and validated; a bad line raises `RecordError("file:line", field, problem)`, or,
with ``on_error="skip"``, goes to a rejects file with its reason so nothing is dropped silently.
Writes are atomic (temporary file, then rename); appends are flushed and fsynced line by line so that a
killed job loses at most the line being written, and `completed_ids` repairs such a torn last line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from vlmadapt.errors import RecordError, VlmadaptError
from vlmadapt.records import Example

R = TypeVar("R", bound=BaseModel)
OnError = Literal["raise", "skip"]


class Rejects:
    """Collects rejected inputs with their reason; writes them as JSONL when given a path."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.items: list[dict[str, Any]] = []

    def add(self, where: str, reason: str, record: Any) -> None:
        self.items.append({"where": where, "reason": reason, "record": record})

    def __len__(self) -> int:
        return len(self.items)

    def write(self) -> Path | None:
        if self.path is None or not self.items:
            return None
        write_jsonl(self.path, self.items)
        return self.path


def validation_problem(err: ValidationError) -> tuple[str, str]:
    """(field, problem) of a pydantic error, in the words a user reads."""
    first = err.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "record"
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        msg = "missing required field"
    elif first["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling against the record schema in the README)"
    return field, msg


def parse_record(model: type[R], raw: Any, where: str) -> R:
    if not isinstance(raw, dict):
        raise RecordError(where, "record", f"expected a JSON object, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        raise RecordError(where, *validation_problem(e)) from None


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for every non-blank line; raises RecordError on invalid JSON."""
    path = Path(path)
    if not path.is_file():
        raise VlmadaptError(f"{path}: no such file")
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                raise RecordError(f"{path}:{lineno}", "json", f"{e.msg} at column {e.colno}") from None


def read_records(
    path: Path | str,
    model: type[R] = Example,  # type: ignore[assignment]
    on_error: OnError = "raise",
    rejects: Rejects | None = None,
) -> list[R]:
    """Validated records of a JSONL or Parquet file. Ids must be unique within the file."""
    path = Path(path)
    if path.suffix == ".parquet":
        return load_parquet(path, model)
    out: list[R] = []
    seen: dict[str, int] = {}
    for lineno, raw in _lines_or_reject(path, on_error, rejects):
        where = f"{path}:{lineno}"
        try:
            rec = parse_record(model, raw, where)
            rid = getattr(rec, "id", None)
            if rid is not None and rid in seen:
                raise RecordError(where, "id", f"duplicate id {rid!r} (first on line {seen[rid]})")
        except RecordError as e:
            if on_error == "raise":
                raise
            (rejects if rejects is not None else Rejects()).add(where, f"{e.field}: {e.problem}", raw)
            continue
        if rid is not None:
            seen[rid] = lineno
        out.append(rec)
    return out


def _lines_or_reject(path: Path, on_error: OnError, rejects: Rejects | None) -> Iterator[tuple[int, Any]]:
    """Like iter_jsonl, but with on_error='skip' an unparsable line goes to rejects and reading goes on."""
    if on_error == "raise":
        yield from iter_jsonl(path)
        return
    with Path(path).open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                if rejects is not None:
                    rejects.add(f"{path}:{lineno}", f"json: {e.msg} at column {e.colno}", line.rstrip("\n"))


def _dumps(rec: BaseModel | dict[str, Any]) -> str:
    obj = rec.model_dump(mode="json", exclude_none=True) if isinstance(rec, BaseModel) else rec
    return json.dumps(obj, ensure_ascii=False)


def write_jsonl(path: Path | str, records: Iterable[BaseModel | dict[str, Any]]) -> Path:
    """Write all records atomically (a reader never sees a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(_dumps(rec) + "\n")
    os.replace(tmp, path)
    return path


def append_jsonl(path: Path | str, records: Iterable[BaseModel | dict[str, Any]]) -> None:
    """Append records and fsync, so a kill after this returns loses none of them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        for rec in records:
            f.write(_dumps(rec) + "\n")
        f.flush()
        os.fsync(f.fileno())


def completed_ids(path: Path | str) -> set[str]:
    """Ids already in an append-only output, for resuming. A torn last line (killed mid-write) is cut off."""
    path = Path(path)
    if not path.exists():
        return set()
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):  # the last line was never finished: drop it so the re-run writes it whole
        with path.open("r+b") as f:
            f.truncate(end)
    ids: set[str] = set()
    for lineno, raw in iter_jsonl(path):
        if isinstance(raw, dict) and "id" in raw:
            ids.add(str(raw["id"]))
        else:
            raise RecordError(f"{path}:{lineno}", "id", "missing; this file cannot be resumed")
    return ids


# Parquet through `datasets`, for data too large to handle comfortably as JSONL. Nested optional fields
# (turns, source, meta) are stored as JSON strings so every row has the same Arrow schema.
_JSON_COLUMNS = ("turns", "source", "meta", "choices", "generation")


def to_dataset(records: Iterable[BaseModel]) -> Any:
    """A `datasets.Dataset` with one row per record."""
    import datasets

    rows = []
    for rec in records:
        row = rec.model_dump(mode="json")
        for key in _JSON_COLUMNS:
            if key in row:
                row[key] = json.dumps(row[key], ensure_ascii=False)
        rows.append(row)
    return datasets.Dataset.from_list(rows)


def from_dataset(ds: Any, model: type[R] = Example) -> list[R]:  # type: ignore[assignment]
    out = []
    for i, row in enumerate(ds):
        row = dict(row)
        for key in _JSON_COLUMNS:
            if isinstance(row.get(key), str):
                row[key] = json.loads(row[key])
        out.append(parse_record(model, row, f"dataset row {i}"))
    return out


def save_parquet(path: Path | str, records: Iterable[BaseModel]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    to_dataset(records).to_parquet(str(path))
    return path


def load_parquet(path: Path, model: type[R] = Example) -> list[R]:  # type: ignore[assignment]
    import datasets

    if not path.is_file():
        raise VlmadaptError(f"{path}: no such file")
    return from_dataset(datasets.Dataset.from_parquet(str(path)), model)


def save_records(path: Path | str, records: list[Any]) -> Path:
    """Write JSONL or Parquet by the file's suffix."""
    path = Path(path)
    return save_parquet(path, records) if path.suffix == ".parquet" else write_jsonl(path, records)
