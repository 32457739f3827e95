"""What produced an output: config, package versions, git hash, machine. Every stage output carries it."""

from __future__ import annotations

import json
import os
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


def sidecar(output: Path) -> Path:
    """Where an append-only output records what produced it: ``OUT.provenance.json``."""
    return output.with_name(output.name + ".provenance.json")


def start_or_resume(output: Path, settings: dict[str, Any], config: dict[str, Any], resuming: bool) -> None:
    """Record `settings` beside `output`, or, when resuming, refuse settings that differ from the first run's.

    Settings are what changes the rows (model, adapter, prompts, decoding, backend): a resumed file with
    rows from two different settings would mix two systems without saying so.
    """
    from vlmadapt.errors import VlmadaptError

    path = sidecar(output)
    if resuming and path.is_file():
        before = json.loads(path.read_text(encoding="utf-8")).get("settings", {})
        changed = sorted(k for k in settings if _canon(before.get(k)) != _canon(settings[k]))
        if changed:
            raise VlmadaptError(
                f"{output}: was started with different settings ({', '.join(changed)}; see {path}); "
                "resume with the same settings, or write to another --out"
            )
        return
    write_json(path, {"settings": settings, **provenance(config)})


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def write_json(path: Path, obj: dict[str, Any]) -> None:
    """Atomically, so a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
