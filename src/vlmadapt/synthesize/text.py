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
from functools import lru_cache

from vlmadapt.evaluate.answers import fold
from vlmadapt.languages import LANGUAGES, normalize

_WORD = re.compile(r"[^\W_]+")

# Function words, question words, "be / have / there is", and the words for "image": none of them says
# anything a caption must support. Folded forms (no diacritics).
_STOP: dict[str, str] = {
    "en": """a an the some and or but of in on at to from with without by for into onto over under near
        next behind front top is are was were be been being am do does did doing has have had there here
        this that these those it its he she they them his her their him who what which where when why how
        whose whom any one's image picture photo photograph scene shown seen visible can could would
        should will may might very also just s""",
    "fr": """le la les l un une des du de d et ou mais a au aux en dans sur sous avec sans pour par vers pres
        devant derriere entre chez est sont etait etaient etre ont avoir il elle ils elles on y ce c cet
        cette ces qu que qui quoi quel quelle quels quelles comment combien pourquoi quand image photo
        photographie scene voit se s son sa ses leur leurs t n j m ne pas""",
    "ro": """un o niste unui unei unor cel cea cei cele lui ei lor al a ai ale si sau dar de la in pe cu din
        spre pentru langa sub peste dupa intre catre fara prin printre despre este e sunt era erau fi fost
        are au avea exista ce cine care unde cand cum cat cata cati cate fel imagine imaginea fotografie
        fotografia poza scena se vede vad acesta aceasta acest aceste acestia asta acolo aici el ea ele il
        sa sale sai isi vreun vreo""",
}

# Question words: not content a caption must support, but they tell "Where is the cat?" from "Is there a
# cat?", so near-duplicate detection keeps them.
_INTERROGATIVES: dict[str, str] = {
    "en": "what which who whom whose where when why how",
    "fr": "que quoi quel quelle quels quelles qui ou comment combien pourquoi quand",
    "ro": "ce cine care unde cand cum cat cata cati cate",
}

# A question that mentions the source text gives the game away ("What does the caption say?").
_MENTIONS = re.compile(r"\b(caption|descri|legend|mention|subtitl|sentence|propozit|phrase)\w*")


@lru_cache(maxsize=16)
def stopwords(lang: str) -> frozenset[str]:
    """Words that are never content: the table above plus the language's articles and yes/no words."""
    known = LANGUAGES.get(lang)
    extra = [*known.articles, *known.yes, *known.no] if known else []
    return frozenset(w for text in (_STOP.get(lang, ""), *extra) for w in _WORD.findall(fold(text)))


@lru_cache(maxsize=16)
def _numbers(lang: str) -> dict[str, str]:
    known = LANGUAGES.get(lang)
    return {fold(w): d for w, d in known.number_words.items()} if known else {}


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


def mentions_captions(text: str) -> bool:
    """True when the text talks about the caption / description / legend rather than the image."""
    return bool(_MENTIONS.search(fold(text)))


def token_similarity(a: str, b: str, lang: str) -> float:
    """Jaccard similarity of the two texts' content and question words: "Ce ține bărbatul în mână?" and
    "Ce ține bărbatul în mâna sa?" score 1.0, "Unde este pisica?" and "Există o pisică în imagine?" 0.5."""
    keep = frozenset(_INTERROGATIVES.get(lang, "").split())
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
