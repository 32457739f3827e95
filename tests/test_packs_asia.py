"""Language packs for zh, ja, ko, th, vi, id, fil and sw: yes/no and option parsing, VQA normalisation, each
language's own normalisation, and that every pack loads complete.

Answers are written in each language and every expected value by hand, among them what the parser once
got wrong: a hedge that starts with a "no" word (不是很确定), answer prefixes in unspaced text (答え：はい),
Thai tone marks (ไม่ "not" is not in ไม้ "wood"), Vietnamese tone marks (khổng is not không, nó is not "no"),
a letter with its copula attached (答えはBです, 정답은 B입니다, Cだと思います) and final punctuation (猫。).
"""

from __future__ import annotations

import pytest

from vlmadapt.evaluate.answers import normalize_vqa, parse_option, parse_yes_no, vqa_accuracy
from vlmadapt.languages import language, normalize

CODES = ["zh", "ja", "ko", "th", "vi", "id", "fil", "sw"]


YES_NO = [
    # text, lang, label, rule
    ("是。", "zh", "yes", "leading"),
    ("是的", "zh", "yes", "leading"),
    ("没有！", "zh", "no", "leading"),
    ("不是。", "zh", "no", "leading"),
    ("没有，图中没有狗。", "zh", "no", "leading"),
    ("图中没有狗。", "zh", "no", "cue"),
    ("我不确定。", "zh", None, "hedge"),
    ("不确定。", "zh", None, "hedge"),  # why a bare 不 is no yes/no word: hedges start with it
    ("是的，图中有一只猫。", "zh", "yes", "leading"),
    ("没错，是一只猫。", "zh", "yes", "leading"),  # starts with 没 and is a yes
    ("图中有不少人。", "zh", None, "unparsed"),  # 不少 (many) is no negation
    ("Yes.", "zh", "yes", "leading"),
    pytest.param("不是很确定。", "zh", None, "hedge"),
    pytest.param("对不起，我无法判断。", "zh", None, "hedge"),
    ("はい。", "ja", "yes", "leading"),
    ("いいえ！", "ja", "no", "leading"),
    ("いいえ、犬はいません。", "ja", "no", "leading"),
    ("画像に犬はいません。", "ja", "no", "cue"),  # 犬はいません holds はい and is no yes
    ("画像には猫が写っていません。", "ja", "no", "cue"),
    ("ありません。", "ja", "no", "leading"),
    ("よくわかりません。", "ja", None, "hedge"),
    ("はい、猫がいます。", "ja", "yes", "leading"),
    ("画像に猫がいます。", "ja", None, "unparsed"),  # like "There is a cat."
    ("Yes.", "ja", "yes", "leading"),
    pytest.param("答え：はい", "ja", "yes", "leading"),
    ("예.", "ko", "yes", "leading"),
    ("네", "ko", "yes", "leading"),
    ("아니요!", "ko", "no", "leading"),
    ("아니요, 개는 없습니다.", "ko", "no", "leading"),
    ("이미지에 개가 없습니다.", "ko", "no", "cue"),
    ("개는 보이지 않습니다.", "ko", "no", "cue"),
    ("잘 모르겠습니다.", "ko", None, "hedge"),
    ("확실하지 않습니다.", "ko", None, "hedge"),  # holds the negation 않습니다; the hedge wins
    ("네, 고양이가 있습니다.", "ko", "yes", "leading"),
    ("정답: 아니요", "ko", "no", "leading"),
    ("Yes.", "ko", "yes", "leading"),
    ("ใช่", "th", "yes", "leading"),
    ("ไม่ใช่!", "th", "no", "leading"),
    ("ไม่มี ในภาพไม่มีสุนัข", "th", "no", "leading"),
    ("ในภาพไม่มีสุนัข", "th", "no", "cue"),
    ("ไม่", "th", "no", "cue"),
    ("ฉันไม่แน่ใจ", "th", None, "hedge"),
    ("ไม่แน่ใจครับ", "th", None, "hedge"),  # why a bare ไม่ is no leading word
    ("ใช่ มีแมวอยู่ในภาพ", "th", "yes", "leading"),
    ("ม้าสีขาวอยู่ในภาพ", "th", None, "unparsed"),  # why มี (there is) is no yes word: marks are dropped
    ("Yes.", "th", "yes", "leading"),
    pytest.param("ในภาพมีต้นไม้", "th", None, "unparsed"),
    pytest.param("ใช้ร่มกันฝน", "th", None, "unparsed"),
    ("Có.", "vi", "yes", "leading"),
    ("Vâng.", "vi", "yes", "leading"),
    ("Không!", "vi", "no", "leading"),
    ("Không, không có con chó nào.", "vi", "no", "leading"),
    ("Trong ảnh không có con chó nào.", "vi", "no", "cue"),
    ("Không có con chó nào trong ảnh.", "vi", "no", "cue"),  # first word, but its clause goes on
    ("Tôi không chắc.", "vi", None, "hedge"),
    ("Có, có một con mèo.", "vi", "yes", "leading"),
    ("Có một con mèo trong ảnh.", "vi", "yes", "cue"),
    ("Yes.", "vi", "yes", "leading"),
    pytest.param("Một con voi khổng lồ đứng trong ảnh.", "vi", None, "unparsed"),
    pytest.param("Cô gái đang cầm ô.", "vi", None, "unparsed"),
    pytest.param("Nó là một con mèo.", "vi", None, "unparsed"),
    ("Ya.", "id", "yes", "leading"),
    ("Tidak!", "id", "no", "leading"),
    ("Bukan.", "id", "no", "leading"),
    ("Tidak, tidak ada anjing.", "id", "no", "leading"),
    ("Di gambar tidak ada anjing.", "id", "no", "cue"),
    ("Saya tidak yakin.", "id", None, "hedge"),
    ("Ya, ada seekor kucing.", "id", "yes", "leading"),
    ("Ada seekor kucing.", "id", None, "unparsed"),
    ("Yes.", "id", "yes", "leading"),
    ("Oo.", "fil", "yes", "leading"),
    ("Opo", "fil", "yes", "leading"),
    ("Hindi!", "fil", "no", "leading"),
    ("Wala.", "fil", "no", "leading"),
    ("Hindi, walang aso.", "fil", "no", "leading"),
    ("Walang aso sa larawan.", "fil", "no", "cue"),
    ("Hindi ako sigurado.", "fil", None, "hedge"),
    ("Oo, may pusa.", "fil", "yes", "leading"),
    ("Sagot: hindi", "fil", "no", "leading"),
    ("Yes.", "fil", "yes", "leading"),
    ("Ndiyo.", "sw", "yes", "leading"),
    ("Hapana!", "sw", "no", "leading"),
    ("Hapana, hakuna mbwa.", "sw", "no", "leading"),
    ("Hakuna mbwa kwenye picha.", "sw", "no", "cue"),
    ("Mbwa haonekani kwenye picha.", "sw", "no", "cue"),
    ("Sina uhakika.", "sw", None, "hedge"),
    ("Sijui.", "sw", None, "hedge"),
    ("Ndiyo, kuna paka.", "sw", "yes", "leading"),
    ("Jibu: ndiyo", "sw", "yes", "leading"),
    ("Yes.", "sw", "yes", "leading"),
]


