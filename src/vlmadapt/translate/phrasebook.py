"""Exact lookups consulted before any model: yes/no and fixed instruction templates.

Yes and no map through each language's table (`languages.LANGUAGES`), keeping case and trailing
punctuation ("Yes." -> "Da."), so POPE answers never depend on a model. Instruction templates that recur
in thousands of records (LLaVA's "Answer the question using a single word or phrase.") get one fixed,
reviewed translation; a user adds or overrides entries with a YAML or JSON file of ``source: target``,
or with one section per direction (``{"ro-en": {...}, "en-ro": {...}}``) when one file serves both ways,
as translate-test needs (questions into English, answers back).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from vlmadapt.errors import ConfigError
from vlmadapt.languages import LANGUAGES

_TRAILING = ".!?"
_DIRECTION = re.compile(r"[a-z]{2,3}-[a-z]{2,3}")  # a section of a two-way phrasebook


class Phrasebook:
    """Fixed translations for one language pair."""

    def __init__(self, source: str, target: str, entries: dict[str, str] | None = None) -> None:
        self.source, self.target = source, target
        self.entries = _built_in(source, target)
        self.entries.update(entries or {})
        self.yes_no = _yes_no(source, target)

    def lookup(self, text: str) -> str | None:
        """The fixed translation of `text`, or None when a model must translate it."""
        hit = self.entries.get(text)
        if hit is not None:
            return hit
        word = text.rstrip(_TRAILING)
        mapped = self.yes_no.get(word.casefold())
        if mapped is None:
            return None
        return _same_case(word, mapped) + text[len(word) :]


def load_phrasebook(source: str, target: str, path: Path | None) -> Phrasebook:
    """The built-in entries for the pair, plus (overriding) those of a YAML/JSON phrasebook file: a flat
    ``source: target`` mapping, or sections per direction of which the ``source-target`` one is used."""
    if path is None:
        return Phrasebook(source, target)
    data = read_phrasebook(path)
    if is_sectioned(data):
        data = data.get(f"{source}-{target}", {})
    return Phrasebook(source, target, data)


def read_phrasebook(path: Path | str) -> dict[str, Any]:
    """A phrasebook file's mapping, checked: strings to strings, or direction sections of those."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"phrasebook: {path}: no such file")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"phrasebook: {path}: cannot parse: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"phrasebook: {path}: must map each source string to its translation (strings)")
    sections = data if is_sectioned(data) else {"": data}
    for name, entries in sections.items():
        bad = [k for k, v in entries.items() if not (isinstance(k, str) and isinstance(v, str))]
        if bad:
            where = f"section {name}: " if name else ""
            raise ConfigError(
                f"phrasebook: {path}: {where}entry {bad[0]!r}: must map each source string to its "
                "translation (strings), or hold sections like 'ro-en:' of such mappings"
            )
    return data


def is_sectioned(data: dict[str, Any]) -> bool:
    """True for a file of direction sections ({"ro-en": {...}, "en-ro": {...}})."""
    return bool(data) and all(
        isinstance(k, str) and _DIRECTION.fullmatch(k) and isinstance(v, dict) for k, v in data.items()
    )


def _built_in(source: str, target: str) -> dict[str, str]:
    """Reviewed translations of the instruction lines that the LLaVA-1.5 mixture and vlmadapt's prompts
    repeat: the target pack's `phrasebook` (from English)."""
    known = LANGUAGES.get(target)
    return dict(known.phrasebook) if source == "en" and known else {}


def _yes_no(source: str, target: str) -> dict[str, str]:
    src, tgt = LANGUAGES.get(source), LANGUAGES.get(target)
    if src is None or tgt is None:
        return {}
    return {src.yes[0]: tgt.yes[0], src.no[0]: tgt.no[0]}


def _same_case(model: str, word: str) -> str:
    if model.isupper() and len(model) > 1:
        return word.upper()
    if model[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


class PhrasebookBackend:
    """The `phrasebook` translation backend: exact lookups only, no model.

    The Translator consults the phrasebook before any backend, so every text that reaches this backend has
    no entry; it is refused with an error that names it rather than passed through untranslated, unless
    `keep_missing` (``missing: keep``) asks for exactly that, as an MT system copies a word it cannot
    translate (the demo's translate-test: an English model's odd answer must not stop the run).
    """

    def __init__(self, source: str, target: str, keep_missing: bool = False) -> None:
        self.source, self.target, self.keep_missing = source, target, keep_missing

    def signature(self) -> dict[str, Any]:
        sig: dict[str, Any] = {"backend": "phrasebook", "source": self.source, "target": self.target}
        return sig | ({"missing": "keep"} if self.keep_missing else {})

    def translate(self, texts: Sequence[str], attempt: int = 0) -> Iterator[tuple[int, str]]:
        if self.keep_missing:
            return iter(enumerate(texts))
        if texts:
            raise ConfigError(
                f"phrasebook backend ({self.source}->{self.target}): no entry for {texts[0]!r} "
                f"({len(texts)} text(s) without one); add it to the phrasebook file or use a model backend"
            )
        return iter(())

    def close(self) -> None:
        pass
