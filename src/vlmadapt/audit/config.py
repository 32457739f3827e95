"""Typed configs of the three audit commands (serve, stats, export); defaults live here and nowhere else."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The human scale, worst first: the same order as quality.tiers.TIERS, so an index is an ordinal value
# (0 low, 1 moderate, 2 high) and a human label can be compared with an automatic tier directly.
RATINGS: tuple[str, ...] = ("low", "moderate", "high")
Rating = Literal["low", "moderate", "high"]


class ServeConfig(BaseModel):
    """`vlmadapt audit serve`: which items, who rates them, where the ratings go, where to listen."""

    model_config = ConfigDict(extra="forbid")

    data: Path = Field(
        description="Translated examples (from `translate`) or synthesized QA (from `synthesize`)."
    )
    sample: int = Field(
        default=300, ge=1, description="Items to audit (all of them when the data is smaller)."
    )
    stratify: str = Field(
        default="tier",
        description="tier (automatic, from `vlmadapt quality`), task, lang, meta.<key> or none.",
    )
    quality: Path | None = Field(
        default=None,
        description="`vlmadapt quality` output with automatic tiers; default DATA.quality.jsonl.",
    )
    seed: int = Field(default=12345, description="Seed of the sample and of who rates what.")
    double_share: float = Field(
        default=0.2, ge=0.0, le=1.0, description="Share of items rated by two annotators."
    )
    annotators: list[str] = Field(
        default_factory=list, description="Annotator names; each gets a login link, printed once."
    )
    tokens: Path | None = Field(
        default=None, description="Or a file of `name token` lines (tokens chosen by you)."
    )
    db: Path | None = Field(default=None, description="Audit database (default: audit.sqlite beside DATA).")
    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8765, ge=0, le=65535, description="Port to listen on.")
    images: Path | None = Field(default=None, description="Image folder (default: DATA's folder).")

    @field_validator("annotators")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        names = [v.strip() for v in value if v.strip()]
        bad = [n for n in names if not n.replace("-", "").replace("_", "").replace(".", "").isalnum()]
        if bad:
            raise ValueError(f"annotator name {bad[0]!r}: use letters, digits, '-', '_' or '.'")
        if len(set(names)) != len(names):
            raise ValueError("annotator names must be distinct")
        return names

    def db_path(self) -> Path:
        return self.db or self.data.with_name("audit.sqlite")

    def image_root(self) -> Path:
        return self.images or self.data.parent

    def quality_path(self) -> Path | None:
        """The quality file given, or DATA.quality.jsonl when it exists (the `quality` stage's default)."""
        if self.quality is not None:
            return self.quality
        default = self.data.with_name(self.data.name.removesuffix(".jsonl") + ".quality.jsonl")
        return default if default.is_file() else None

    def settings(self) -> dict[str, object]:
        """What fixes the sample: a restart with other values would audit another sample."""
        return {
            "data": str(self.data.resolve()),
            "sample": self.sample,
            "stratify": self.stratify,
            "seed": self.seed,
            "double_share": self.double_share,
        }


class StatsConfig(BaseModel):
    """`vlmadapt audit stats`: agreement and human-versus-automatic tiers of an audit database."""

    model_config = ConfigDict(extra="forbid")

    db: Path = Field(description="Audit database written by `vlmadapt audit serve`.")
    out: Path | None = Field(default=None, description="JSON output (default: DB with .stats.json).")

    def out_path(self) -> Path:
        return self.out or self.db.with_name(self.db.stem + ".stats.json")


class ExportConfig(BaseModel):
    """`vlmadapt audit export`: the records whose consensus rating is kept, and `{id, tier}` labels."""

    model_config = ConfigDict(extra="forbid")

    db: Path = Field(description="Audit database written by `vlmadapt audit serve`.")
    out: Path = Field(description="Kept records (.jsonl).")
    keep: list[Rating] = Field(
        default_factory=lambda: list[Rating](["high"]),
        min_length=1,
        description="Consensus tiers to keep: high, or high,moderate.",
    )
    labels: Path | None = Field(
        default=None, description="`{id, tier}` JSONL for `vlmadapt quality --labels`."
    )
    data: Path | None = Field(default=None, description="Default: the data file the audit was started on.")
