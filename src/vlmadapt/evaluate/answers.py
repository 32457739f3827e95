"""Answer parsers for the benchmark scorers, per language: yes/no, multiple-choice options, VQA answers.

Written by hand because the reference parsers are English-only or wrong for other languages: POPE's
parser calls every answer without an English "no"/"not" a **yes** (so "Non." and "Nu." count as yes),
lmms-eval and VLMEvalKit look for English letters and words only, and the official VQA normalisation
removes English articles and English number words only. The word tables live in `languages.py`.

Rules (each parser reports the rule that fired, so a report can show why an answer was read as it was):

yes/no (`parse_yes_no`), on the lowercased, diacritic-folded text:
  1. ``leading``: the first word is a yes/no word of the language (or of English) and ends its clause
     ("Non, il n'y a pas de chien." -> no; "Da, există o pisică." -> yes; "Si on regarde..." -> not here).
  2. ``hedge``: the first sentence declines to answer ("I'm not sure", "je ne sais pas", "nu știu"):
     unparsed, not "no" as POPE's parser would have it.
  3. ``cue``: the first word of the first sentence that affirms (yes, oui, da) or negates (not, n't, pas,
     aucun, nu, niciun, ...) decides ("Il n'y a pas de chien" -> no; "Nu există" -> no).
  4. otherwise **unparsed**: "There is a dog." has no yes/no signal and is never defaulted to yes.
  Only the first sentence is read, as in POPE; "There is a dog, not a cat." reads as no (rule 3).

options (`parse_option`), letters A, B, ... up to the number of choices:
  1. ``alone``: the first line is only a letter, maybe bracketed or followed by . ) : ("C", "(c)", "B.").
  2. ``labelled``: the answer starts with an upper-case letter followed by . ) or : and text ("B. 12 cm"),
     or with a bracketed letter ("(B) 12 cm", "b) 12 cm").
  3. ``phrase``: a letter after an answer phrase: "the answer is A", "la réponse est (B)", "răspunsul corect
     este C", "varianta B"; the letter must be upper case or bracketed and not start a word, so
     "The answer is a dog" or "Răspunsul este o pisică" is no letter. Text after the phrase that equals a
     choice also counts ("La réponse est 12 cm").
  4. ``bracketed``: one distinct bracketed upper-case letter anywhere ("I would pick (C) here").
  5. ``text``: the whole answer equals exactly one choice after VQA normalisation ("12 cm", "Douze cm" no).
  A letter outside the choices, or no rule, is **unparsed**. A bare "a" inside a sentence ("Il habite à
  Paris", "A fost o pisică") is never an option.

VQA normalisation (`normalize_vqa`): the official VQA steps (punctuation, periods not in numbers, commas
in numbers, lowercase, number words to digits, articles, English contractions) with the punctuation set
widened to all Unicode punctuation, French elisions split ("l'homme" -> "homme"), decimal commas read as
points in French and Romanian, and each language's articles and number words. A word that is both an
article and a number ("un", "une", "o") is a number when it is the whole answer, an article otherwise.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from vlmadapt.languages import LANGUAGES, Language, normalize

YesNo = Literal["yes", "no"]
PARSER_VERSION = "1"  # part of every scorer signature: bump when a rule changes


@dataclass(frozen=True)
class YesNoAnswer:
    label: YesNo | None  # None: unparsed
    rule: str  # leading | hedge | cue | unparsed
    cue: str = ""  # the word or phrase that decided


@dataclass(frozen=True)
class OptionAnswer:
    index: int | None  # None: unparsed
    rule: str  # alone | labelled | phrase | phrase-text | bracketed | text | out-of-range | unparsed
    cue: str = ""

    @property
    def letter(self) -> str | None:
        return None if self.index is None else option_letter(self.index)


def option_letter(index: int) -> str:
    return chr(ord("A") + index)


def _tables(lang: str) -> list[Language]:
    """The language's tables, then English's: models often answer in English whatever they are asked."""
    return [LANGUAGES[c] for c in dict.fromkeys((lang, "en")) if c in LANGUAGES]


# --- yes / no ------------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?;\n]")
_WORD = re.compile(r"[^\W_]+")
_ANSWER_PREFIX = {"answer", "reponse", "raspuns", "raspunsul"}  # "Answer: no", "Réponse : non"


def fold(text: str) -> str:
    """Lowercase without diacritics, apostrophes unified: "Adevărat" -> "adevarat", "n’y" -> "n'y"."""
    text = normalize(text, "und", lowercase=True)
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    """Folded words; English "n't" becomes "not" (isn't -> is not); apostrophes split words (n'y -> n, y)."""
    return _WORD.findall(re.sub(r"n't\b", " not", fold(text)))


def _first_sentence(text: str) -> str:
    parts = [p for p in _SENTENCE_END.split(text) if _WORD.search(p)]
    return parts[0] if parts else ""


@dataclass(frozen=True)
class _YesNoWords:
    yes: frozenset[str]  # decide as the first word
    no: frozenset[str]
    affirm: frozenset[str]  # decide anywhere in the first sentence
    negate: frozenset[str]
    hedges: tuple[tuple[str, tuple[str, ...]], ...]  # (phrase, its folded words)


@lru_cache(maxsize=16)
def _yes_no_words(lang: str) -> _YesNoWords:
    tables = _tables(lang)

    def words(attr: str) -> frozenset[str]:
        return frozenset(w for t in tables for word in getattr(t, attr) for w in _words(word))

    hedges = tuple((h, tuple(_words(h))) for t in tables for h in t.hedges)
    return _YesNoWords(words("yes"), words("no"), words("affirmations"), words("negations"), hedges)


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    k = len(phrase)
    return k > 0 and any(tuple(words[i : i + k]) == phrase for i in range(len(words) - k + 1))


def parse_yes_no(text: str, lang: str) -> YesNoAnswer:
    """Read a free-form answer to a yes/no question in `lang` (English also accepted); see module doc."""
    table = _yes_no_words(lang)
    sentence = _first_sentence(text)
    words = _words(sentence)
    while words and words[0] in _ANSWER_PREFIX:
        words = words[1:]
    if not words:
        return YesNoAnswer(None, "unparsed")
    if (words[0] in table.yes or words[0] in table.no) and _ends_clause(sentence, words[0]):
        return YesNoAnswer("yes" if words[0] in table.yes else "no", "leading", words[0])
    for hedge, hedge_words in table.hedges:
        if _contains(words, hedge_words):
            return YesNoAnswer(None, "hedge", hedge)
    for w in words:
        if w in table.negate or w in table.affirm:
            return YesNoAnswer("no" if w in table.negate else "yes", "cue", w)
    return YesNoAnswer(None, "unparsed")


def _ends_clause(sentence: str, first: str) -> bool:
    """True when the first word is followed by punctuation or nothing ("Non," "Yes" but not "Si on")."""
    folded = fold(sentence)
    m = re.search(rf"(?<![^\W_]){re.escape(first)}(?![^\W_])", folded)
    if m is None:
        return False
    rest = folded[m.end() :]
    return not rest.strip() or bool(re.match(r"\s*[^\w\s]", rest))


def pope_reference_parse(text: str) -> YesNo:
    """POPE's own rule (AoiDragon/POPE evaluate.py), kept to show and test what it gets wrong.

    First sentence (up to the first '.'), commas removed, split on spaces; "no" when the words include
    'No', 'not' or 'no' (case-sensitive), otherwise "yes" -- so "Non." and "Nu." are yes.
    """
    if "." in text:
        text = text.split(".")[0]
    words = text.replace(",", "").split(" ")
    return "no" if "No" in words or "not" in words or "no" in words else "yes"


# --- multiple-choice options ---------------------------------------------------------------------------

# Phrases after which a letter is the chosen option; matched case-insensitively on NFC text. English is
# accepted for every language. Romanian phrases also match without diacritics ("raspunsul").
_ANSWER_PHRASES: dict[str, tuple[str, ...]] = {
    "en": (
        r"(?:correct\s+|right\s+|final\s+|best\s+)?(?:answer|option|choice)(?:\s+is|\s*:)",
        r"(?:option|choice)",
    ),
    "fr": (
        r"(?:bonne\s+)?r[ée]ponse(?:\s+(?:correcte|exacte))?(?:\s+est|\s*:)",
        r"(?:bonne\s+)?(?:option|choix|lettre)(?:\s+(?:correcte|exacte))?(?:\s+est|\s*:)?",
    ),
    "ro": (
        r"r[ăa]spuns(?:ul)?(?:\s+corect)?(?:\s+(?:este|e)|\s*:)",
        r"(?:varianta|op[țt]iunea)(?:\s+corect[ăa])?(?:\s+(?:este|e)|\s*:)?",
    ),
}
_OPTION_WORD = r"(?i:option|l'option|varianta|op[țt]iunea|lettre|letter)"
_LETTER_AFTER = r"\s*(?:{word}\s*)?(?:\((?P<p>[A-Za-z])\)|\[(?P<b>[A-Za-z])\]|(?P<u>[A-Z])(?![^\W_]))"
_ALONE = re.compile(r"^[\(\[]?([A-Za-z])[\)\]]?\s*[.):]?$")
_LABELLED = re.compile(r"^(?:([A-Z])\s*[.):]|[\(\[]([A-Za-z])[\)\]]|([a-z])\))\s+\S")
_BRACKETED = re.compile(r"[\(\[]([A-Z])[\)\]]")
_MARKUP = str.maketrans({"*": " ", "`": " ", "#": " ", "_": " "})


@lru_cache(maxsize=16)
def _phrase_patterns(lang: str) -> tuple[list[re.Pattern[str]], list[re.Pattern[str]]]:
    """(phrase + letter, phrase + rest of the sentence) patterns for `lang` and English."""
    phrases = [p for code in dict.fromkeys((lang, "en")) for p in _ANSWER_PHRASES.get(code, ())]
    after = _LETTER_AFTER.format(word=_OPTION_WORD)
    # the phrase is case-insensitive and starts a word; the bare letter after it must be upper case
    letter = [re.compile(rf"(?<![^\W_])(?i:{p}){after}") for p in phrases]
    rest = [re.compile(rf"(?<![^\W_])(?i:{p})\s*(?P<rest>[^\n.!?;]+)") for p in phrases]
    return letter, rest


def parse_option(text: str, choices: list[str], lang: str) -> OptionAnswer:
    """The option index a free-form answer picks among `choices`; see module doc for the rules."""
    clean = normalize(text.translate(_MARKUP), lang).strip()
    first_line = clean.split("\n", 1)[0].strip() if clean else ""
    found = _letter_rules(clean, first_line, lang)
    if found is not None:
        letter, rule = found
        index = ord(letter.upper()) - ord("A")
        if 0 <= index < len(choices):
            return OptionAnswer(index, rule, letter)
        return OptionAnswer(None, "out-of-range", letter)
    by_text = _choice_by_text(clean, choices, lang)
    if by_text is not None:
        return OptionAnswer(by_text, "text", choices[by_text])
    for pattern in _phrase_patterns(lang)[1]:
        for m in pattern.finditer(clean):
            hit = _choice_by_text(m.group("rest"), choices, lang)
            if hit is not None:
                return OptionAnswer(hit, "phrase-text", choices[hit])
    return OptionAnswer(None, "unparsed")


def _letter_rules(clean: str, first_line: str, lang: str) -> tuple[str, str] | None:
    """(letter, rule) of the first letter rule that fires, or None."""
    m = _ALONE.match(first_line)
    if m:
        return m.group(1), "alone"
    m = _LABELLED.match(clean)
    if m:
        return next(g for g in m.groups() if g), "labelled"
    hits = [m for p in _phrase_patterns(lang)[0] for m in p.finditer(clean)]
    if hits:
        first = min(hits, key=lambda m: m.start())
        return next(first.group(g) for g in ("p", "b", "u") if first.group(g)), "phrase"
    bracketed = set(_BRACKETED.findall(clean))
    if len(bracketed) == 1:
        return bracketed.pop(), "bracketed"
    return None


def _choice_by_text(text: str, choices: list[str], lang: str) -> int | None:
    """The one choice equal to `text` after VQA normalisation, or None (none, or several equal)."""
    target = normalize_vqa(text, lang)
    if not target:
        return None
    hits = [i for i, c in enumerate(choices) if normalize_vqa(c, lang) == target]
    return hits[0] if len(hits) == 1 else None


# --- VQA answer normalisation ----------------------------------------------------------------------------

# The official VQA evaluation (vqaEval.py, Antol et al. 2015): its punctuation list, its period and comma
# rules and its English contraction table, which restores the apostrophe ("dont" -> "don't").
_VQA_PUNCT = set(';/[]"{}()=+\\_-><@`,?!')
_VQA_KEEP = set("'.")  # the apostrophe (contractions, elisions) and the period (own rule) stay here
_COMMA_IN_NUMBER = re.compile(r"(\d)(,)(\d)")
_PERIOD = re.compile(r"(?!<=\d)(\.)(?!\d)")  # sic: the official pattern drops a period unless a digit follows
_ELISION = re.compile(r"\b([^\W\d_]{1,2}')(?=[^\W_])")  # l'homme -> l' homme, d'eau -> d' eau
# the official table's entries with lower-case keys (it lowercases before looking up, so "Im" never hits)
_EN_CONTRACTED = (
    "ain't aren't can't could've couldn't couldn't've didn't doesn't don't hadn't hadn't've hasn't "
    "haven't he'd he'd've he's how'd how'll how's isn't it'd it'd've it'll ma'am mightn't mightn't've "
    "might've mustn't must've needn't not've o'clock oughtn't shan't she'd've she's should've shouldn't "
    "shouldn't've somebody'd've somebody'll somebody's someone'd someone'd've someone'll someone's "
    "something'd something'd've something'll that's there'd there'd've there're there's they'd they'd've "
    "they'll they're they've 'twas wasn't we'd've we've weren't what'll what're what's what've when's "
    "where'd where's where've who'd who'd've who'll who's who've why'll why're why's won't would've "
    "wouldn't wouldn't've y'all y'all'll y'all'd've you'd you'd've you'll you're you've"
)
_EN_CONTRACTIONS = {w.replace("'", ""): w for w in _EN_CONTRACTED.split()}
_EN_EXTRA_NUMBERS = {"none": "0"}  # the official map reads "none" as 0 (for counting questions)


def _is_punct(c: str) -> bool:
    """The official marks, and every non-ASCII Unicode punctuation mark (« » “ ” ¿ … – —)."""
    return c in _VQA_PUNCT or (c not in _VQA_KEEP and ord(c) > 127 and unicodedata.category(c)[0] == "P")


def _vqa_punctuation(text: str) -> str:
    """The official processPunctuation over the widened set of marks.

    Per kind of mark over the whole text: deleted when one of them touches a space (or when the text has a
    comma inside a number), else replaced by a space ("t-shirt" -> "t shirt"); then periods not followed
    by a digit go.
    """
    out = text
    number_comma = _COMMA_IN_NUMBER.search(text) is not None
    for p in _VQA_PUNCT | {c for c in text if _is_punct(c)}:
        if f"{p} " in text or f" {p}" in text or number_comma:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD.sub("", out)


def normalize_vqa(text: str, lang: str) -> str:
    """A VQA answer in canonical form for exact matching, with `lang`'s articles and number words."""
    table = LANGUAGES.get(lang)
    text = normalize(text.replace("\n", " ").replace("\t", " "), lang).strip()
    if lang in ("fr", "ro"):
        text = re.sub(r"(\d),(\d)", r"\1.\2", text)  # decimal comma: "3,5" is 3.5
    text = _vqa_punctuation(text)
    text = text.lower()
    if lang == "fr":
        text = _ELISION.sub(r"\1 ", text)
    words = text.split()
    numbers = dict(table.number_words) if table else {}
    articles = set(table.articles) if table else set()
    if lang == "en":
        numbers |= _EN_EXTRA_NUMBERS
    out = []
    for w in words:
        if w in articles and (w not in numbers or len(words) > 1):
            continue
        out.append(numbers.get(w, w))
    if lang == "en":
        out = [_EN_CONTRACTIONS.get(w, w) for w in out]
    return " ".join(out)


def vqa_matches(prediction: str, answers: list[str], lang: str) -> tuple[str, list[bool]]:
    """The normalised prediction and, per annotator answer, whether it matches exactly."""
    pred = normalize_vqa(prediction, lang)
    return pred, [bool(pred) and normalize_vqa(a, lang) == pred for a in answers]


def vqa_accuracy(prediction: str, answers: list[str], lang: str) -> float:
    """VQA accuracy in [0, 1]: the mean over leave-one-annotator-out subsets of min(1, matches / 3).

    With the usual ten answers this is the official formula (0, 0.3, 0.6, 0.9, 1 for 0..4+ matches).
    With fewer answers (translated references) three agreeing annotators cannot exist, so the threshold
    is min(3, n - 1); a single reference is an exact match.
    """
    if not answers:
        raise ValueError("VQA accuracy needs at least one reference answer")
    _, hits = vqa_matches(prediction, answers, lang)
    n, matches = len(hits), sum(hits)
    if n == 1:
        return float(matches)
    need = min(3, n - 1)
    return sum(min(1.0, (matches - hit) / need) for hit in hits) / n
