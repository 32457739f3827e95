"""Automatic checks of one translated record. Each gives a number (or None when it cannot judge).

=================  ===========================================================================  ========
feature            what it measures                                                             better
=================  ===========================================================================  ========
structure_errors   broken structure: lines, option markers, placeholders, URLs, numbers, and    lower
                   the record's answers / options / turns (protect.py, fields.py)
lang_conf          lingua's confidence that the translated text is in the target language,     higher
                   offline, among `candidates`; None under `min_chars` letters
length_dev         |ln(translated chars / source chars)|: 0 for equal length; None when short   lower
repetition         share of repeated word trigrams in the translation beyond the source's      lower
                   (models that loop write "the the the ...")
copy_share         share of the texts of >= 3 words left as they were (untranslated copies)     lower
=================  ===========================================================================  ========

Round-trip chrF, the LLM judge and COMET add `chrf_roundtrip`, `judge_mqm` and `comet` (their modules).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from vlmadapt.errors import VlmadaptError
from vlmadapt.languages import confusable, normalize, pack
from vlmadapt.records import Example
from vlmadapt.translate.fields import leaf_pairs, shape_problems
from vlmadapt.translate.protect import PLACEHOLDER, URL, text_problems

DEFAULT_CANDIDATES = ("en", "fr", "ro", "es", "it", "pt", "de")  # beside the target's `confusable`


def structure_problems(ex: Example) -> list[str]:
    """Every structure problem of a translated record, each naming its field."""
    found = shape_problems(ex)
    langs = (ex.source.lang if ex.source else "", ex.lang)
    for field, src, tgt in leaf_pairs(ex):
        found.extend(f"{field}: {p}" for p in text_problems(src, tgt, langs))
    return found


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def _plain(text: str) -> str:
    """The text without placeholders and URLs, which are in no language."""
    return URL.sub(" ", PLACEHOLDER.sub(" ", text))


def length_dev(pairs: Sequence[tuple[str, str, str]], min_chars: int) -> float | None:
    src = sum(len(_plain(s).strip()) for _, s, _ in pairs)
    tgt = sum(len(_plain(t).strip()) for _, _, t in pairs)
    if src < min_chars:
        return None
    return abs(math.log(max(tgt, 1) / src))


def _repeated_trigrams(text: str) -> float:
    words = text.lower().split()
    grams = list(zip(words, words[1:], words[2:], strict=False))
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def repetition(pairs: Sequence[tuple[str, str, str]]) -> float | None:
    """Repeated-trigram share of the translation minus the source's, at least 0, over texts of 6+ words."""
    long = [(s, t) for _, s, t in pairs if len(t.split()) >= 6]
    if not long:
        return None
    return max(max(_repeated_trigrams(t) - _repeated_trigrams(s), 0.0) for s, t in long)


def copy_share(pairs: Sequence[tuple[str, str, str]], source: str, target: str) -> float | None:
    """Share of texts with >= 3 words whose translation is the source text itself."""
    long = [(s, t) for _, s, t in pairs if len(_plain(s).split()) >= 3]
    if not long:
        return None
    same = sum(normalize(s, source, lowercase=True) == normalize(t, target, lowercase=True) for s, t in long)
    return same / len(long)


class LanguageId:
    """Offline language identification with lingua, among a fixed set of candidate languages."""

    def __init__(self, candidates: Sequence[str], target: str) -> None:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        codes = list(dict.fromkeys(pack(c).lingua or c for c in [*candidates, *confusable(target), target]))
        try:
            isos = [IsoCode639_1.from_str(c) for c in codes]
        except ValueError:
            raise VlmadaptError(
                f"quality.candidates: lingua does not know one of {', '.join(codes)} (ISO 639-1 codes)"
            ) from None
        self.target = Language.from_iso_code_639_1(IsoCode639_1.from_str(pack(target).lingua or target))
        self.detector = LanguageDetectorBuilder.from_iso_codes_639_1(*isos).build()

    def confidence(self, texts: Sequence[str]) -> list[float]:
        """Confidence, for each text, that it is in the target language."""
        return [self.detector.compute_language_confidence(t, self.target) for t in texts]


def record_checks(
    records: Sequence[Example], target: str, candidates: Sequence[str], min_chars: int
) -> list[dict[str, Any]]:
    """{feature: value} for every record, and the structure problems behind `structure_errors`."""
    langid = LanguageId(candidates, target)
    rows = []
    texts: list[str] = []
    for ex in records:
        pairs = leaf_pairs(ex)
        problems = structure_problems(ex)
        source = ex.source.lang if ex.source else target
        text = " ".join(_plain(t) for _, _, t in pairs)
        texts.append(text if _letters(text) >= min_chars else "")
        rows.append(
            {
                "structure_errors": len(problems),
                "length_dev": length_dev(pairs, min_chars),
                "repetition": repetition(pairs),
                "copy_share": copy_share(pairs, source, target),
                "problems": problems,
            }
        )
    scores = langid.confidence([t for t in texts if t])
    it = iter(scores)
    for row, text in zip(rows, texts, strict=True):
        row["lang_conf"] = next(it) if text else None
    return rows
