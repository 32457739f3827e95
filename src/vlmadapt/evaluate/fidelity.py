"""Language fidelity: does the model answer in the target language, and with the right letters?

`LanguageFidelity` is the share of predictions identified as the target language by lingua (offline,
restricted to a few candidate languages). Short answers ("Da", "Oui", "Yes", "2") are where models most
often slip into English, and where statistical identification is weakest (lingua calls "Da." Portuguese
and "Un chien" German), so texts under `min_words` words are decided by the yes/no word tables of
`languages.LANGUAGES` instead, then, when the references are translations that carry their source
(`Example.source`), by the reference lexicon: the words of the target-language answers against those of
the source-language answers ("roșie" is Romanian there, "red" English; "triangle", in both French and
English answers, decides nothing). What neither decides (a bare number, a name) is left undecided;
undecided predictions are counted and left out of the share.

`RomanianCedillaShare` is the share of cedilla letters (ş ţ Ş Ţ, legacy encodings) among all ș/ț-type
letters in the predictions: 0 is right, 100 means every ș/ț was written with a cedilla. Both read the
raw predictions (only NFC), since normalising would hide exactly what they measure. References are
ignored.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from vlmadapt.errors import VlmadaptError
from vlmadapt.evaluate.metrics import RefSets
from vlmadapt.languages import (
    LANGUAGES,
    RO_CEDILLA_LETTERS,
    RO_COMMA_LETTERS,
    confusable,
    normalize,
    pack,
    pack_cache,
)

CANDIDATES = confusable("en")


@lru_cache(maxsize=8)
def _detector(candidates: tuple[str, ...]) -> tuple[Any, dict[str, str]]:
    """A lingua detector among the candidates, and lingua's ISO 639-1 code -> the pack's code."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    by_lingua = {pack(c).lingua or c: c for c in candidates}
    try:
        codes = [IsoCode639_1.from_str(c) for c in by_lingua]
    except ValueError:
        raise VlmadaptError(
            f"language identification: lingua does not know one of {', '.join(by_lingua)} (ISO 639-1 codes); "
            "set `lingua:` in the language's pack to the code lingua uses, or leave it out"
        ) from None
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build(), by_lingua


def _words(text: str) -> list[str]:
    """Lowercased words without punctuation, in no particular language's rules."""
    return normalize(text, "und", lowercase=True, strip_punct=True).split()


def short_answer_language(text: str, candidates: tuple[str, ...]) -> str | None:
    """The language whose yes/no words make up `text` ("Da." -> ro, "Yes" -> en), or None if not one."""
    words = _words(text)
    if not words:
        return None
    found = {
        code for code in candidates if code in LANGUAGES and all(w in _yes_no_words(code) for w in words)
    }
    return found.pop() if len(found) == 1 else None


@pack_cache
def _yes_no_words(code: str) -> frozenset[str]:
    return frozenset(w for word in LANGUAGES[code].yes + LANGUAGES[code].no for w in _words(word))


Lexicon = dict[str, frozenset[str]]  # language -> the words of its reference answers


def lexicon_language(text: str, lexicon: Lexicon) -> str | None:
    """The one language whose reference words make up all of `text`, or None."""
    words = _words(text)
    found = [code for code, known in lexicon.items() if words and all(w in known for w in words)]
    return found[0] if len(found) == 1 else None


def reference_lexicon(pairs: list[tuple[str, list[str]]]) -> Lexicon:
    """(language, answers) pairs -> the words of each language's answers."""
    words: dict[str, set[str]] = {}
    for code, answers in pairs:
        for answer in answers:
            words.setdefault(code, set()).update(_words(answer))
    return {code: frozenset(w) for code, w in words.items()}


def identify(
    text: str, candidates: tuple[str, ...], min_words: int, lexicon: Lexicon | None = None
) -> str | None:
    """ISO 639-1 code of the text's language among `candidates`, or None when it cannot be told."""
    text = unicodedata.normalize("NFC", text).strip()
    if not any(c.isalpha() for c in text):
        return None
    if len(text.split()) < min_words:
        found = short_answer_language(text, candidates)
        if found is None and lexicon:
            found = lexicon_language(text, {c: w for c, w in lexicon.items() if c in candidates})
        return found
    detector, by_lingua = _detector(candidates)
    found = detector.detect_language_of(text)
    return None if found is None else by_lingua[str(found.iso_code_639_1.name).lower()]


@dataclass
class LanguageFidelity:
    """Share (x 100) of decided predictions in `lang`. stats: [in target language, decided] per sample."""

    lang: str
    candidates: tuple[str, ...] = CANDIDATES
    min_words: int = 3
    label: str | None = None
    lexicon: Lexicon | None = field(default=None, repr=False)  # short answers: reference words per language
    name: str = field(init=False)
    higher_is_better: bool = field(init=False, default=True)

    def __post_init__(self) -> None:
        self.name = self.label or "lang_fidelity"
        self.candidates = tuple(self.candidates)
        if self.lang not in self.candidates:
            self.candidates = (*self.candidates, self.lang)

    def signature(self) -> str:
        from importlib.metadata import version

        cands = ",".join(self.candidates)
        return (
            f"lang-fidelity|lingua:{version('lingua-language-detector')}|target:{self.lang}|"
            f"candidates:{cands}|short:<{self.min_words}words=yes/no-tables"
            + ("+reference-lexicon" if self.lexicon else "")
        )

    def sample_stats(self, hyps: list[str], refs: RefSets) -> np.ndarray:
        out = np.zeros((len(hyps), 2))
        for i, h in enumerate(hyps):
            code = identify(h, self.candidates, self.min_words, self.lexicon)
            out[i] = (code == self.lang, code is not None)
        return out

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        s = np.asarray(sums, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(s[..., 1] > 0, 100 * s[..., 0] / s[..., 1], 0.0)

    def breakdown(self, sums: np.ndarray, n: int) -> dict[str, Any]:
        return {"in_target": int(sums[0]), "decided": int(sums[1]), "undecided": n - int(sums[1])}


@dataclass
class RomanianCedillaShare:
    """Share (x 100) of cedilla letters among ș/ț-type letters. stats: [cedilla, comma-below] counts."""

    label: str | None = None
    name: str = field(init=False)
    higher_is_better: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.name = self.label or "ro_cedilla_share"

    def signature(self) -> str:
        return f"ro-cedilla-share|cedilla:{RO_CEDILLA_LETTERS}|comma:{RO_COMMA_LETTERS}|norm:nfc"

    def sample_stats(self, hyps: list[str], refs: RefSets) -> np.ndarray:
        out = np.zeros((len(hyps), 2))
        for i, h in enumerate(hyps):
            h = unicodedata.normalize("NFC", h)
            out[i] = (sum(h.count(c) for c in RO_CEDILLA_LETTERS), sum(h.count(c) for c in RO_COMMA_LETTERS))
        return out

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        s = np.asarray(sums, dtype=float)
        total = s[..., 0] + s[..., 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total > 0, 100 * s[..., 0] / total, 0.0)

    def breakdown(self, sums: np.ndarray, n: int) -> dict[str, Any]:
        return {"cedilla": int(sums[0]), "comma_below": int(sums[1])}
