"""Answer parsing in English, French and Romanian: yes/no, multiple-choice options, VQA normalisation.

Expected values are written by hand. The POPE reference rule is re-implemented here from its public code
(AoiDragon/POPE evaluate.py) to show what it gets wrong on French and Romanian answers.
"""

from __future__ import annotations

import pytest

from vlmadapt.evaluate.answers import (
    normalize_vqa,
    parse_option,
    parse_yes_no,
    pope_reference_parse,
    vqa_accuracy,
)


def pope_reference(text: str) -> str:
    """POPE's evaluate.py, line for line: first sentence, commas out, split on ' ', 'No'/'not'/'no' -> no."""
    if text.find(".") != -1:
        text = text.split(".")[0]
    text = text.replace(",", "")
    words = text.split(" ")
    if "No" in words or "not" in words or "no" in words:
        return "no"
    return "yes"


YES_NO = [
    # text, lang, label, rule
    ("Non, il n'y a pas de chien.", "fr", "no", "leading"),
    ("Non.", "fr", "no", "leading"),
    ("NON !", "fr", "no", "leading"),
    ("Oui.", "fr", "yes", "leading"),
    ("oui, il y a un chien sur la photo", "fr", "yes", "leading"),
    ("Il n\u2019y a pas de chien.", "fr", "no", "cue"),  # ne ... pas, curly apostrophe
    ("Il n'y a aucun chien dans l'image.", "fr", "no", "cue"),
    ("Si on regarde bien, il y a un chien.", "fr", None, "unparsed"),  # "si" = "if" here, not yes
    ("Je ne sais pas.", "fr", None, "hedge"),
    ("Il y a un chien.", "fr", None, "unparsed"),
    ("Nu.", "ro", "no", "leading"),
    ("Da, există o pisică.", "ro", "yes", "leading"),
    ("Nu există nicio pisică în imagine.", "ro", "no", "cue"),
    ("În imagine nu se vede niciun câine.", "ro", "no", "cue"),
    ("ADEVARAT", "ro", "yes", "leading"),  # no diacritics, upper case
    ("Nu ştiu.", "ro", None, "hedge"),  # cedilla ş
    ("Există o pisică.", "ro", None, "unparsed"),
    ("No, there is no dog", "en", "no", "leading"),
    ("Yes", "en", "yes", "leading"),
    ("**Yes**, a dog.", "en", "yes", "leading"),
    ("Answer: no", "en", "no", "leading"),
    ("There isn't a dog.", "en", "no", "cue"),
    ("I'm not sure.", "en", None, "hedge"),
    ("There is a dog.", "en", None, "unparsed"),
    ("", "en", None, "unparsed"),
    ("Yes.", "fr", "yes", "leading"),  # English answers to French questions are read too
]


@pytest.mark.parametrize(("text", "lang", "label", "rule"), YES_NO)
def test_yes_no(text: str, lang: str, label: str | None, rule: str) -> None:
    got = parse_yes_no(text, lang)
    assert (got.label, got.rule) == (label, rule)


@pytest.mark.parametrize(
    ("text", "lang", "gold", "reference", "ours"),
    [
        ("Non.", "fr", "no", "yes", "no"),
        ("Nu.", "ro", "no", "yes", "no"),
        ("Non, il n'y a pas de chien.", "fr", "no", "yes", "no"),
        ("Nu există nicio pisică.", "ro", "no", "yes", "no"),
        ("No, there is no dog.", "en", "no", "no", "no"),  # English: both agree
        # no yes/no signal: the reference guesses yes, we report it unparsed
        ("Je ne sais pas.", "fr", "yes", "yes", None),
        ("There is a dog.", "en", "no", "yes", None),
    ],
)
def test_pope_reference_parser_calls_french_and_romanian_no_a_yes(
    text: str, lang: str, gold: str, reference: str, ours: str | None
) -> None:
    assert pope_reference(text) == pope_reference_parse(text) == reference
    got = parse_yes_no(text, lang).label
    assert got == ours
    assert got is None or got == gold


CHOICES = ["8 cm", "12 cm", "15 cm"]

OPTIONS = [
    # text, lang, index, rule
    ("La réponse est (B)", "fr", 1, "phrase"),
    ("La bonne réponse est C.", "fr", 2, "phrase"),
    ("Réponse : A", "fr", 0, "phrase"),
    ("Răspunsul corect este C", "ro", 2, "phrase"),
    ("Raspunsul este B.", "ro", 1, "phrase"),  # no diacritics
    ("Varianta A", "ro", 0, "phrase"),
    ("The answer is A.", "en", 0, "phrase"),
    ("Option B is correct.", "en", 1, "phrase"),
    ("B. 12 cm", "fr", 1, "labelled"),
    ("(C) 15 cm", "ro", 2, "labelled"),
    ("b) 12 cm", "en", 1, "labelled"),
    ("(C)", "fr", 2, "alone"),
    ("B", "ro", 1, "alone"),
    ("**A**", "en", 0, "alone"),
    ("Je choisirais (C) ici.", "fr", 2, "bracketed"),
    ("12 cm", "fr", 1, "text"),
    ("12 CM.", "ro", 1, "text"),
    ("La réponse est 15 cm.", "fr", 2, "phrase-text"),
    ("E", "en", None, "out-of-range"),
    # a lone "a"/"A" in running text is a word, never option A
    ("Il va à Paris.", "fr", None, "unparsed"),
    ("A Paris.", "fr", None, "unparsed"),
    ("Elle habite a Paris", "fr", None, "unparsed"),
    ("A fost o pisică.", "ro", None, "unparsed"),
    ("The answer is a ruler.", "en", None, "unparsed"),
    ("Je ne sais pas.", "fr", None, "unparsed"),
    # a letter after a copula or an opinion phrase names the option...
    ("Je pense que c'est B.", "fr", 1, "copula"),
    ("À mon avis, c\u2019est C.", "fr", 2, "copula"),
    ("Cred că este C.", "ro", 2, "copula"),
    ("Cred ca e A, pentru că e mai lung.", "ro", 0, "copula"),
    ("I think it is B.", "en", 1, "copula"),
    # ...but not a word of the language that looks like a letter, and a sentence "À" / "A" starts is no option
    ("Cred că este O pisică.", "ro", None, "unparsed"),
    ("À la plage, c'est calme.", "fr", None, "unparsed"),
    ("A fost B.", "ro", None, "unparsed"),
]


