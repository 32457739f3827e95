"""Answer parsers for the benchmark scorers, per language: yes/no, multiple-choice options, VQA answers.

Written by hand because the reference parsers are English-only or wrong for other languages: POPE's
parser calls every answer without an English "no"/"not" a **yes** (so "Non." and "Nu." count as yes),
lmms-eval and VLMEvalKit look for English letters and words only, and the official VQA normalisation
removes English articles and English number words only. The words are each language's pack
(`vlmadapt.languages`); the code names no language.

Rules (each parser reports the rule that fired, so a report can show why an answer was read as it was):

yes/no (`parse_yes_no`), on the lowercased, diacritic-folded text (for a language written without spaces,
zh / ja / th, "word" below means a substring: the longest yes/no word the answer starts with, and the
earliest cue in it, 没有 before 有):
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
  5. ``copula``: an upper-case letter after a copula or opinion phrase of the pack ("Je pense que c'est
     B.", "Cred că este D.", "Ich glaube, es ist C."); a letter that is also a word of the language
     (``options.letter_words``: "A", "O", "À") counts only where its clause ends ("Cred că este O pisică"
     is no letter), and a sentence such a word starts never names an option.
  6. ``text``: the whole answer equals exactly one choice after VQA normalisation ("12 cm", "Douze cm" no).
  A letter outside the choices, or no rule, is **unparsed**. A bare "a" inside a sentence ("Il habite à
  Paris", "A fost o pisică") is never an option.

VQA normalisation (`normalize_vqa`): the official VQA steps (punctuation, periods not in numbers, commas
in numbers, lowercase, number words to digits, articles, English contractions) with the punctuation set
widened to all Unicode punctuation, elisions split where the pack says so ("l'homme" -> "homme"),
decimal commas read as points where the pack says so, each language's casing (Turkish İ/ı), articles,
number words (hyphenated ones too: "dix-sept" -> 17) and contractions; in languages without spaces, the
spaces between their letters go. A word that is both an
article and a number ("un", "une", "o") is a number when it is the whole answer, an article otherwise.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from vlmadapt.languages import (
    UNDETERMINED,
    WORD,
    WORD_END,
    WORD_START,
    Language,
    lowercase,
    normalize,
    pack,
    pack_cache,
)

YesNo = Literal["yes", "no"]
PARSER_VERSION = "2"  # part of every scorer signature: bump when a rule changes


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
    """The language's pack, then English's: models often answer in English whatever they are asked."""
    return [pack(c) for c in dict.fromkeys((lang, "en"))]


# --- yes / no ------------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?;\n。！？؟؛।]")
_WORD = WORD  # letters, digits and combining marks (Indic vowel signs, Thai tone marks)
_FOLDED_SCRIPTS = 0x0530  # diacritics are folded on Latin, Greek and Cyrillic letters only


def fold(text: str, lang: str = UNDETERMINED) -> str:
    """Lowercase without diacritics, apostrophes unified: "Adevărat" -> "adevarat", "n’y" -> "n'y".

    Only marks on Latin, Greek and Cyrillic letters go: Devanagari vowel signs, Thai tone marks, kana
    voicing marks and Hangul stay what they are (they are letters of their words, not accents).
    """
    text = normalize(text, lang, lowercase=True)
    if not pack(lang).normalize.fold_diacritics:
        return text
    out: list[str] = []
    base = 0
    for c in unicodedata.normalize("NFD", text):
        if unicodedata.combining(c):
            if base >= _FOLDED_SCRIPTS:
                out.append(c)
            continue
        base = ord(c)
        out.append(c)
    return unicodedata.normalize("NFC", "".join(out))


def _words(text: str, lang: str = UNDETERMINED) -> list[str]:
    """Folded words; English "n't" becomes "not" (isn't -> is not); apostrophes split words (n'y -> n, y)."""
    return _WORD.findall(re.sub(r"n't\b", " not", fold(text, lang)))


def _first_sentence(text: str) -> str:
    parts = [p for p in _SENTENCE_END.split(text) if _WORD.search(p)]
    return parts[0] if parts else ""


@dataclass(frozen=True)
class _YesNoWords:
    """One pack's yes/no words, folded; for a language written without spaces, matched as substrings."""

    spaced: bool
    yes: frozenset[str]  # decide as the first word
    no: frozenset[str]
    affirm: frozenset[str]  # decide anywhere in the first sentence
    negate: frozenset[str]
    hedges: tuple[tuple[str, tuple[str, ...]], ...]  # (phrase, its folded words)
    prefixes: tuple[tuple[str, ...], ...]  # "Answer:", "Réponse :" before the answer


