"""The human audit: people rate a stratified sample of translations in a web page; agreement; export.

    from vlmadapt.audit import ServeConfig, StatsConfig, ExportConfig, serve, run_stats, run_export
    serve(ServeConfig(data="examples.ro.jsonl", annotators=["alice", "bob"]))   # until Ctrl-C
    run_stats(StatsConfig(db="audit.sqlite"))                    # -> audit.stats.json
    run_export(ExportConfig(db="audit.sqlite", keep=["high"], out="kept.jsonl", labels="labels.jsonl"))

(`stats` and `export` are the modules; the entry functions are named so they do not shadow them.)

Heavy pieces (FastAPI, uvicorn) load inside the functions that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmadapt.audit.config import RATINGS, ExportConfig, ServeConfig, StatsConfig


def serve(cfg: ServeConfig, announce: Any = print) -> None:
    """Prepare or reopen the audit, print login links, serve the page until interrupted."""
    from vlmadapt.audit.app import run

    run(cfg, announce)


def run_stats(cfg: StatsConfig) -> Path:
    """Agreement and human-versus-automatic tiers, as JSON; returns its path."""
    from vlmadapt.audit.stats import run

    return run(cfg)


def run_export(cfg: ExportConfig) -> Path:
    """The records whose consensus rating is kept (and `{id, tier}` labels); returns the output path."""
    from vlmadapt.audit.export import run

    return run(cfg)


__all__ = ["RATINGS", "ExportConfig", "ServeConfig", "StatsConfig", "run_export", "run_stats", "serve"]