@pytest.mark.parametrize(("text", "lang", "index", "rule"), OPTIONS)
def test_option(text: str, lang: str, index: int | None, rule: str) -> None:
    got = parse_option(text, CHOICES, lang)
    assert (got.index, got.rule) == (index, rule)


def test_option_after_copula_with_four_choices() -> None:
    got = parse_option("Cred că este D.", ["a", "b", "c", "d"], "ro")
    assert (got.letter, got.rule) == ("D", "copula")


def test_option_letter_property() -> None:
    assert parse_option("La réponse est (B)", CHOICES, "fr").letter == "B"
    assert parse_option("rien", CHOICES, "fr").letter is None


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Two dogs.", "en", "2 dogs"),
        ("The cat!", "en", "cat"),
        ("dont", "en", "don't"),
        ("1,000", "en", "1000"),
        ("t-shirt", "en", "t shirt"),
        ("none", "en", "0"),
        ("a", "en", "a"),  # a letter read off a sign: the whole answer is no article
        ("The A", "en", "a"),
        ("dix-sept", "fr", "17"),  # hyphenated number words
        ("quatre-vingt-dix chaises", "fr", "90 chaises"),
        ("Un chien", "fr", "chien"),  # article
        ("un", "fr", "1"),  # the whole answer: a number
        ("Une", "fr", "1"),
        ("Deux", "fr", "2"),
        ("deux chiens", "fr", "2 chiens"),
        ("L\u2019homme", "fr", "homme"),  # elided article, curly apostrophe
        ("les pommes", "fr", "pommes"),
        ("«\u00a0Coca-Cola\u00a0»", "fr", "coca cola"),
        ("3,5", "fr", "3.5"),  # decimal comma
        ("Dix.", "fr", "10"),
        ("o pisică", "ro", "pisică"),
        ("o", "ro", "1"),
        ("Două", "ro", "2"),
        ("doi câini", "ro", "2 câini"),
        ("şcoală", "ro", "școală"),  # cedilla folded
        ("2,5 kg", "ro", "2.5 kg"),
        ("într-o cutie", "ro", "într cutie"),
    ],
)
def test_normalize_vqa(text: str, lang: str, expected: str) -> None:
    assert normalize_vqa(text, lang) == expected


# VQA accuracy with ten annotators, m of them giving the prediction: each leave-one-out subset of nine
# scores min(1, matches / 3); for m = 2: the 2 subsets without a matching annotator hold 1 match (1/3),
# the 8 others hold 2 (2/3): (2 * 1/3 + 8 * 2/3) / 10 = 0.6.
@pytest.mark.parametrize(
    ("prediction", "answers", "lang", "expected"),
    [
        ("two", ["2", "2"] + ["3"] * 8, "en", 0.6),
        ("2", ["2"] + ["3"] * 9, "en", 0.3),  # (1 * 0 + 9 * 1/3) / 10
        ("2", ["2"] * 3 + ["3"] * 7, "en", 0.9),  # (3 * 2/3 + 7 * 1) / 10
        ("2", ["2"] * 4 + ["3"] * 6, "en", 1.0),
        ("5", ["2"] * 10, "en", 0.0),
        ("Deux.", ["2", "deux", "2 ", "3", "3", "3", "3", "3", "3", "3"], "fr", 0.9),
        ("Une pomme", ["pomme", "une pomme", "la pomme", "poire"] + ["x"] * 6, "fr", 0.9),
        ("două", ["2"], "ro", 1.0),  # one reference: exact match
        ("2", ["2", "3"], "en", 0.5),  # two references: threshold 1; (0 + 1) / 2
        ("", ["", "", ""], "en", 0.0),  # an empty answer never matches
        ("a", ["a"] * 10, "en", 1.0),  # TextVQA: a one-letter answer read off a sign, credited as officially
        ("A.", ["a"] * 6 + ["b"] * 4, "en", 1.0),
        ("", ["a"] * 10, "en", 0.0),  # the official code credits this one ("" == ""); never here
    ],
)
def test_vqa_accuracy(prediction: str, answers: list[str], lang: str, expected: float) -> None:
    assert vqa_accuracy(prediction, answers, lang) == pytest.approx(expected)


def test_vqa_accuracy_needs_references() -> None:
    with pytest.raises(ValueError, match="at least one reference"):
        vqa_accuracy("2", [], "en")
