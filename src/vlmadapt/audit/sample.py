"""Which items are audited and by whom: a seeded stratified sample, stored in the database on first start.

Strata come from the automatic tier (``meta.tier``, or the ``vlmadapt quality`` output), the task, the
language, or any ``meta.<key>``. Each stratum gets its proportional share of the sample (largest
remainders), so a 300-item sample of a 60/30/10 high/moderate/low set audits 180/90/30 items. The
items are then shuffled (annotators see strata mixed), a `double_share` of them is given to two
annotators (for agreement), and every annotator gets about the same number of items.
A restart finds the sample in the database and keeps it; other sample settings are refused.
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vlmadapt.audit import store
from vlmadapt.audit.config import ServeConfig
from vlmadapt.errors import VlmadaptError
from vlmadapt.records import Example


def payload(ex: Example, stratum: str, auto_tier: str | None) -> dict[str, Any]:
    """What the page shows for one record: its texts side by side with their source, or the QA pair."""
    from vlmadapt.translate.fields import leaf_pairs, leaves

    if ex.source is not None:
        kind = "translation"
        fields: list[dict[str, str | None]] = [
            {"field": _pair_name(f, ex), "source": s, "text": t} for f, s, t in leaf_pairs(ex)
        ]
    else:
        kind = "qa"  # synthesized QA: no source text, the pair itself is rated
        fields = [
            {"field": _field_name(p, len(ex.answers)), "source": None, "text": t} for p, t in leaves(ex)
        ]
        full = (
            ex.meta.get("synthesis", {}).get("answer") if isinstance(ex.meta.get("synthesis"), dict) else None
        )
        if isinstance(full, str):
            fields.append({"field": "full answer", "source": None, "text": full})
    return {
        "id": ex.id,
        "kind": kind,
        "task": ex.task.value,
        "lang": ex.lang,
        "source_lang": ex.source.lang if ex.source else None,
        "image": ex.image,
        "stratum": stratum,
        "auto_tier": auto_tier,
        "fields": fields,
    }


def _pair_name(field: str, ex: Example) -> str:
    """`answers[0]` reads as `caption` or `answer` when there is only one."""
    if field == "answers[0]" and len(ex.answers) == 1:
        return "caption" if ex.task.value == "caption" else "answer"
    return field


def _field_name(path: tuple[str, Any], n_answers: int) -> str:
    kind, key = path
    if key is None:
        return str(kind)
    if kind == "answers" and n_answers == 1:
        return "answer"
    return f"meta.{key}" if kind == "meta" else f"{kind}[{key}]"


def read_quality_tiers(path: Path) -> dict[str, str]:
    """id -> automatic tier from `vlmadapt quality` output; errors name the line."""
    from vlmadapt.audit.config import RATINGS
    from vlmadapt.jsonl import iter_jsonl

    tiers = {}
    for lineno, raw in iter_jsonl(path):
        if not isinstance(raw, dict) or "id" not in raw or raw.get("tier") not in RATINGS:
            raise VlmadaptError(
                f"{path}:{lineno}: expected a `vlmadapt quality` row with 'id' and 'tier' "
                f"({', '.join(RATINGS)})"
            )
        tiers[str(raw["id"])] = raw["tier"]
    return tiers


def auto_tier(ex: Example, quality: dict[str, str]) -> str | None:
    """The record's automatic tier: `meta.tier` when it holds one, else the quality file's."""
    from vlmadapt.audit.config import RATINGS

    tier = ex.meta.get("tier")
    return tier if tier in RATINGS else quality.get(ex.id)


def stratum_of(ex: Example, key: str, tier: str | None, where: str) -> str:
    """The value `key` names for this record, as a string; `where` names the data file for errors."""
    if key == "none":
        return "all"
    if key == "tier":
        if tier is None:
            raise VlmadaptError(
                f"{where}: record {ex.id!r} has no automatic tier (no meta.tier, and no row in a quality "
                "file); run `vlmadapt quality` on the data and pass --quality, or --stratify task"
            )
        return tier
    if key in ("task", "lang"):
        return str(getattr(ex, key))
    if key.startswith("meta."):
        node: Any = ex.meta
        for part in key.split(".")[1:]:
            node = node.get(part) if isinstance(node, dict) else None
        return "(missing)" if node is None else str(node)
    raise VlmadaptError(f"--stratify {key!r}: use tier, task, lang, meta.<key> or none")


def stratified(strata: Sequence[str], n: int, rng: random.Random) -> list[int]:
    """Indices of a sample of `n` (all when fewer), each stratum in proportion to its size, shuffled."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(strata):
        groups[s].append(i)
    total = len(strata)
    n = min(n, total)
    exact = {s: n * len(idx) / total for s, idx in groups.items()}
    take = {s: int(q) for s, q in exact.items()}
    # Largest remainder; ties by stratum name so the result does not depend on dict order.
    for s in sorted(exact, key=lambda s: (-(exact[s] - take[s]), s))[: n - sum(take.values())]:
        take[s] += 1
    chosen = [i for s in sorted(groups) for i in rng.sample(groups[s], take[s])]
    rng.shuffle(chosen)
    return chosen