@pack_cache
def _yes_no_words(lang: str) -> tuple[_YesNoWords, ...]:
    own = pack(lang)
    skip = frozenset(w for item in own.not_english for w in _units(item, lang, own.spaced))
    return tuple(_pack_yes_no_words(t, skip if t.code != lang else frozenset()) for t in _tables(lang))


def _pack_yes_no_words(table: Language, skip: frozenset[str]) -> _YesNoWords:
    def words(items: list[str]) -> frozenset[str]:
        return frozenset(w for item in items for w in _units(item, table.code, table.spaced)) - skip

    return _YesNoWords(
        table.spaced,
        words(table.yes),
        words(table.no),
        words(table.affirmations),
        words(table.negations),
        tuple((h, tuple(_units(h, table.code, table.spaced))) for h in table.hedges),
        tuple(tuple(_units(p, table.code, table.spaced)) for p in table.answer_prefixes),
    )


def _units(text: str, lang: str, spaced: bool) -> list[str]:
    """Words of a spaced language; for one without spaces, the folded text as one unit, spaces removed."""
    if spaced:
        return _words(text, lang)
    unit = "".join(_words(text, lang))
    return [unit] if unit else []


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    k = len(phrase)
    return k > 0 and any(tuple(words[i : i + k]) == phrase for i in range(len(words) - k + 1))


def parse_yes_no(text: str, lang: str) -> YesNoAnswer:
    """Read a free-form answer to a yes/no question in `lang` (English also accepted); see module doc."""
    sentence = _first_sentence(text)
    tables = _yes_no_words(lang)
    # where words run together, a hedge is read first: 不是很确定 starts with 不是 (no) but is unsure
    rules = (_leading, _hedge) if pack(lang).spaced else (_hedge, _leading)
    for rule in rules:
        for table in tables:
            found = rule(sentence, table, lang)
            if found is not None:
                return found
    cues = [cue for table in tables if (cue := _cue(sentence, table, lang)) is not None]
    if cues:  # the earliest cue, whichever table it is from
        return min(cues, key=lambda c: c[0])[1]
    return YesNoAnswer(None, "unparsed")


def _strip_prefixes(words: list[str], table: _YesNoWords) -> list[str]:
    stripped = True
    while stripped and words:
        stripped = False
        for prefix in table.prefixes:
            if prefix and tuple(words[: len(prefix)]) == prefix:
                words, stripped = words[len(prefix) :], True
    return words


def _leading(sentence: str, table: _YesNoWords, lang: str) -> YesNoAnswer | None:
    if table.spaced:
        words = _strip_prefixes(_words(sentence, lang), table)
        if (
            words
            and (words[0] in table.yes or words[0] in table.no)
            and _ends_clause(sentence, words[0], lang)
        ):
            return YesNoAnswer("yes" if words[0] in table.yes else "no", "leading", words[0])
        return None
    text = "".join(_words(sentence, lang))
    for prefix in table.prefixes:  # 答え：はい
        if prefix and text.startswith(prefix[0]):
            text = text[len(prefix[0]) :]
    hits = [w for w in table.yes | table.no if text.startswith(w)]
    if not hits:
        return None
    word = max(hits, key=len)  # 没有 (no) before 有 (yes)
    return YesNoAnswer("yes" if word in table.yes else "no", "leading", word)


def _hedge(sentence: str, table: _YesNoWords, lang: str) -> YesNoAnswer | None:
    words = _words(sentence, lang)
    text = "".join(words)
    for hedge, hedge_words in table.hedges:
        if _contains(words, hedge_words) if table.spaced else (hedge_words and hedge_words[0] in text):
            return YesNoAnswer(None, "hedge", hedge)
    return None


