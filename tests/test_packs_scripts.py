"""The language packs for ar, fa, he, hi, bn, ta, te, el, ru, uk: answers written in each language, read
by the pack-driven parsers (yes/no, options, VQA normalisation) and by the text normalisation.

Expected values are written by hand. Words keep their combining marks (Devanagari, Bengali, Tamil and Telugu
vowel signs and viramas: "नहीं" is one word, not "नह"), so unrelated words never look like yes/no words and
number words never match inside other words. A case the parser gets wrong today is kept and marked
xfail(strict) with its reason: option letters are Latin only.
"""

from __future__ import annotations

import unicodedata

import pytest
from lingua import IsoCode639_1

from vlmadapt.evaluate.answers import normalize_vqa, parse_option, parse_yes_no
from vlmadapt.languages import language, normalize

CODES = ["ar", "fa", "he", "hi", "bn", "ta", "te", "el", "ru", "uk"]


def xfail(*values: object, reason: str) -> object:
    return pytest.param(*values, marks=pytest.mark.xfail(strict=True, reason=reason))


# --- yes / no -----------------------------------------------------------------------------------------------

YES_NO = [
    # lang, text, label, rule
    ("ar", "نعم", "yes", "leading"),
    ("ar", "لا.", "no", "leading"),
    ("ar", "لا، لا يوجد كلب.", "no", "leading"),
    ("ar", "لا يوجد كلب في الصورة.", "no", "cue"),  # لا starts the sentence but does not end a clause
    ("ar", "لست متأكداً.", None, "hedge"),  # tanween on متأكداً is removed with the harakat
    ("ar", "نعم، توجد قطة.", "yes", "leading"),  # Arabic comma
    ("ar", "Yes.", "yes", "leading"),
    ("ar", "توجد قطة في الصورة.", None, "unparsed"),
    ("ar", "الإجابة: لا", "no", "leading"),
    ("ar", "نَعَمْ.", "yes", "leading"),  # with harakat: read by the cue rule
    ("fa", "بله", "yes", "leading"),
    ("fa", "نه.", "no", "leading"),
    ("fa", "نه، سگی وجود ندارد.", "no", "leading"),
    ("fa", "در تصویر سگی وجود ندارد.", "no", "cue"),
    ("fa", "مطمئن نیستم.", None, "hedge"),
    ("fa", "نمی‌دانم.", None, "hedge"),  # with the zero-width non-joiner
    ("fa", "بله، یک گربه هست.", "yes", "leading"),
    ("fa", "Yes.", "yes", "leading"),
    ("fa", "در تصویر یک گربه هست.", None, "unparsed"),
    ("fa", "خير", "no", "leading"),  # Arabic yeh, read as Persian ی
    ("he", "כן", "yes", "leading"),
    ("he", "לא.", "no", "leading"),
    ("he", "לא, אין כלב.", "no", "leading"),
    ("he", "אין כלב בתמונה.", "no", "cue"),
    ("he", "אני לא בטוח.", None, "hedge"),
    ("he", "כן, יש חתול.", "yes", "leading"),
    ("he", "Yes.", "yes", "leading"),
    ("he", "יש חתול בתמונה.", None, "unparsed"),
    ("he", "לֹא.", "no", "leading"),  # with niqqud
    ("he", "יש גם כן חתול בתמונה.", None, "unparsed"),  # גם כן is "also", not yes
    ("hi", "हाँ", "yes", "leading"),
    ("hi", "नहीं।", "no", "leading"),  # danda
    ("hi", "नहीं, कोई कुत्ता नहीं है।", "no", "leading"),
    ("hi", "छवि में कोई कुत्ता नहीं है।", "no", "cue"),
    ("hi", "मुझे यकीन नहीं है।", None, "hedge"),
    ("hi", "हाँ, एक बिल्ली है।", "yes", "leading"),
    ("hi", "Yes.", "yes", "leading"),
    ("hi", "छवि में एक बिल्ली है।", None, "unparsed"),  # है -> ह, as हाँ -> ह
    ("bn", "হ্যাঁ", "yes", "leading"),
    ("bn", "না।", "no", "leading"),
    ("bn", "না, কোনো কুকুর নেই।", "no", "leading"),
    ("bn", "ছবিতে কোনো কুকুর নেই।", "no", "cue"),
    ("bn", "আমি নিশ্চিত নই।", None, "hedge"),
    ("bn", "হ্যাঁ, একটি বিড়াল আছে।", "yes", "leading"),
    ("bn", "Yes.", "yes", "leading"),
    ("bn", "ছবিতে একটি হাঁস আছে।", None, "unparsed"),  # হাঁস -> হ, as হ্যাঁ -> হ
    ("ta", "ஆம்", "yes", "leading"),
    ("ta", "இல்லை.", "no", "leading"),
    ("ta", "இல்லை, நாய் இல்லை.", "no", "leading"),
    ("ta", "படத்தில் நாய் இல்லை.", "no", "cue"),
    ("ta", "எனக்கு உறுதியாகத் தெரியவில்லை.", None, "hedge"),
    ("ta", "ஆம், ஒரு பூனை உள்ளது.", "yes", "leading"),
    ("ta", "Yes.", "yes", "leading"),
    # படத்தில் -> படத, த, ல: ல is also a fragment of இல்லை
    ("ta", "படத்தில் ஒரு பூனை உள்ளது.", None, "unparsed"),
    ("te", "అవును", "yes", "leading"),
    ("te", "లేదు.", "no", "leading"),
    ("te", "లేదు, కుక్క లేదు.", "no", "leading"),
    ("te", "చిత్రంలో కుక్క లేదు.", "no", "cue"),
    # నాకు -> న, క: న is also the first fragment of నిజమే (yes)
    ("te", "నాకు ఖచ్చితంగా తెలియదు.", None, "hedge"),
    ("te", "అవును, ఒక పిల్లి ఉంది.", "yes", "leading"),
    ("te", "Yes.", "yes", "leading"),
    # చిత్రంలో -> చ, త, ర, ల: ల and ర are also fragments of లేదు and లేరు
    ("te", "చిత్రంలో ఒక పిల్లి ఉంది.", None, "unparsed"),
    ("el", "Ναι", "yes", "leading"),
    ("el", "Όχι.", "no", "leading"),
    ("el", "ΟΧΙ!", "no", "leading"),  # capitals without the accent
    ("el", "Όχι, δεν υπάρχει σκύλος.", "no", "leading"),
    ("el", "Δεν υπάρχει σκύλος στην εικόνα.", "no", "cue"),
    ("el", "Δεν είμαι σίγουρος.", None, "hedge"),
    ("el", "Ναι, υπάρχει μια γάτα.", "yes", "leading"),
    ("el", "Yes.", "yes", "leading"),
    ("el", "Υπάρχει μια γάτα στην εικόνα.", None, "unparsed"),
    ("ru", "Да", "yes", "leading"),
    ("ru", "Нет.", "no", "leading"),
    ("ru", "Нет, собаки нет.", "no", "leading"),
    ("ru", "На изображении нет собаки.", "no", "cue"),
    ("ru", "Я не уверен.", None, "hedge"),
    ("ru", "Да, есть кошка.", "yes", "leading"),
    ("ru", "Yes.", "yes", "leading"),
    ("ru", "На изображении есть кошка.", None, "unparsed"),
    ("ru", "Ответ: нет", "no", "leading"),
    ("uk", "Так", "yes", "leading"),
    ("uk", "Ні.", "no", "leading"),
    ("uk", "Ні, собаки немає.", "no", "leading"),
    ("uk", "На зображенні немає собаки.", "no", "cue"),
    ("uk", "Я не впевнений.", None, "hedge"),
    ("uk", "Так, є кіт.", "yes", "leading"),
    ("uk", "Yes.", "yes", "leading"),
    ("uk", "На зображенні є кіт.", None, "unparsed"),
    ("uk", "Так як кіт спить, собаки не видно.", "no", "cue"),  # "так як" (since) is no leading yes
]


