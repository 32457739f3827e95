"""Per-language rules: text normalisation and the small word tables that scorers and translation share.

Normalisation is written by hand because no maintained library folds Romanian cedilla letters or French
typographic spaces; everything else (tokenisation for BLEU, WER alignment) is left to sacrebleu and jiwer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from vlmadapt.errors import UnknownNameError

# Romanian: ş ţ (cedilla, legacy encodings) and ș ț (comma below, correct) are different code points;
# mixing them turns identical words into mismatches (one sentence's BLEU drops from 100 to 59.5).
_RO_CEDILLA_TO_COMMA = str.maketrans({"ş": "ș", "ţ": "ț", "Ş": "Ș", "Ţ": "Ț"})
RO_CEDILLA_LETTERS = "şţŞŢ"
RO_COMMA_LETTERS = "șțȘȚ"

# French typography: no-break space (U+00A0), narrow no-break space (U+202F), figure/thin spaces before
# ; : ! ? and inside guillemets; curly apostrophes (U+2019, U+02BC) vs the ASCII one.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u200a": " "})
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'", "\u00b4": "'"})
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    yes: tuple[str, ...]
    no: tuple[str, ...]
    articles: tuple[str, ...] = ()
    number_words: dict[str, str] = field(default_factory=dict)
    # Answer parsing (evaluate/answers.py). `yes`/`no` decide an answer only as its first word; these
    # decide it anywhere in the first sentence ("Il n'y a pas de chien", "Nu există"); hedges decline.
    affirmations: tuple[str, ...] = ()
    negations: tuple[str, ...] = ()
    hedges: tuple[str, ...] = ()


_EN_NUMBERS = {
    w: str(i)
    for i, w in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    )
}
_FR_NUMBERS = {
    w: str(i)
    for i, w in enumerate(
        ["zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix"]
    )
} | {"une": "1"}
_RO_NUMBERS = {
    w: str(i)
    for i, w in enumerate(
        ["zero", "unu", "doi", "trei", "patru", "cinci", "șase", "șapte", "opt", "nouă", "zece"]
    )
} | {"una": "1", "un": "1", "o": "1", "două": "2", "zeci": "10"}

LANGUAGES: dict[str, Language] = {
    "en": Language(
        "en",
        "English",
        yes=("yes", "yeah", "yep", "true", "correct"),
        no=("no", "nope", "not", "false", "none"),
        articles=("a", "an", "the"),
        number_words=_EN_NUMBERS,
        affirmations=("yes", "yeah", "yep"),
        negations=("no", "not", "none", "nope", "never", "neither", "nor"),
        hedges=(
            "not sure",
            "unsure",
            "don't know",
            "do not know",
            "cannot tell",
            "can't tell",
            "cannot determine",
            "can't determine",
            "cannot be determined",
            "unclear",
            "impossible to tell",
        ),
    ),
    "fr": Language(
        "fr",
        "French",
        yes=("oui", "ouais", "vrai", "exact", "si"),
        no=("non", "pas", "aucun", "aucune", "faux", "ni"),
        articles=("le", "la", "les", "l'", "un", "une", "des", "du", "de", "d'"),
        number_words=_FR_NUMBERS,
        affirmations=("oui", "ouais"),
        negations=("non", "pas", "aucun", "aucune", "jamais", "ni", "rien"),
        hedges=(
            "ne sais pas",
            "sais pas",
            "pas sûr",
            "pas sûre",
            "pas certain",
            "pas certaine",
            "impossible de dire",
            "impossible de déterminer",
            "difficile de dire",
            "ne peux pas dire",
        ),
    ),
    "ro": Language(
        "ro",
        "Romanian",
        yes=("da", "adevărat", "corect", "desigur"),
        no=("nu", "niciun", "nicio", "fals"),
        articles=("un", "o", "niște"),  # indefinite; the definite article is a suffix ("câinele")
        number_words=_RO_NUMBERS,
        affirmations=("da",),
        negations=("nu", "niciun", "nicio", "nici", "nimic", "niciodată"),
        hedges=(
            "nu știu",
            "nu sunt sigur",
            "nu sunt sigură",
            "nu pot spune",
            "nu pot determina",
            "nu se poate determina",
            "nu se poate spune",
            "neclar",
        ),
    ),
}


def language(code: str) -> Language:
    try:
        return LANGUAGES[code]
    except KeyError:
        raise UnknownNameError("language", code, list(LANGUAGES)) from None


def fold_romanian(text: str) -> str:
    """Cedilla ş ţ Ş Ţ -> comma-below ș ț Ș Ț."""
    return text.translate(_RO_CEDILLA_TO_COMMA)


def normalize(text: str, lang: str, *, lowercase: bool = False, strip_punct: bool = False) -> str:
    """NFC, per-language letter and typography fixes, collapsed whitespace; optional case and punctuation.

    Applied to hypotheses and references alike before every metric. Punctuation removal is
    Unicode-aware (every category P* character), so « » and ’ go too, while letters with diacritics stay.
    """
    text = unicodedata.normalize("NFC", text)
    if lang == "ro":
        text = fold_romanian(text)
    text = text.translate(_SPACES).translate(_APOSTROPHES)
    if lowercase:
        text = text.lower()
    if strip_punct:
        text = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text)
    return _WS.sub(" ", text).strip()