@pytest.mark.parametrize(("text", "lang", "label", "rule"), YES_NO)
def test_yes_no(text: str, lang: str, label: str | None, rule: str) -> None:
    got = parse_yes_no(text, lang)
    assert (got.label, got.rule) == (label, rule)


CHOICES = {
    "zh": ["猫", "狗", "鸟", "鱼"],
    "ja": ["猫", "犬", "鳥", "魚"],
    "ko": ["고양이", "개", "새", "물고기"],
    "th": ["แมว", "สุนัข", "นก", "ปลา"],
    "vi": ["con mèo", "con chó", "con chim", "con cá"],
    "id": ["kucing", "anjing", "burung", "ikan"],
    "fil": ["pusa", "aso", "ibon", "isda"],
    "sw": ["paka", "mbwa", "ndege", "samaki"],
}

OPTIONS = [
    # text, lang, index, rule
    ("答案是B。", "zh", 1, "phrase"),
    ("正确答案：D", "zh", 3, "phrase"),
    ("答案是Ｂ", "zh", 1, "phrase"),  # full-width letter
    ("我认为是C。", "zh", 2, "copula"),
    ("狗", "zh", 1, "text"),
    pytest.param("答案是B选项。", "zh", 1, "phrase"),
    ("答えはB。", "ja", 1, "phrase"),
    ("正解：Ｂ", "ja", 1, "phrase"),
    ("おそらくC。", "ja", 2, "copula"),
    pytest.param("答えはBです。", "ja", 1, "phrase"),
    pytest.param("Cだと思います。", "ja", 2, "copula"),
    ("정답은 B.", "ko", 1, "phrase"),
    ("정답: B", "ko", 1, "phrase"),
    ("제 생각에는 C.", "ko", 2, "copula"),
    pytest.param("정답은 B입니다.", "ko", 1, "phrase"),
    pytest.param("C라고 생각합니다.", "ko", 2, "copula"),
    ("คำตอบคือ B", "th", 1, "phrase"),
    ("คำตอบคือข้อ B ครับ", "th", 1, "phrase"),
    ("ฉันคิดว่าเป็น C", "th", 2, "copula"),
    ("Đáp án là B.", "vi", 1, "phrase"),
    ("Tôi nghĩ là C.", "vi", 2, "copula"),
    ("E rằng không có đáp án nào đúng.", "vi", None, "unparsed"),  # letter word E (I fear that)
    ("Y như tôi nghĩ, đó là C.", "vi", 2, "copula"),  # letter word Y (just like)
    ("Jawabannya adalah B.", "id", 1, "phrase"),
    ("Saya pikir itu C.", "id", 2, "copula"),
    ("Ang sagot ay B.", "fil", 1, "phrase"),
    ("Sa tingin ko ay C.", "fil", 2, "copula"),
    ("O, mahirap ang tanong na ito.", "fil", None, "unparsed"),  # letter word O (interjection)
    ("E kasi, ang sagot ay D.", "fil", 3, "phrase"),  # letter word E (well)
    ("Jibu ni B.", "sw", 1, "phrase"),
    ("Nadhani ni C.", "sw", 2, "copula"),
    ("U mzima?", "sw", None, "unparsed"),  # letter word U (you are)
    ("U hali gani? Jibu sahihi ni A.", "sw", 0, "phrase"),
]