@pytest.mark.parametrize(("lang", "text", "label", "rule"), YES_NO)
def test_yes_no(lang: str, text: str, label: str | None, rule: str) -> None:
    got = parse_yes_no(text, lang)
    assert (got.label, got.rule) == (label, rule)


# --- multiple-choice options --------------------------------------------------------------------------------

CHOICES = ["кіт", "собака", "птах", "риба"]

OPTIONS = [
    # lang, text, index, rule
    ("ar", "الإجابة الصحيحة هي B.", 1, "phrase"),
    ("ar", "أعتقد أنه C.", 2, "copula"),
    ("fa", "پاسخ درست B است.", 1, "phrase"),  # copula last
    ("fa", "فکر می‌کنم C است.", 2, "copula"),  # opinion phrase right before the letter
    ("fa", "گزینهٔ D", 3, "phrase"),
    ("he", "התשובה היא B.", 1, "phrase"),
    ("he", "אני חושב שזה C.", 2, "copula"),
    ("hi", "सही उत्तर B है।", 1, "phrase"),
    ("hi", "मुझे लगता है कि यह C है।", 2, "copula"),
    ("bn", "সঠিক উত্তর হলো B।", 1, "phrase"),
    ("bn", "আমার মনে হয় এটি C।", 2, "copula"),
    ("ta", "சரியான பதில் B ஆகும்.", 1, "phrase"),
    ("ta", "இது C என்று நினைக்கிறேன்.", 2, "copula"),
    ("te", "సరైన సమాధానం B.", 1, "phrase"),
    ("te", "ఇది C అని నేను అనుకుంటున్నాను.", 2, "copula"),
    ("el", "Η σωστή απάντηση είναι B.", 1, "phrase"),
    ("el", "Νομίζω ότι είναι C.", 2, "copula"),
    # Greek exams letter options Α Β Γ Δ; a Greek capital beta looks like B and is the second letter
    xfail(
        "el",
        "Η απάντηση είναι Β.",
        1,
        "phrase",
        reason="option letters are Latin [A-Z] only; Greek Α Β Γ Δ (U+0391...) are not read",
    ),
    ("ru", "Правильный ответ — B.", 1, "phrase"),
    ("ru", "Я думаю, что это C.", 2, "copula"),
    ("ru", "Ответ: D", 3, "phrase"),
    # Cyrillic В ("in") and С ("with") look like Latin B and C but are words, not options
    ("ru", "В центре изображения собака.", None, "unparsed"),
    ("ru", "С собакой.", None, "unparsed"),
    ("uk", "Правильна відповідь — B.", 1, "phrase"),
    ("uk", "Я думаю, що це C.", 2, "copula"),
    ("uk", "В центрі зображення собака.", None, "unparsed"),
    ("uk", "Собака.", 1, "text"),
]


