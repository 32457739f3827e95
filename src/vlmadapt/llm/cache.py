"""A SQLite cache of model replies, so a re-run or a resumed run never asks a model twice.

Every stage that asks a backend goes through it: translations (translate, the quality round trip,
translate-test) and synthesize's generated QA and judgments. The key is a hash of everything that can
change a reply: the text, both languages, the backend, the model, the prompt (its version is a hash of
its text) and the decoding settings, and the attempt number (a retry decodes differently). The
backend's `signature()` supplies all but the text. SQLite in WAL mode: concurrent readers, one writer,
and a kill never leaves a half-written row.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vlmadapt.errors import VlmadaptError

# The table is named `translations` from when only translation used it; renaming it would orphan every cache.
_SCHEMA = "CREATE TABLE IF NOT EXISTS translations (key TEXT PRIMARY KEY, text TEXT NOT NULL) WITHOUT ROWID"
_BATCH = 500  # SQLite allows at most 999 bound parameters per statement in old builds


def signature_digest(signature: Mapping[str, Any]) -> bytes:
    """A digest of a backend signature (JSON with sorted keys, so dict order does not matter).

    What goes in here and in `cache_key` must never change: existing caches would stop hitting."""
    blob = json.dumps(signature, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(blob.encode("utf-8"), digest_size=16).digest()


def cache_key(digest: bytes, text: str, attempt: int = 0) -> str:
    """The row key of one text's reply at one attempt, under a backend's `signature_digest`."""
    h = hashlib.blake2b(digest, digest_size=16)
    h.update(attempt.to_bytes(2, "little"))
    h.update(text.encode("utf-8"))
    return h.hexdigest()


class ResponseCache:
    """Replies by key in one SQLite file. Use as a context manager, or call `close()`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError as e:
            raise VlmadaptError(
                f"{self.path}: not a usable response cache ({e}); delete it or pick another"
            ) from None
        self._pending = 0

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        keys = list(keys)
        found: dict[str, str] = {}
        for i in range(0, len(keys), _BATCH):
            chunk = keys[i : i + _BATCH]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT key, text FROM translations WHERE key IN ({marks})", chunk)
            found.update(rows)
        return found

    def put(self, key: str, text: str) -> None:
        """Store one reply; committed every 256 puts and on `commit()`/`close()`."""
        self._db.execute("INSERT OR REPLACE INTO translations VALUES (?, ?)", (key, text))
        self._pending += 1
        if self._pending >= 256:
            self.commit()

    def commit(self) -> None:
        self._db.commit()
        self._pending = 0

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM translations").fetchone()[0])

    def close(self) -> None:
        self.commit()
        self._db.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
