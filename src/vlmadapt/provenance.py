"""What produced an output: config, package versions, git hash, machine. Every stage output carries it."""

from __future__ import annotations

import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = (
    "vlmadapt",
    "torch",
    "transformers",
    "peft",
    "accelerate",
    "datasets",
    "sacrebleu",
    "jiwer",
    "bert-score",
    "tokenizers",
)


def git_hash() -> str | None:
    """The commit of the vlmadapt checkout in use (with '-dirty' if modified), or None if not a checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def versions() -> dict[str, str]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def provenance(config: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_hash(),
        "versions": versions(),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
        "config": config or {},
    }
