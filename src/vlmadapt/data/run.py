"""`vlmadapt data import` as a stage: a config, the import, and what produced it recorded beside the records.

`DEST.provenance.json` holds the config, the counts and the usual provenance (version, git revision,
command line), so a study's later stages, and a reader of the folder, know where the records came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.data.importers import ImportResult, import_dataset
from vlmadapt.provenance import provenance, sidecar, write_json


class ImportConfig(BaseModel):
    """What `vlmadapt data import` needs; defaults live here."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(description="Source format (see `vlmadapt data formats`).")
    src: Path = Field(description="Source file or folder, in its original layout.")
    dest: Path = Field(description="Output records (.jsonl, or .parquet).")
    image_root: Path | None = Field(
        default=None,
        description="Check every image exists and opens under this folder; images embedded in the source "
        "(CVQA, MTVQA Parquet) are written here (default: DEST's stem + .images/).",
    )
    lang: str = Field(
        default="en",
        description="Language of the source text; for multilingual benchmarks one of theirs, or 'mul' "
        "for all.",
    )
    split: str | None = Field(
        default=None, description="Keep one split (train/val/test) where the format has splits."
    )
    on_error: Literal["raise", "skip"] = Field(
        default="raise",
        description="raise: stop at the first bad record; skip: write it with its reason to the rejects "
        "file and go on.",
    )
    rejects: Path | None = Field(
        default=None, description="Where rejected records go (default: DEST with .rejects.jsonl)."
    )


def import_records(cfg: ImportConfig) -> ImportResult:
    """Import `cfg.src` into `cfg.dest` and record what produced it beside it (`DEST.provenance.json`)."""
    result = import_dataset(
        cfg.format,
        cfg.src,
        cfg.dest,
        image_root=cfg.image_root,
        lang=cfg.lang,
        split=cfg.split,
        on_error=cfg.on_error,
        rejects_path=cfg.rejects,
    )
    counts = {"written": result.written, "rejected": result.rejected, "images": result.images}
    write_json(sidecar(cfg.dest), {"result": counts, **provenance(cfg.model_dump(mode="json"))})
    return result


def run(cfg: ImportConfig) -> Path:
    """The study stage `import`: the records' path."""
    return import_records(cfg).path
