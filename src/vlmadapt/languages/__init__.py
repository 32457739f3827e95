"""Languages as data: the registry of language packs, and the text normalisation every metric shares.

A language is one pack file (`vlmadapt/languages/packs/<code>.yaml`, schema in `pack.py`). Shipped packs
load first, then a user's, which may add a language or replace a shipped one:

- files named with ``--language-pack FILE`` (``add_pack_file``),
- the directories or files in ``$VLMADAPT_LANGUAGE_PACKS`` (separated like ``PATH``),
- ``$XDG_CONFIG_HOME/vlmadapt/languages/*.yaml`` (``~/.config/vlmadapt/languages``).

A user pack may start from a shipped one (``extends: de``) and give only what it changes. A language
without a pack still gets Unicode-correct metrics: `pack(code)` returns a generic pack and warns once,
naming what is unavailable (yes/no parsing, number words, ...) and how to add it.

Normalisation is written by hand because no maintained library folds Romanian cedilla letters, French
typographic spaces or Turkish dotted capitals; tokenisation for BLEU and WER alignment stay with sacrebleu
and jiwer.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

from vlmadapt.config import deep_merge
from vlmadapt.errors import ConfigError, UnknownNameError
from vlmadapt.languages.pack import Language, build_pack, read_pack_data

__all__ = [
    "LANGUAGES",
    "WORD",
    "WORD_END",
    "WORD_START",
    "Language",
    "add_pack_file",
    "confusable",
    "language",
    "lowercase",
    "normalize",
    "pack",
    "pack_cache",
    "pack_origin",
]

ENV_VAR = "VLMADAPT_LANGUAGE_PACKS"
UNDETERMINED = "und"  # ISO 639-2 "undetermined": generic rules, no warning

# Romanian: ş ţ (cedilla, legacy encodings) and ș ț (comma below, correct) are different code points;
# mixing them turns identical words into mismatches (one sentence's BLEU drops from 100 to 59.5). The ro
# pack maps them (normalize.replace); these names stay for the cedilla-share diagnostic.
RO_CEDILLA_LETTERS = "şţŞŢ"
RO_COMMA_LETTERS = "șțȘȚ"

# Typography every language shares: no-break, narrow, figure and thin spaces (French puts them before
# ; : ! ? and inside guillemets); curly and modifier apostrophes vs the ASCII one.
_SPACES = {"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u200a": " "}
_APOSTROPHES = {"\u2019": "'", "\u02bc": "'", "\u2018": "'", "\u00b4": "'"}
_WS = re.compile(r"\s+")


def _mark_class() -> str:
    """A character class of every combining mark (categories Mn, Mc, Me), as ranges: planes 0 and 1, where
    every script's marks are, and the variation selectors of plane 14."""
    marks = [c for c in range(0x20000) if unicodedata.category(chr(c))[0] == "M"] + list(
        range(0xE0100, 0xE01F0)
    )
    ranges: list[list[int]] = []
    for c in marks:
        if ranges and c == ranges[-1][1] + 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in ranges)


# A word: a letter or digit, then letters, digits and combining marks. `[^\W_]+` alone splits Devanagari,
# Bengali, Tamil, Telugu and Thai words at their vowel signs ("नहीं" -> "नह"), which are marks, not letters.
MARKS = _mark_class()
WORD = re.compile(rf"[^\W_](?:[^\W_]|[{MARKS}])*")
WORD_START = rf"(?<![^\W_])(?<![{MARKS}])"  # lookbehind: not inside a word (vowel signs included)
WORD_END = rf"(?![^\W_])(?![{MARKS}])"


class _Registry(Mapping[str, Language]):
    """Packs by code, read on first use: shipped, then user directories, then files added at run time."""

    def __init__(self) -> None:
        self._packs: dict[str, Language] | None = None
        self._origin: dict[str, Path] = {}
        self._added: list[Path] = []

    def _load(self) -> dict[str, Language]:
        if self._packs is None:
            self._packs, self._origin = {}, {}
            shipped = resources.files("vlmadapt.languages") / "packs"
            for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
                if entry.name.endswith(".yaml"):
                    with resources.as_file(entry) as path:
                        self._read(Path(path))
            for path in [*_user_pack_files(), *self._added]:
                self._read(path)
        return self._packs

    def _read(self, path: Path) -> Language:
        assert self._packs is not None
        data, node = read_pack_data(path)
        base = data.get("extends")
        if base is not None:
            if base not in self._packs:
                known = ", ".join(sorted(self._packs))
                raise ConfigError(f"{path}: extends: {base!r} is not a known language pack (known: {known})")
            own = {k: v for k, v in data.items() if k != "extends"}
            data = deep_merge(self._packs[base].model_dump(), own) | {"extends": base}
        lang = build_pack(data, path, node)
        self._packs[lang.code] = lang
        self._origin[lang.code] = path
        return lang

    def add(self, path: Path) -> Language:
        self._load()
        lang = self._read(path)
        self._added.append(path)
        _forget()
        return lang

    def origin(self, code: str) -> Path | None:
        self._load()
        return self._origin.get(code)

    def reload(self) -> None:
        """Forget what was read (tests that change $VLMADAPT_LANGUAGE_PACKS); files added stay added."""
        self._packs = None
        _forget()

    def __getitem__(self, code: str) -> Language:
        return self._load()[code]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._load()))

    def __len__(self) -> int:
        return len(self._load())