@pytest.mark.parametrize(("lang", "text", "index", "rule"), OPTIONS)
def test_option(lang: str, text: str, index: int | None, rule: str) -> None:
    got = parse_option(text, CHOICES, lang)
    assert (got.index, got.rule) == (index, rule)


# --- VQA normalisation --------------------------------------------------------------------------------------

VQA = [
    # text, lang, normalised
    ("سبعة", "ar", "7"),
    ("سَبْعَةٌ", "ar", "7"),  # harakat removed before the number lookup
    ("ثلاث عشرة", "ar", "13"),  # feminine thirteen
    ("أربعين", "ar", "40"),  # accusative/genitive ending
    ("٧", "ar", "7"),
    ("٣٫٥", "ar", "3.5"),  # Arabic decimal separator
    ("الكلب الأسود", "ar", "الكلب الأسود"),  # the article is a prefix; hamza letters stay
    ("هفت", "fa", "7"),
    ("پانزده", "fa", "15"),
    ("۷", "fa", "7"),
    ("كتاب", "fa", "کتاب"),  # Arabic kaf -> Persian kaf
    ("شَش", "fa", "6"),
    ("שבעה", "he", "7"),
    ("שלוש עשרה", "he", "13"),
    ("הכלב", "he", "הכלב"),
    ("שָׁלוֹם", "he", "שלום"),  # niqqud removed
    ("सात", "hi", "7"),
    ("पाँच", "hi", "5"),
    ("७", "hi", "7"),
    ("बिल्ली", "hi", "बिल्ली"),  # vowel signs and virama stay
    ("समाचार", "hi", "समाचार"),  # "news": चार (4) inside
    ("সাত", "bn", "7"),
    ("তিনটি", "bn", "3"),  # with the classifier
    ("৭", "bn", "7"),
    ("বিড়াল", "bn", "বিড়াল"),
    ("বিচার", "bn", "বিচার"),  # "judgement": চার (4) inside
    ("ஏழு", "ta", "7"),
    ("பதினைந்து", "ta", "15"),
    ("பூனை", "ta", "பூனை"),
    ("விபத்து", "ta", "விபத்து"),  # "accident": பத்து (10) inside
    ("ఏడు", "te", "7"),
    ("పదిహేను", "te", "15"),
    ("పిల్లి", "te", "పిల్లి"),
    ("επτά", "el", "7"),
    ("Επτά", "el", "7"),
    ("ΤΡΕΙΣ", "el", "3"),  # final sigma
    ("ένα", "el", "1"),  # article and number: the whole answer is a number
    ("ένας σκύλος", "el", "σκύλος"),
    ("Το άλογο", "el", "άλογο"),  # accents stay
    ("3,5", "el", "3.5"),
    ("семь", "ru", "7"),
    ("Семь кошек", "ru", "7 кошек"),
    ("ёжик", "ru", "ежик"),
    ("Йогурт", "ru", "йогурт"),  # й is a letter, not и with a mark
    ("3,5", "ru", "3.5"),
    ("сім", "uk", "7"),
    ("п’ять", "uk", "5"),  # curly apostrophe
    ("пʼять котів", "uk", "5 котів"),  # modifier apostrophe U+02BC
    ("дев'яносто", "uk", "90"),
    ("Їжак", "uk", "їжак"),
    ("3,5", "uk", "3.5"),
]


