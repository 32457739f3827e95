"""The audit database: the sample, the annotators, who rates what, and the ratings (SQLite, WAL).

One connection per request or thread (`connect`); WAL lets readers run beside the one writer, and
``busy_timeout`` makes a second writer wait instead of failing. A rating is one row per
``(item_id, annotator)``, upserted, so rating an item again replaces the earlier rating.
Tokens are stored as SHA-256 hashes: the database alone cannot be used to log in.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vlmadapt.errors import VlmadaptError

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY, pos INTEGER NOT NULL, stratum TEXT NOT NULL, auto_tier TEXT,
    payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS annotators (name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS assignments (
    item_id TEXT NOT NULL REFERENCES items(item_id), annotator TEXT NOT NULL REFERENCES annotators(name),
    pos INTEGER NOT NULL, PRIMARY KEY (item_id, annotator));
CREATE TABLE IF NOT EXISTS ratings (
    item_id TEXT NOT NULL, annotator TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('low', 'moderate', 'high')), comment TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL, UNIQUE (item_id, annotator),
    FOREIGN KEY (item_id, annotator) REFERENCES assignments(item_id, annotator));
CREATE INDEX IF NOT EXISTS assignments_by_annotator ON assignments(annotator, pos);
"""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def connect(path: Path) -> sqlite3.Connection:
    """A new connection (use one per request or thread), in WAL mode, waiting up to 10 s for a lock."""
    conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")  # in WAL mode: durable at each checkpoint, never corrupt
    conn.execute("PRAGMA foreign_keys = ON")
    conn.row_factory = sqlite3.Row
    return conn


@contextmanager
def connection(path: Path) -> Iterator[sqlite3.Connection]:
    conn = connect(path)
    try:
        yield conn
    finally:
        conn.close()


def open_existing(path: Path) -> sqlite3.Connection:
    """A connection to an audit database that must already exist (stats, export)."""
    if not path.is_file():
        raise VlmadaptError(f"{path}: no such audit database; start one with `vlmadapt audit serve`")
    conn = connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"items", "ratings", "settings"} <= tables:
        conn.close()
        raise VlmadaptError(f"{path}: not an audit database (written by `vlmadapt audit serve`)")
    return conn


def create_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def read_settings(conn: sqlite3.Connection) -> dict[str, Any]:
    return {r["key"]: json.loads(r["value"]) for r in conn.execute("SELECT key, value FROM settings")}


@dataclass(frozen=True)
class Item:
    item_id: str
    stratum: str
    auto_tier: str | None
    payload: dict[str, Any]  # what the page shows: see sample.payload


def save_sample(
    conn: sqlite3.Connection,
    settings: dict[str, Any],
    items: list[Item],
    tokens: dict[str, str],
    queues: dict[str, list[str]],
) -> None:
    """Store a new audit in one transaction: settings, items, annotators (hashed tokens), assignments."""
    with transaction(conn):
        conn.executemany(
            "INSERT INTO settings VALUES (?, ?)", [(k, json.dumps(v)) for k, v in settings.items()]
        )
        conn.executemany(
            "INSERT INTO items VALUES (?, ?, ?, ?, ?)",
            [
                (it.item_id, i, it.stratum, it.auto_tier, json.dumps(it.payload, ensure_ascii=False))
                for i, it in enumerate(items)
            ],
        )
        conn.executemany(
            "INSERT INTO annotators VALUES (?, ?)", [(n, hash_token(t)) for n, t in tokens.items()]
        )
        conn.executemany(
            "INSERT INTO assignments VALUES (?, ?, ?)",
            [(item, name, pos) for name, queue in queues.items() for pos, item in enumerate(queue)],
        )


def set_tokens(conn: sqlite3.Connection, tokens: dict[str, str]) -> None:
    """Replace the tokens of known annotators (a restart with --tokens rotates them)."""
    known = annotator_names(conn)
    unknown = sorted(set(tokens) - set(known))
    if unknown:
        raise VlmadaptError(
            f"annotator {unknown[0]!r} is not in this audit (it has: {', '.join(known)}); "
            "annotators are fixed when the audit starts: start another --db to change them"
        )
    with transaction(conn):
        conn.executemany(
            "UPDATE annotators SET token_hash = ? WHERE name = ?",
            [(hash_token(t), n) for n, t in tokens.items()],
        )


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE (take the write lock up front, so busy_timeout applies), COMMIT or ROLLBACK."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def annotator_names(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM annotators ORDER BY name")]


def annotator_for(conn: sqlite3.Connection, token: str) -> str | None:
    row = conn.execute("SELECT name FROM annotators WHERE token_hash = ?", (hash_token(token),)).fetchone()
    return None if row is None else str(row[0])


def queue(conn: sqlite3.Connection, annotator: str) -> list[dict[str, Any]]:
    """The annotator's items in order, with their rating and comment so far (None when unrated)."""
    rows = conn.execute(
        "SELECT a.item_id, r.rating, r.comment FROM assignments a LEFT JOIN ratings r "
        "ON r.item_id = a.item_id AND r.annotator = a.annotator WHERE a.annotator = ? ORDER BY a.pos",
        (annotator,),
    )
    return [{"id": r["item_id"], "rating": r["rating"], "comment": r["comment"] or ""} for r in rows]


def assigned_payload(conn: sqlite3.Connection, annotator: str, item_id: str) -> dict[str, Any] | None:
    """The item's page payload, or None if it is not assigned to this annotator."""
    row = conn.execute(
        "SELECT i.payload FROM items i JOIN assignments a ON a.item_id = i.item_id "
        "WHERE a.annotator = ? AND i.item_id = ?",
        (annotator, item_id),
    ).fetchone()
    return None if row is None else dict(json.loads(row[0]))


def is_assigned(conn: sqlite3.Connection, annotator: str, item_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM assignments WHERE annotator = ? AND item_id = ?", (annotator, item_id)
    ).fetchone()
    return row is not None


def upsert_rating(conn: sqlite3.Connection, annotator: str, item_id: str, rating: str, comment: str) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    conn.execute(
        "INSERT INTO ratings (item_id, annotator, rating, comment, updated) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (item_id, annotator) DO UPDATE SET rating = excluded.rating, "
        "comment = excluded.comment, updated = excluded.updated",
        (item_id, annotator, rating, comment, now),
    )


def all_ratings(conn: sqlite3.Connection) -> dict[str, dict[str, str]]:
    """item id -> {annotator: rating}, for every rated item."""
    out: dict[str, dict[str, str]] = {}
    for r in conn.execute("SELECT item_id, annotator, rating FROM ratings ORDER BY item_id, annotator"):
        out.setdefault(r["item_id"], {})[r["annotator"]] = r["rating"]
    return out


def auto_tiers(conn: sqlite3.Connection) -> dict[str, str | None]:
    return {r["item_id"]: r["auto_tier"] for r in conn.execute("SELECT item_id, auto_tier FROM items")}


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    one = conn.execute
    return {
        "items": one("SELECT COUNT(*) FROM items").fetchone()[0],
        "assignments": one("SELECT COUNT(*) FROM assignments").fetchone()[0],
        "ratings": one("SELECT COUNT(*) FROM ratings").fetchone()[0],
    }