def _user_pack_files() -> list[Path]:
    places = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "vlmadapt" / "languages"
    if config.is_dir():
        places.append(config)
    files: list[Path] = []
    for place in places:
        if place.is_dir():
            files.extend(sorted(p for p in place.iterdir() if p.suffix in (".yaml", ".yml")))
        elif place.is_file():
            files.append(place)
        else:
            raise ConfigError(f"{ENV_VAR}: {place} is neither a language pack file nor a directory of them")
    return files


LANGUAGES = _Registry()

_caches: list[Callable[[], None]] = []
F = TypeVar("F", bound=Callable[..., Any])


def pack_cache(fn: F) -> F:
    """`functools.lru_cache` for what is computed from packs (word sets, patterns); emptied whenever a pack
    is added or the registry is read again, so a pack added at run time is never shadowed."""
    cached = lru_cache(maxsize=128)(fn)
    _caches.append(cached.cache_clear)
    return cast(F, cached)


def _forget() -> None:
    _generic.clear()
    for clear in _caches:
        clear()


def language(code: str) -> Language:
    """The pack for `code`; an unknown code is an error that lists the known ones."""
    try:
        return LANGUAGES[code]
    except KeyError:
        raise UnknownNameError("language", code, list(LANGUAGES)) from None


_generic: dict[str, Language] = {}  # languages without a pack, each warned about once


def pack(code: str) -> Language:
    """The pack for `code`, or a generic one (Unicode rules only) with one warning per language."""
    if code in LANGUAGES:
        return LANGUAGES[code]
    if code in _generic:
        return _generic[code]
    generic = Language(code=code if re.fullmatch(r"[a-z]{2,3}", code) else UNDETERMINED, name=code)
    _generic[code] = generic
    if code != UNDETERMINED:
        from rich.console import Console

        Console(stderr=True).print(
            f"[yellow]warning:[/] no language pack for {code!r}: metrics use Unicode rules only; "
            f"{', '.join(generic.missing())} are unavailable. Add a pack with `--language-pack FILE` or in "
            f"${ENV_VAR} (see `vlmadapt languages show en` for the keys).",
            highlight=False,
            soft_wrap=True,
        )
    return generic


def add_pack_file(path: str | Path) -> Language:
    """Read a user's pack file (validated, errors located) and use it from now on."""
    return LANGUAGES.add(Path(path))


def pack_origin(code: str) -> Path | None:
    """The file the pack for `code` was read from."""
    return LANGUAGES.origin(code)


def confusable(lang: str) -> tuple[str, ...]:
    """The languages a text in `lang` is told apart from by language identification: the language,
    English, and those its pack names (`confusable`), each with a lingua code."""
    codes = dict.fromkeys((lang, "en", *pack(lang).confusable))
    return tuple(c for c in codes if pack(c).lingua)


# --- normalisation ------------------------------------------------------------------------------------------


def _char_class(items: list[str]) -> str:
    parts = [re.escape(i) if len(i) == 1 else f"{re.escape(i[0])}-{re.escape(i[2])}" for i in items]
    return f"[{''.join(parts)}]" if parts else ""


@pack_cache
def _tables(code: str) -> tuple[dict[int, str], tuple[tuple[str, str], ...], re.Pattern[str] | None, bool]:
    """(one-character table, longer replacements, characters to remove, turkic casing) of a language."""
    rules = pack(code).normalize
    single = {k: v for k, v in rules.replace.items() if len(k) == 1}
    longer = tuple((k, v) for k, v in rules.replace.items() if len(k) > 1)
    remove = _char_class(rules.remove)
    table = str.maketrans(_SPACES | _APOSTROPHES | single)
    return table, longer, re.compile(remove) if remove else None, rules.casing == "turkic"


def lowercase(text: str, lang: str) -> str:
    """Lowercase by the language's rules: Turkish and Azeri İ -> i and I -> ı."""
    if _tables(lang)[3]:
        text = text.replace("İ", "i").replace("I", "ı")
    return text.lower()


def normalize(text: str, lang: str, *, lowercase: bool = False, strip_punct: bool = False) -> str:
    """NFC, the language's letter fixes and removals, plain typography, collapsed whitespace; optional case
    (the language's casing rules) and punctuation.

    Applied to hypotheses and references alike before every metric. Punctuation removal is
    Unicode-aware (every category P* character), so « » and ’ go too, while letters with diacritics stay.
    """
    table, longer, remove, turkic = _tables(lang)
    text = unicodedata.normalize("NFC", text)
    for old, new in longer:
        text = text.replace(old, new)
    text = text.translate(table)
    if remove is not None:
        text = remove.sub("", text)
    if lowercase:
        if turkic:
            text = text.replace("İ", "i").replace("I", "ı")
        text = text.lower()
    if strip_punct:
        text = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text)
    return _WS.sub(" ", text).strip()
