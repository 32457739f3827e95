"""The quality stage: a translated set -> one row per record with its checks, tier and reasons.

    vlmadapt quality examples.ro.jsonl [--roundtrip-backend seq2seq --roundtrip-model M] [--judge-url U]

Output (``IN.quality.jsonl`` unless `output` is set), one line per record::

    {"id": "pope-1", "tier": "low", "reasons": ["lang_conf 0.21 < 0.5"],
     "checks": {"structure_errors": 0, "lang_conf": 0.21, ...}, "problems": []}

and ``.summary.json`` beside it: the tier distribution, the bands used, the fit to audit labels if
any, and provenance. With `labels` (the audit export, JSONL ``{id, tier}``), the bands are first
fitted to the labels (tiers.fit_thresholds) and the fitted bands tier every record.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vlmadapt.errors import VlmadaptError
from vlmadapt.jsonl import iter_jsonl, read_records, write_jsonl
from vlmadapt.llm.backends import BackendConfig
from vlmadapt.provenance import provenance
from vlmadapt.quality.checks import DEFAULT_CANDIDATES, record_checks
from vlmadapt.quality.comet import CometConfig
from vlmadapt.quality.tiers import DEFAULT_BANDS, TIERS, Band, Fit, assign_tier, fit_thresholds
from vlmadapt.records import Example
from vlmadapt.translate.fields import leaf_pairs


class QualityConfig(BaseModel):
    """What `vlmadapt quality` needs; defaults live here."""

    model_config = ConfigDict(extra="forbid")

    input: Path = Field(description="Translated examples (.jsonl) from `vlmadapt translate`.")
    output: Path | None = Field(default=None, description="Per-record checks (default: IN.quality.jsonl).")
    target: str | None = Field(default=None, description="Target language (default: the records' `lang`).")
    candidates: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CANDIDATES),
        description="Languages the language identifier chooses among.",
    )
    min_chars: int = Field(default=20, ge=1, description="Below this, no language or length score.")
    roundtrip: BackendConfig | None = Field(
        default=None, description="Backend translating target -> source, for back-translation chrF."
    )
    cache: Path | None = Field(
        default=None, description="Round-trip cache; default: translate-cache.sqlite beside the output."
    )
    judge: BackendConfig | None = Field(
        default=None, description="An OpenAI-compatible GEMBA-MQM judge (its url and model)."
    )
    comet: CometConfig | None = Field(default=None, description="CometKiwi (needs unbabel-comet).")
    bands: dict[str, Band] = Field(
        default_factory=dict, description="Overrides of tiers.DEFAULT_BANDS, key by key."
    )
    labels: Path | None = Field(
        default=None, description="Audit labels {id, tier}: fit the thresholds to them first."
    )

    @field_validator("bands", mode="before")
    @classmethod
    def _over_defaults(cls, value: Any) -> Any:
        """`bands.lang_conf.low=0.3` changes one bound and keeps the default other one."""
        if not isinstance(value, dict):
            return value
        unknown = sorted(set(value) - set(DEFAULT_BANDS))
        if unknown:
            raise ValueError(f"unknown feature {unknown[0]!r}; known: {', '.join(DEFAULT_BANDS)}")
        return {
            k: {**DEFAULT_BANDS[k].model_dump(), **v} if isinstance(v, dict) else v for k, v in value.items()
        }

    def output_path(self) -> Path:
        return self.output or self.input.with_name(self.input.name.removesuffix(".jsonl") + ".quality.jsonl")

    def summary_path(self) -> Path:
        return self.output_path().with_name(self.output_path().name.removesuffix(".jsonl") + ".summary.json")


def run(cfg: QualityConfig) -> Path:
    """Check, score and tier every record of `cfg.input`; returns the per-record JSONL path."""
    records: list[Example] = read_records(cfg.input, Example)
    target = _target(records, cfg)
    rows = record_checks(records, target, cfg.candidates, cfg.min_chars)
    _add_optional_scores(records, rows, cfg, target)
    bands = {**DEFAULT_BANDS, **cfg.bands}
    fit = None
    if cfg.labels is not None:
        checks = {r.id: row for r, row in zip(records, rows, strict=True)}
        fit = fit_thresholds(read_labels(cfg.labels), checks, bands)
        bands = fit.bands
    out = []
    for rec, row in zip(records, rows, strict=True):
        problems = row.pop("problems")
        tier, reasons = assign_tier(row, bands)
        out.append({"id": rec.id, "tier": tier, "reasons": reasons, "checks": row, "problems": problems})
    path = write_jsonl(cfg.output_path(), out)
    summary = {
        "distribution": distribution(out),
        "bands": {k: v.model_dump() for k, v in bands.items()},
        "fit": _fit_summary(fit),
        "provenance": provenance(cfg.model_dump(mode="json")),
    }
    cfg.summary_path().write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _target(records: Sequence[Example], cfg: QualityConfig) -> str:
    plain = [r.id for r in records if r.source is None]
    if plain:
        raise VlmadaptError(
            f"{cfg.input}: record {plain[0]!r} has no source texts (and {len(plain) - 1} more); "
            "quality scores the output of `vlmadapt translate`"
        )
    langs = sorted({r.lang for r in records})
    if cfg.target is None and len(langs) > 1:
        raise VlmadaptError(f"{cfg.input}: records are in several languages ({', '.join(langs)}); set target")
    return cfg.target or (langs[0] if langs else "en")


def _add_optional_scores(
    records: Sequence[Example], rows: list[dict[str, Any]], cfg: QualityConfig, target: str
) -> None:
    pairs = [
        ("\n".join(s for _, s, _ in leaf_pairs(r)), "\n".join(t for _, _, t in leaf_pairs(r)))
        for r in records
    ]
    if cfg.roundtrip is not None:
        from vlmadapt.quality.roundtrip import roundtrip_chrf

        cache = cfg.cache or cfg.output_path().parent / "translate-cache.sqlite"
        for row, score in zip(rows, roundtrip_chrf(records, cfg.roundtrip, cache, target), strict=True):
            row["chrf_roundtrip"] = score
    if cfg.judge is not None:
        from vlmadapt.quality.judge import judge_scores

        source = records[0].source.lang if records and records[0].source else "en"
        for row, judged in zip(rows, judge_scores(pairs, cfg.judge, source, target), strict=True):
            row["judge_mqm"] = judged
    if cfg.comet is not None:
        from vlmadapt.quality.comet import comet_scores

        for row, score in zip(rows, comet_scores(pairs, cfg.comet), strict=True):
            row["comet"] = score


def read_labels(path: Path) -> list[dict[str, Any]]:
    """Audit labels, JSONL ``{id, tier}``; errors name the line."""
    labels = []
    for lineno, raw in iter_jsonl(path):
        if not isinstance(raw, dict) or "id" not in raw or raw.get("tier") not in TIERS:
            raise VlmadaptError(f'{path}:{lineno}: expected {{"id": ..., "tier": one of {", ".join(TIERS)}}}')
        labels.append(raw)
    return labels


def distribution(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(r["tier"] for r in rows)
    return {t: counts.get(t, 0) for t in reversed(TIERS)}


def _fit_summary(fit: Fit | None) -> dict[str, Any] | None:
    if fit is None:
        return None
    return {"n": fit.n, "kappa": fit.kappa, "kappa_before": fit.kappa_before, "accuracy": fit.accuracy}


def render(path: Path, show: int = 50) -> str:
    """The tier distribution and why each low record is low (the first `show` of them)."""
    rows = [raw for _, raw in iter_jsonl(path)]
    dist = distribution(rows)
    total = max(len(rows), 1)
    lines = [
        f"{len(rows)} records: " + ", ".join(f"{t} {n} ({100 * n / total:.1f}%)" for t, n in dist.items())
    ]
    low = [r for r in rows if r["tier"] == "low"]
    for r in low[:show]:
        detail = "; ".join(r["reasons"] + r["problems"][:3])
        lines.append(f"  low {r['id']}: {detail}")
    if len(low) > show:
        lines.append(f"  ... and {len(low) - show} more low records in {path}")
    return "\n".join(lines)