@pytest.mark.parametrize(("text", "lang", "expected"), VQA)
def test_normalize_vqa(text: str, lang: str, expected: str) -> None:
    assert normalize_vqa(text, lang) == expected


# --- each language's own normalisation ----------------------------------------------------------------------

NORMALIZE = [
    # text, lang, lowercase, normalised
    ("كِتَابٌ جَمِيلٌ", "ar", False, "كتاب جميل"),  # harakat
    ("جمـــيل", "ar", False, "جميل"),  # tatweel
    ("مُسْتَشْفَىٰ", "ar", False, "مستشفى"),  # sukun and superscript alef
    ("٢٠٢٤", "ar", False, "2024"),
    ("كتاب علي", "fa", False, "کتاب علی"),  # Arabic kaf and yeh -> Persian
    ("خانۀ", "fa", False, "خانه"),  # heh with yeh above
    ("۱۲ گربه", "fa", False, "12 گربه"),
    ("בְּרֵאשִׁית", "he", False, "בראשית"),  # points and shin dot
    ("७ कुत्ते", "hi", False, "7 कुत्ते"),
    ("৭টি বিড়াল", "bn", False, "7টি বিড়াল"),
    ("௭ பூனைகள்", "ta", False, "7 பூனைகள்"),
    ("౭ పిల్లులు", "te", False, "7 పిల్లులు"),
    ("ΣΚΎΛΟΣ", "el", True, "σκύλος"),  # final sigma when lowercasing
    ("Τι είναι αυτό\u037e", "el", False, "Τι είναι αυτό;"),  # Greek question mark
    ("Ёлка", "ru", False, "Елка"),
    ("пʼять", "uk", False, "п'ять"),
    ("ЇЖАК", "uk", True, "їжак"),
]


@pytest.mark.parametrize(("text", "lang", "lower", "expected"), NORMALIZE)
def test_normalize(text: str, lang: str, lower: bool, expected: str) -> None:
    assert normalize(text, lang, lowercase=lower) == expected


def test_arabic_normalisation_also_reaches_vqa_answers() -> None:
    assert normalize_vqa("ســبعة", "ar") == "7"  # tatweel inside a number word


# --- the packs themselves -----------------------------------------------------------------------------------

NAMES = {
    "ar": ("Arabic", "Arab"),
    "fa": ("Persian", "Arab"),
    "he": ("Hebrew", "Hebr"),
    "hi": ("Hindi", "Deva"),
    "bn": ("Bengali", "Beng"),
    "ta": ("Tamil", "Taml"),
    "te": ("Telugu", "Telu"),
    "el": ("Greek", "Grek"),
    "ru": ("Russian", "Cyrl"),
    "uk": ("Ukrainian", "Cyrl"),
}


@pytest.mark.parametrize("code", CODES)
def test_pack_loads_complete(code: str) -> None:
    lang = language(code)
    assert (lang.code, lang.name, lang.script) == (code, *NAMES[code])
    assert lang.missing() == []
    values = set(lang.numbers.values())
    assert set(range(21)) <= values
    assert {30, 40, 50, 60, 70, 80, 90} <= values
    assert lang.sources
    assert lang.lingua is not None
    IsoCode639_1.from_str(lang.lingua)  # a code lingua knows


@pytest.mark.parametrize("code", CODES)
def test_pack_words_are_nfc(code: str) -> None:
    """Number words and articles are looked up after NFC without being normalised themselves."""
    lang = language(code)
    words = [*lang.numbers, *lang.articles, *lang.yes, *lang.no, *lang.negations, *lang.hedges]
    assert [w for w in words if unicodedata.normalize("NFC", w) != w] == []


def test_m2m100_has_no_telugu() -> None:
    assert language("te").mt.m2m100 is None
    assert language("ta").mt.m2m100 == "ta"
