"""COMET quality estimation (CometKiwi, or any reference-free COMET checkpoint) when installed.

Import-guarded: the `unbabel-comet` package is optional and its checkpoint must be a local file (this
stage never downloads). A translated set has no references, so only reference-free (quality
estimation) checkpoints fit: ``{"src": source, "mt": translation}`` per record.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.errors import VlmadaptError


class CometConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checkpoint: Path = Field(
        description="Local CometKiwi checkpoint, e.g. .../wmt22-cometkiwi-da/checkpoints/model.ckpt."
    )
    batch_size: int = Field(default=16, ge=1, description="Pairs per COMET batch.")
    gpus: int = Field(default=0, ge=0, description="GPUs COMET may use.")


def comet_scores(pairs: Sequence[tuple[str, str]], cfg: CometConfig) -> list[float]:
    """One score per (source, translation) pair."""
    try:
        from comet import load_from_checkpoint
    except ImportError:
        raise VlmadaptError(
            "quality.comet: needs the unbabel-comet package (pip install unbabel-comet), "
            "or drop the comet setting"
        ) from None
    if not cfg.checkpoint.is_file():
        raise VlmadaptError(f"quality.comet.checkpoint: {cfg.checkpoint}: no such checkpoint file")
    model = load_from_checkpoint(str(cfg.checkpoint))
    data = [{"src": s, "mt": t} for s, t in pairs]
    out = model.predict(data, batch_size=cfg.batch_size, gpus=cfg.gpus, progress_bar=False)
    return [float(x) for x in out.scores]