def _cue(sentence: str, table: _YesNoWords, lang: str) -> tuple[int, YesNoAnswer] | None:
    """(position, answer) of the first affirming or negating word in the sentence."""
    text = fold(sentence, lang).replace("n't", " not")
    if table.spaced:
        for m in _WORD.finditer(text):
            w = m.group()
            if w in table.negate or w in table.affirm:
                return m.start(), YesNoAnswer("no" if w in table.negate else "yes", "cue", w)
        return None
    hits = [(text.find(w), -len(w), w) for w in table.negate | table.affirm if w in text]
    if not hits:
        return None
    pos, _, word = min(hits)  # the earliest, the longest at one place: 没有 before 有
    return pos, YesNoAnswer("no" if word in table.negate else "yes", "cue", word)


def _ends_clause(sentence: str, first: str, lang: str) -> bool:
    """True when the first word is followed by punctuation or nothing ("Non," "Yes" but not "Si on")."""
    folded = fold(sentence, lang)
    m = re.search(rf"{WORD_START}{re.escape(first)}{WORD_END}", folded)
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

# A letter after a phrase: bracketed, or upper case and not starting a word ("la réponse est (B)", "die
# Antwort ist C"), maybe after an option word ("la réponse est l'option B").
# The letter may be followed by letters of another script (答えはBです, 정답은 B입니다), not by Latin ones.
_NO_LATIN_AFTER = r"(?![A-Za-z\u00c0-\u024f])"
_LETTER_AFTER = (
    r"\s*(?:{word}\s*)?(?:\((?P<p>[A-Za-z])\)|\[(?P<b>[A-Za-z])\]|(?P<u>[A-Z])" + _NO_LATIN_AFTER + ")"
)
_ALONE = re.compile(r"^[\(\[]?([A-Za-z])[\)\]]?\s*[.):]?$")
_LABELLED = re.compile(r"^(?:([A-Z])\s*[.):]|[\(\[]([A-Za-z])[\)\]]|([a-z])\))\s+\S")
_BRACKETED = re.compile(r"[\(\[]([A-Z])[\)\]]")
_MARKUP = str.maketrans({"*": " ", "`": " ", "#": " ", "_": " "})
_CLAUSE_END = r"(?=\s*(?:[.!?,;:)\]。！？]|$))"


@dataclass(frozen=True)
class _OptionPatterns:
    letter: list[re.Pattern[str]]  # phrase + letter
    rest: list[re.Pattern[str]]  # phrase + the rest of its sentence (to match a choice's text)
    copula: list[re.Pattern[str]]  # "c'est B", "este D": a letter after a copula
    letter_words: frozenset[str]  # "A", "À", "O": words of the language that look like a letter


@pack_cache
def _option_patterns(lang: str) -> _OptionPatterns:
    """The patterns of `lang` and English (phrases are case-insensitive and start a word)."""
    tables = _tables(lang)
    words = [re.escape(w) for t in tables for w in t.options.option_words]
    word = f"(?i:{'|'.join(sorted(words, key=len, reverse=True))})" if words else "(?!)"
    after = _LETTER_AFTER.format(word=word)
    start = {t.code: "" if not t.spaced else WORD_START for t in tables}
    letter = [re.compile(rf"{start[t.code]}(?i:{p}){after}") for t in tables for p in t.options.phrases]
    rest = [
        re.compile(rf"{start[t.code]}(?i:{p})\s*(?P<rest>[^\n.!?;。！？]+)")
        for t in tables
        for p in t.options.phrases
    ]
    gap = {t.code: r"\s+" if t.spaced else r"\s*" for t in tables}
    copula = [
        re.compile(
            rf"{start[t.code]}(?i:{re.escape(c)}){gap[t.code]}(?:\((?P<p>[A-Za-z])\)|(?P<u>[A-Z]){_NO_LATIN_AFTER})"
        )
        for t in tables
        for c in sorted(t.options.copulas, key=len, reverse=True)
    ]
    copula += [  # verb-final: Cです, C라고 생각합니다
        re.compile(rf"(?<![A-Za-z\u00c0-\u024f])(?:\((?P<p>[A-Za-z])\)|(?P<u>[A-Z]))\s*(?i:{re.escape(a)})")
        for t in tables
        for a in sorted(t.options.after_letter, key=len, reverse=True)
    ]
    return _OptionPatterns(letter, rest, copula, frozenset(w for t in tables for w in t.options.letter_words))


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
    for pattern in _option_patterns(lang).rest:
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
    patterns = _option_patterns(lang)
    hits = [m for p in patterns.letter for m in p.finditer(clean)]
    if hits:
        first = min(hits, key=lambda m: m.start())
        return next(first.group(g) for g in ("p", "b", "u") if first.group(g)), "phrase"
    bracketed = set(_BRACKETED.findall(clean))
    if len(bracketed) == 1:
        return bracketed.pop(), "bracketed"
    copulas = [m for p in patterns.copula for m in p.finditer(clean) if _names_letter(m, clean, patterns)]
    if copulas:
        first = min(copulas, key=lambda m: m.start())
        return first.group("p") or first.group("u"), "copula"
    return None