@pytest.mark.parametrize(("text", "lang", "index", "rule"), OPTIONS)
def test_option(text: str, lang: str, index: int | None, rule: str) -> None:
    got = parse_option(text, CHOICES[lang], lang)
    assert (got.index, got.rule) == (index, rule)


VQA = [
    # text, lang, normalised
    ("七", "zh", "7"),
    ("两", "zh", "2"),
    ("三 只 猫", "zh", "三只猫"),  # spaces between Chinese letters go; only a whole answer is a number
    ("一只黑猫", "zh", "一只黑猫"),
    pytest.param("猫。", "zh", "猫"),
    ("七", "ja", "7"),
    ("ふたつ", "ja", "2"),
    ("二人", "ja", "2"),
    ("黒い 猫", "ja", "黒い猫"),
    ("일곱", "ko", "7"),
    ("열하나", "ko", "11"),
    ("고양이 세 마리", "ko", "고양이 3 마리"),
    ("네", "ko", "네"),  # yes, not the attributive four
    ("เจ็ด", "th", "7"),
    ("สิบเอ็ด", "th", "11"),
    ("แมว สอง ตัว", "th", "แมวสองตัว"),
    ("เก้าอี้", "th", "เก้าอี้"),  # chair: starts with เก้า (nine)
    ("bảy", "vi", "7"),
    ("Mười lăm", "vi", "15"),
    ("Con mèo màu đen.", "vi", "con mèo màu đen"),
    ("tujuh", "id", "7"),
    ("Dua belas", "id", "12"),
    ("Kucing hitam", "id", "kucing hitam"),
    ("pito", "fil", "7"),
    ("labindalawa", "fil", "12"),
    ("Ang aso", "fil", "aso"),
    ("Si Maria", "fil", "maria"),
    ("saba", "sw", "7"),
    ("kumi na mbili", "sw", "12"),
    ("watu wawili", "sw", "watu 2"),
    ("Paka mweusi", "sw", "paka mweusi"),
]