def assign(
    item_ids: Sequence[str], names: Sequence[str], double_share: float, rng: random.Random
) -> dict[str, list[str]]:
    """annotator -> item ids in sample order; round(double_share * n) items go to two annotators."""
    if not names:
        raise VlmadaptError("an audit needs annotators: give --annotators alice,bob or --tokens FILE")
    n_double = round(double_share * len(item_ids)) if len(names) >= 2 else 0
    doubles = set(rng.sample(range(len(item_ids)), n_double))
    queues: dict[str, list[str]] = {n: [] for n in names}
    for i, item in enumerate(item_ids):
        # The least loaded annotators; a rotating tie-break spreads the pairs over every two people.
        order = sorted(names, key=lambda n: (len(queues[n]), (names.index(n) - i) % len(names)))
        for name in order[: 2 if i in doubles else 1]:
            queues[name].append(item)
    return queues


def read_tokens(path: Path) -> dict[str, str]:
    """`name token` per line (# comments); tokens at least 16 characters. Errors name the line."""
    if not path.is_file():
        raise VlmadaptError(f"{path}: no such tokens file (lines of `name token`)")
    tokens: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise VlmadaptError(f"{path}:{lineno}: expected `name token`, got {len(parts)} words")
        name, token = parts
        if len(token) < 16:
            raise VlmadaptError(
                f"{path}:{lineno}: the token of {name!r} is too short (16 characters at least)"
            )
        if name in tokens or token in tokens.values():
            raise VlmadaptError(f"{path}:{lineno}: name or token {name!r} given twice")
        tokens[name] = token
    if not tokens:
        raise VlmadaptError(f"{path}: no `name token` lines")
    return tokens


def prepare(cfg: ServeConfig) -> dict[str, str]:
    """Create the audit database on first start, or check a restart matches it.

    Returns the tokens to print: generated ones on first start (shown once, stored only hashed), none
    on a restart (the annotators keep theirs), and those of `cfg.tokens` when given.
    """
    db = cfg.db_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    given = read_tokens(cfg.tokens) if cfg.tokens else {}
    if cfg.tokens and cfg.annotators and sorted(given) != sorted(cfg.annotators):
        raise VlmadaptError(f"{cfg.tokens}: names differ from --annotators; give one of the two")
    with store.connection(db) as conn:
        store.create_schema(conn)
        before = store.read_settings(conn)
        if before:
            _check_restart(cfg, before, store.annotator_names(conn), db)
            if given:
                store.set_tokens(conn, given)
            return given
        tokens = given or {name: secrets.token_urlsafe(24) for name in cfg.annotators}
        items = _sample(cfg)
        queues = assign(
            [it.item_id for it in items], list(tokens), cfg.double_share, random.Random(cfg.seed + 1)
        )
        store.save_sample(conn, cfg.settings(), items, tokens, queues)
        return tokens


def _sample(cfg: ServeConfig) -> list[store.Item]:
    from vlmadapt.jsonl import read_records

    records: list[Example] = read_records(cfg.data, Example)
    if not records:
        raise VlmadaptError(f"{cfg.data}: no records to audit")
    qpath = cfg.quality_path()
    quality = read_quality_tiers(qpath) if qpath else {}
    tiers = [auto_tier(r, quality) for r in records]
    strata = [stratum_of(r, cfg.stratify, t, str(cfg.data)) for r, t in zip(records, tiers, strict=True)]
    chosen = stratified(strata, cfg.sample, random.Random(cfg.seed))
    return [
        store.Item(records[i].id, strata[i], tiers[i], payload(records[i], strata[i], tiers[i]))
        for i in chosen
    ]


def _check_restart(cfg: ServeConfig, before: dict[str, Any], names: list[str], db: Path) -> None:
    now = cfg.settings()
    changed = sorted(k for k in now if before.get(k) != now[k])
    if changed:
        was = ", ".join(f"{k}={before.get(k)!r}" for k in changed)
        raise VlmadaptError(
            f"{db}: this audit was started with {was}; restart with the same options, or use another --db"
        )
    if cfg.annotators and sorted(cfg.annotators) != names:
        raise VlmadaptError(
            f"{db}: this audit's annotators are {', '.join(names)}; annotators are fixed when an audit "
            "starts: restart without --annotators (their tokens still work), or use another --db"
        )
