"""Word-level rules for synthesized QA: content words, lexical grounding, near-duplicates, caption mentions.

Words are compared lowercased and without diacritics (`evaluate.answers.fold`), because models and
captions mix "câine" / "caine" and cedilla / comma-below letters; the records keep the original text.
Number words become digits ("două" -> "2"), so an answer "2" is grounded by a caption saying "Două fete".
Inflection is matched by a shared prefix (`same_word`): "câinele" / "câinii" / "câine", "chiens" / "chien",
"dogs" / "dog". The stop lists are small and written here because nltk's need a corpus download and no
maintained offline package covers Romanian and French with the question words these checks must skip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from vlmadapt.evaluate.answers import fold
from vlmadapt.languages import WORD, normalize, pack, pack_cache

_WORD = WORD


@pack_cache
def stopwords(lang: str) -> frozenset[str]:
    """Words that are never content: function words, question words, "be / have / there is" and the words
    for "image" (the pack's synthesis.stopwords), and its articles and yes/no words."""
    known = pack(lang)
    given = [*known.synthesis.stopwords, *known.articles, *known.yes, *known.no]
    return frozenset(w for text in given for w in _WORD.findall(fold(text)))


@pack_cache
def _numbers(lang: str) -> dict[str, str]:
    return {fold(w): d for w, d in pack(lang).number_words.items()}


def words(text: str, lang: str) -> list[str]:
    """Folded words with number words as digits: "Două fete în ploaie" -> ["2", "fete", "in", "ploaie"]."""
    numbers = _numbers(lang)
    return [numbers.get(w, w) for w in _WORD.findall(fold(normalize(text, lang)))]


def content_words(text: str, lang: str, keep: frozenset[str] = frozenset()) -> list[str]:
    """The words of `text` that a caption has to support: no articles, function or question words
    (except those in `keep`)."""
    stop = stopwords(lang) - keep
    numbers = _numbers(lang)
    out = []
    for w in _WORD.findall(fold(normalize(text, lang))):
        if w in stop:  # before number mapping: Romanian "un" / "o" are articles first
            continue
        out.append(numbers.get(w, w))
    return out


def same_word(a: str, b: str) -> bool:
    """Equal, or one inflection of the other: a prefix plus at most 3 letters ("dog" / "dogs"), or a shared
    stem of at least 4 letters missing at most 2 of the shorter word ("câine" / "câinii", "femeie" /
    "femeia"). Digits must be equal. "mare" / "maro" and "masă" / "mașină" stay different."""
    if a == b:
        return True
    if a.isdigit() or b.isdigit():
        return False
    short, long = sorted((a, b), key=len)
    if len(short) >= 3 and long.startswith(short) and len(long) - len(short) <= 3:
        return True
    shared = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), len(short))
    return len(short) >= 5 and shared >= max(4, len(short) - 2)


def caption_vocabulary(captions: Iterable[str], lang: str) -> frozenset[str]:
    """Every folded word of the captions, stop words included ("Nu" in a caption grounds nothing anyway)."""
    return frozenset(w for c in captions for w in words(c, lang))


def occurs(word: str, vocabulary: frozenset[str]) -> bool:
    return word in vocabulary or any(same_word(word, v) for v in vocabulary)


def ungrounded(text: str, vocabulary: frozenset[str], lang: str) -> list[str]:
    """The content words of `text` that occur in none of the captions (an empty list: all grounded)."""
    return [w for w in content_words(text, lang) if not occurs(w, vocabulary)]


@pack_cache
def _mentions(lang: str) -> re.Pattern[str] | None:
    patterns = [  # a word start where words are spaced; anywhere in text without spaces
        (r"\b" if pack(code).spaced else "") + re.escape(fold(stem))
        for code in dict.fromkeys((lang, "en"))
        for stem in pack(code).synthesis.mention_stems
    ]
    return re.compile("|".join(patterns)) if patterns else None


def mentions_captions(text: str, lang: str) -> bool:
    """True when the text talks about the caption / description / legend rather than the image (a
    question that mentions the source text gives the game away: "What does the caption say?")."""
    pattern = _mentions(lang)
    return pattern is not None and pattern.search(fold(text)) is not None


def token_similarity(a: str, b: str, lang: str) -> float:
    """Jaccard similarity of the two texts' content and question words: "Ce ține bărbatul în mână?" and
    "Ce ține bărbatul în mâna sa?" score 1.0, "Unde este pisica?" and "Există o pisică în imagine?" 0.5."""
    keep = frozenset(fold(w) for w in pack(lang).synthesis.interrogatives)
    ta, tb = set(content_words(a, lang, keep)), set(content_words(b, lang, keep))
    if not ta or not tb:
        return float(words(a, lang) == words(b, lang))
    return len(ta & tb) / len(ta | tb)


def chrf_similarity(a: str, b: str, lang: str) -> float:
    """chrF (sacrebleu) of the normalised texts, averaged over both directions, in [0, 1]."""
    from sacrebleu.metrics import CHRF

    metric = CHRF()
    x, y = normalize(a, lang, lowercase=True), normalize(b, lang, lowercase=True)
    return (metric.sentence_score(x, [y]).score + metric.sentence_score(y, [x]).score) / 200


def near_duplicate(text: str, kept: Sequence[str], lang: str, method: str, threshold: float) -> str | None:
    """The first of `kept` that `text` repeats (similarity >= threshold), or None."""
    score = chrf_similarity if method == "chrf" else token_similarity
    for other in kept:
        if score(text, other, lang) >= threshold:
            return other
    return None
