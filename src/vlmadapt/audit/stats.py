"""`vlmadapt audit stats`: how far annotators agree, and how human tiers compare with automatic ones.

Agreement uses the doubly rated items (two annotators each). For Cohen's kappa the two ratings of an
item are ordered by annotator name (rater A is the alphabetically first); the pairs of people vary from
item to item, as in most audits, which Fleiss' kappa and Krippendorff's alpha allow for by design.
The human tier of an item is the **consensus**: the lower of its ratings (a translation one annotator
calls low is low), the same rule `audit export` keeps or drops items by.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Column

from vlmadapt.audit import store
from vlmadapt.audit.agreement import cohen_kappa, confusion, fleiss_kappa, krippendorff_alpha
from vlmadapt.audit.config import RATINGS, StatsConfig
from vlmadapt.provenance import provenance, write_json

CONSENSUS_RULE = "the lower of an item's ratings (low < moderate < high)"
SHOWN = tuple(reversed(RATINGS))  # high, moderate, low: the order tables read in


def consensus(ratings: dict[str, str]) -> str:
    """The lower of the ratings of one item."""
    return min(ratings.values(), key=RATINGS.index)


def run(cfg: StatsConfig) -> Path:
    """Compute the statistics of `cfg.db` and write them as JSON; returns the JSON path."""
    conn = store.open_existing(cfg.db)
    try:
        result = compute(conn)
    finally:
        conn.close()
    result["provenance"] = provenance(cfg.model_dump(mode="json"))
    path = cfg.out_path()
    write_json(path, result)
    return path


def compute(conn: Any) -> dict[str, Any]:
    ratings = store.all_ratings(conn)
    auto = store.auto_tiers(conn)
    per_annotator = {
        r["annotator"]: {"assigned": r["assigned"], "rated": r["rated"]}
        for r in conn.execute(
            "SELECT a.annotator, COUNT(*) AS assigned, COUNT(r.rating) AS rated FROM assignments a "
            "LEFT JOIN ratings r ON r.item_id = a.item_id AND r.annotator = a.annotator GROUP BY a.annotator"
        )
    }
    human = {item: consensus(r) for item, r in ratings.items()}
    return {
        **store.counts(conn),
        "rated_items": len(ratings),
        "annotators": per_annotator,
        "agreement": agreement(ratings),
        "consensus_rule": CONSENSUS_RULE,
        "human_distribution": _distribution(human.values()),
        "automatic_distribution": _distribution(t for i, t in auto.items() if i in human and t),
        "human_vs_automatic": versus_automatic(human, auto),
    }


def agreement(ratings: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Every statistic over the items with exactly two ratings (alpha: every item with two or more)."""
    pairs = [[RATINGS.index(r[name]) for name in sorted(r)] for r in ratings.values() if len(r) == 2]
    units = [[RATINGS.index(v) for v in r.values()] for r in ratings.values() if len(r) >= 2]
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    k = len(RATINGS)
    table = np.array([np.bincount(p, minlength=k) for p in pairs]).reshape(len(pairs), k)
    pair_table = confusion(a, b, k)[::-1, ::-1]  # high first
    return {
        "doubly_rated": len(pairs),
        "observed_agreement": float(np.mean(np.array(a) == np.array(b))) if pairs else None,
        "cohen_kappa": cohen_kappa(a, b, k),
        "cohen_kappa_linear": cohen_kappa(a, b, k, "linear"),
        "cohen_kappa_quadratic": cohen_kappa(a, b, k, "quadratic"),
        "fleiss_kappa": fleiss_kappa(table) if pairs else None,
        "krippendorff_alpha_ordinal": krippendorff_alpha(units, k, "ordinal"),
        "krippendorff_alpha_nominal": krippendorff_alpha(units, k, "nominal"),
        "pair_table": {
            "rows": "rater A",
            "columns": "rater B",
            "labels": list(SHOWN),
            "counts": pair_table.astype(int).tolist(),
        },
    }


def versus_automatic(human: dict[str, str], auto: dict[str, str | None]) -> dict[str, Any]:
    """Confusion of the consensus tier (rows) against the automatic tier (columns), high first."""
    both = [(human[i], auto[i]) for i in human if auto.get(i)]
    h = [RATINGS.index(x) for x, _ in both]
    m = [RATINGS.index(y) for _, y in both if y is not None]
    k = len(RATINGS)
    table = confusion(h, m, k)[::-1, ::-1]
    return {
        "n": len(both),
        "labels": list(SHOWN),
        "rows": "human (consensus)",
        "columns": "automatic (vlmadapt quality)",
        "counts": table.astype(int).tolist(),
        "accuracy": float(np.trace(table) / len(both)) if both else None,
        "cohen_kappa_quadratic": cohen_kappa(h, m, k, "quadratic"),
    }


def _distribution(tiers: Any) -> dict[str, int]:
    values = list(tiers)
    return {t: values.count(t) for t in SHOWN}


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


def render(result: dict[str, Any]) -> Any:
    """Rich tables of a stats result: agreement, tier distributions, human against automatic."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    ag = result["agreement"]
    agree = Table("statistic", Column("value", justify="right"))
    for label, key in (
        ("observed agreement", "observed_agreement"),
        ("Cohen's kappa", "cohen_kappa"),
        ("Cohen's kappa, linear weights", "cohen_kappa_linear"),
        ("Cohen's kappa, quadratic weights", "cohen_kappa_quadratic"),
        ("Fleiss' kappa", "fleiss_kappa"),
        ("Krippendorff's alpha, ordinal", "krippendorff_alpha_ordinal"),
        ("Krippendorff's alpha, nominal", "krippendorff_alpha_nominal"),
    ):
        agree.add_row(label, _fmt(ag[key]))
    dist = Table("tier", Column("human", justify="right"), Column("automatic", justify="right"))
    h, a = result["human_distribution"], result["automatic_distribution"]
    nh, na = max(sum(h.values()), 1), max(sum(a.values()), 1)
    for t in SHOWN:
        dist.add_row(t, f"{h[t]} ({100 * h[t] / nh:.0f}%)", f"{a[t]} ({100 * a[t] / na:.0f}%)")
    vs = result["human_vs_automatic"]
    versus = f"Human (rows) against automatic (columns) tiers, {vs['n']} items"
    if vs["n"]:
        versus += f": accuracy {_fmt(vs['accuracy'])}, quadratic kappa {_fmt(vs['cohen_kappa_quadratic'])}"
    return Group(
        Text(f"Agreement on {ag['doubly_rated']} doubly rated items", style="bold"),
        agree,
        Text(f"Tiers of {result['rated_items']} rated items (human: {CONSENSUS_RULE})", style="bold"),
        dist,
        Text(versus, style="bold"),
        _confusion_table(vs),
    )


def _confusion_table(vs: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table("human \\ automatic", *(Column(label, justify="right") for label in vs["labels"]))
    for label, row in zip(vs["labels"], vs["counts"], strict=True):
        table.add_row(label, *(str(c) for c in row))
    return table


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))
