"""`vlmadapt audit export`: the audited records whose consensus rating is kept, and the human labels.

The consensus of an item is the lower of its ratings (stats.consensus). `keep` names the tiers to
keep (``high``, or ``high,moderate`` for "usable"). Records are copied from the data file the audit
was started on, in its order; items nobody rated are left out. The labels file has one
``{"id", "tier"}`` line per rated item, whatever its tier: what `vlmadapt quality --labels` (and
`quality.tiers.fit_thresholds`) reads to fit the automatic tiers to people's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmadapt.audit import store
from vlmadapt.audit.config import ExportConfig
from vlmadapt.audit.stats import CONSENSUS_RULE, consensus
from vlmadapt.errors import VlmadaptError
from vlmadapt.provenance import provenance, sidecar, write_json


def run(cfg: ExportConfig) -> Path:
    """Write the kept records to `cfg.out` (and labels to `cfg.labels`); returns `cfg.out`."""
    from vlmadapt.jsonl import read_records, write_jsonl
    from vlmadapt.records import Example

    conn = store.open_existing(cfg.db)
    try:
        human = {item: consensus(r) for item, r in store.all_ratings(conn).items()}
        started_on = store.read_settings(conn).get("data")
    finally:
        conn.close()
    data = cfg.data or (Path(started_on) if started_on else None)
    if data is None or not data.is_file():
        raise VlmadaptError(
            f"{cfg.db}: the audited data file {data} is missing; give its new place with --data"
        )
    records: list[Example] = read_records(data, Example)
    found = {r.id for r in records}
    missing = sorted(set(human) - found)
    if missing:
        raise VlmadaptError(
            f"{data}: {len(missing)} rated items are not in this file (first: {missing[0]!r}); "
            "is --data the file the audit was started on?"
        )
    kept = [r for r in records if human.get(r.id) in cfg.keep]
    write_jsonl(cfg.out, kept)
    if cfg.labels is not None:
        write_jsonl(cfg.labels, [{"id": r.id, "tier": human[r.id]} for r in records if r.id in human])
    write_json(sidecar(cfg.out), _summary(cfg, data, human, len(kept)))
    return cfg.out


def _summary(cfg: ExportConfig, data: Path, human: dict[str, str], kept: int) -> dict[str, Any]:
    return {
        "data": str(data),
        "rated": len(human),
        "kept": kept,
        "keep": list(cfg.keep),
        "consensus_rule": CONSENSUS_RULE,
        **provenance(cfg.model_dump(mode="json")),
    }