@pytest.mark.parametrize(("text", "lang", "expected"), VQA)
def test_normalize_vqa(text: str, lang: str, expected: str) -> None:
    assert normalize_vqa(text, lang) == expected


def test_vqa_accuracy_chinese_answer_with_full_stop() -> None:
    assert vqa_accuracy("猫。", ["猫"], "zh") == 1.0


OWN_NORMALIZATION = [
    # text, lang, normalize(), normalize_vqa() (None: not checked)
    ("答案是Ｂ（３）", "zh", "答案是B(3)", None),  # full-width Latin, digits, brackets
    ("Ｂ３", "zh", "B3", "b3"),
    ("３", "zh", "3", "3"),
    ("正解はＢ", "ja", "正解はB", "正解はb"),
    ("２", "ja", "2", "2"),
    # conjoining jamo -> syllables
    ("\u1112\u1161\u11ab \u1106\u1161\u1105\u1175", "ko", "한 마리", "1 마리"),
    ("ยี่\u200bสิบ", "th", "ยี่สิบ", "20"),  # zero-width space
    ("Tie\u0302\u0301ng Vie\u0323\u0302t", "vi", "Tiếng Việt", "tiếng việt"),  # decomposed marks -> NFC
    ("3,5", "vi", "3,5", "3.5"),  # decimal comma
    ("3,5 meter", "id", "3,5 meter", "3.5 meter"),
    ("1,000", "fil", "1,000", "1000"),  # thousands comma
    ("1,000", "sw", "1,000", "1000"),
]


@pytest.mark.parametrize(("text", "lang", "plain", "vqa"), OWN_NORMALIZATION)
def test_own_normalization(text: str, lang: str, plain: str, vqa: str | None) -> None:
    assert normalize(text, lang) == plain
    if vqa is not None:
        assert normalize_vqa(text, lang) == vqa


NUMBERS = set(range(21)) | set(range(30, 100, 10))

# code: (bleu_tokenize, unit, bertscore_rescale, lingua, flores, m2m100)
METRICS_AND_CODES = {
    "zh": ("zh", "chars", True, "zh", "zho_Hans", "zh"),
    "ja": ("ja-mecab", "chars", False, "ja", "jpn_Jpan", "ja"),
    "ko": ("ko-mecab", "words", False, "ko", "kor_Hang", "ko"),
    "th": ("char", "chars", False, "th", "tha_Thai", "th"),
    "vi": ("13a", "words", False, "vi", "vie_Latn", "vi"),
    "id": ("13a", "words", False, "id", "ind_Latn", "id"),
    "fil": ("13a", "words", False, "tl", "tgl_Latn", "tl"),
    "sw": ("13a", "words", False, "sw", "swh_Latn", "sw"),
}


@pytest.mark.parametrize("code", CODES)
def test_pack_loads_complete(code: str) -> None:
    lang = language(code)
    assert lang.code == code
    assert lang.missing() == []
    assert set(lang.numbers.values()) >= NUMBERS
    assert lang.sources
    assert set(lang.phrasebook) == set(language("fr").phrasebook)
    for template in (lang.prompts.yes_no, lang.prompts.multiple_choice):
        assert template is not None and "{question}" in template
    assert "{options}" in (lang.prompts.multiple_choice or "")
    assert "{}" in (lang.prompts.hint or "")
    assert "{obj}" in (lang.synthesis.exists_question or "")
    metrics, mt = lang.metrics, lang.mt
    got = (metrics.bleu_tokenize, metrics.unit, metrics.bertscore_rescale, lang.lingua, mt.flores, mt.m2m100)
    assert got == METRICS_AND_CODES[code]
    assert mt.flores is not None and mt.flores.endswith("_" + lang.script)
    assert all(c in CODES or c == "en" for c in lang.confusable)