def _names_letter(m: re.Match[str], clean: str, patterns: _OptionPatterns) -> bool:
    """A copula's letter is an option unless it is a word of the language going on ("este O pisică")."""
    if m.group("p"):
        return True
    return m.group("u") not in patterns.letter_words or re.match(_CLAUSE_END, clean[m.end() :]) is not None


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
_BETWEEN_UNSPACED = re.compile(r"(?<=[^\x00-\u024f])\s+(?=[^\x00-\u024f])")


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


@dataclass(frozen=True)
class _VqaWords:
    articles: frozenset[str]
    numbers: dict[str, str]
    phrases: tuple[tuple[re.Pattern[str], str], ...]  # number words with a hyphen or space: "dix-sept"
    contractions: dict[str, str]


@pack_cache
def _vqa_words(lang: str) -> _VqaWords:
    table = pack(lang)
    numbers = {
        normalize(w, lang, lowercase=True): str(d) for w, d in (table.numbers | table.answer_numbers).items()
    }
    phrases = tuple(
        (re.compile(rf"{WORD_START}{re.escape(w)}{WORD_END}"), d)
        for w, d in sorted(numbers.items(), key=lambda kv: -len(kv[0]))
        if not _WORD.fullmatch(w)
    )
    contractions = {lowercase(k, lang): v for k, v in table.contractions.items()}
    articles = frozenset(normalize(a, lang, lowercase=True) for a in table.articles)
    return _VqaWords(articles, numbers, phrases, contractions)


def normalize_vqa(text: str, lang: str) -> str:
    """A VQA answer in canonical form for exact matching, with `lang`'s articles and number words.

    A word that is both an article and a number is a number when it is the whole answer; an answer made
    of articles only keeps its last word ("a" read off a sign, "the A"), so that it can match, where the
    official code makes it the empty string (which matches only because an empty prediction does too).
    """
    table = pack(lang)
    words_of = _vqa_words(lang)
    text = normalize(text.replace("\n", " ").replace("\t", " "), lang).strip()
    if table.normalize.decimal_comma:
        text = re.sub(r"(\d),(\d)", r"\1.\2", text)  # decimal comma: "3,5" is 3.5
    text = lowercase(text, lang)
    for pattern, digits in words_of.phrases:
        text = pattern.sub(digits, text)
    text = _vqa_punctuation(text)
    if table.normalize.elision:
        text = _ELISION.sub(r"\1 ", text)
    if not table.spaced:
        text = _BETWEEN_UNSPACED.sub("", text).strip()
        return words_of.numbers.get(text, text)
    words = text.split()
    numbers, articles = words_of.numbers, words_of.articles
    kept = [w for w in words if w not in articles] or words[-1:]  # "a" alone, "the A": the letter stays
    return " ".join(words_of.contractions.get(w, w) for w in (numbers.get(w, w) for w in kept))


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
