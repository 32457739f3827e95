"""What `vlmadapt languages list` and `show` print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rich.table import Table

from vlmadapt.languages import LANGUAGES, language, pack_origin

SHIPPED = Path(__file__).parent / "packs"


def packs_table() -> Table:
    """One row per pack: what the scorers will do in that language."""
    table = Table(title=f"{len(LANGUAGES)} language packs", title_justify="left")
    for col in ("code", "language", "script", "yes / no", "BLEU tokens", "units", "lacks"):
        table.add_column(col)
    for code in LANGUAGES:
        lang = LANGUAGES[code]
        origin = pack_origin(code)
        shipped = origin is not None and origin.is_relative_to(SHIPPED)
        table.add_row(
            code + ("" if shipped else " (user)"),
            lang.name,
            lang.script,
            f"{lang.yes[0]} / {lang.no[0]}" if lang.yes and lang.no else "-",
            lang.metrics.bleu_tokenize,
            lang.metrics.unit,
            ", ".join(lang.missing()) or "-",
        )
    return table


class _Dumper(yaml.SafeDumper):
    """Word lists on one line each, mappings as blocks."""


_Dumper.add_representer(
    list, lambda d, data: d.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=len(data) < 40)
)


def pack_yaml(code: str) -> str:
    """The pack as YAML, with the file it came from."""
    lang = language(code)
    data: dict[str, Any] = {k: v for k, v in lang.model_dump(exclude_none=True).items() if v not in ({}, [])}
    header = f"# {pack_origin(code)}\n"
    return header + yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=110)
