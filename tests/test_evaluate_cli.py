"""`vlmadapt evaluate` and `vlmadapt compare` end to end through the CLI, with small scorers defined here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sacrebleu

from vlmadapt.cli import main
from vlmadapt.evaluate.base import SampleScores
from vlmadapt.evaluate.metrics import BLEU, RougeL
from vlmadapt.evaluate.wer import WER
from vlmadapt.jsonl import write_jsonl


@dataclass
class TextScorer:
    """An open-VQA-like scorer: BLEU, ROUGE-L and WER of the answer against the reference answers."""

    name: str = "open_vqa"
    tasks: tuple[str, ...] = ("open_vqa",)

    def score_samples(self, examples: list[Any], predictions: list[str], lang: str) -> list[SampleScores]:
        refs = [e.answers for e in examples]
        metrics = (BLEU(lang=lang), RougeL(lang=lang), WER(lang=lang))
        return [SampleScores(m, m.sample_stats(predictions, refs)) for m in metrics]

    def details(self, examples: list[Any], predictions: list[str], lang: str) -> list[dict[str, Any]]:
        return [{"words": len(p.split())} for p in predictions]

    def analysis(self, examples: list[Any], predictions: list[str], lang: str) -> dict[str, Any]:
        return WER(lang=lang).errors(predictions, [e.answers for e in examples], top=3)


@dataclass
class Exact:
    """Exact match, defined outside vlmadapt: compare cannot rebuild it and must say so."""

    name: str = "exact"
    higher_is_better: bool = field(default=True)

    def signature(self) -> str:
        return "exact"

    def sample_stats(self, hyps: list[str], refs: list[list[str]]) -> np.ndarray:
        return np.array(
            [
                [float(h.strip(" .").lower() in [r.lower() for r in rs])]
                for h, rs in zip(hyps, refs, strict=True)
            ]
        )

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        return 100 * np.asarray(sums)[..., 0] / n


@dataclass
class YesNoScorer:
    name: str = "pope"
    tasks: tuple[str, ...] = ("yes_no",)

    def score_samples(self, examples: list[Any], predictions: list[str], lang: str) -> list[SampleScores]:
        m = Exact()
        return [SampleScores(m, m.sample_stats(predictions, [e.answers for e in examples]))]

    def details(self, examples: list[Any], predictions: list[str], lang: str) -> list[dict[str, Any]]:
        return [{} for _ in predictions]


@dataclass
class ChoiceScorer(YesNoScorer):
    name: str = "scienceqa"
    tasks: tuple[str, ...] = ("multiple_choice",)


REGISTRY = {"open_vqa": TextScorer(), "pope": YesNoScorer(), "scienceqa": ChoiceScorer()}

QA = [
    ("q1", "Ce face bărbatul?", "Bărbatul merge pe stradă."),
    ("q2", "Ce culoare are umbrela?", "Umbrela este roșie."),
    ("q3", "Câți câini sunt în imagine?", "Sunt doi câini."),
    ("q4", "Unde stă femeia?", "Femeia stă pe o bancă în parc."),
    ("q5", "Ce ține copilul?", "Copilul ține o minge."),
    ("q6", "Este zi sau noapte?", "Este zi."),
]
ANSWERS = {
    "q1": "Bărbatul merge pe stradă.",
    "q2": "Umbrela este roşie.",  # cedilla: folded, still a perfect match
    "q3": "Sunt trei câini.",
    "q4": "Femeia stă în parc.",
}


@pytest.fixture(autouse=True)
def _registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vlmadapt.evaluate.run.scorer_registry", lambda: REGISTRY)


def _refs(tmp_path: Path, name: str = "refs.jsonl", qa: list[tuple[str, str, str]] = QA) -> Path:
    rows = [{"id": i, "task": "open_vqa", "lang": "ro", "question": q, "answers": [a]} for i, q, a in qa]
    return write_jsonl(tmp_path / name, rows)


def _preds(tmp_path: Path, answers: dict[str, str | None], name: str = "preds.jsonl") -> Path:
    rows = [
        {"id": i, "prediction": a} if a is not None else {"id": i, "prediction": None, "error": "CUDA OOM"}
        for i, a in answers.items()
    ]
    return write_jsonl(tmp_path / name, rows)


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return int(exc.value.code or 0), captured.out, captured.err


def _evaluate(tmp_path: Path, answers: dict[str, str | None], system: str, capsys: Any, *extra: str) -> Path:
    out = tmp_path / f"eval-{system}"
    refs = tmp_path / "refs.jsonl" if (tmp_path / "refs.jsonl").exists() else _refs(tmp_path)
    args = ["evaluate", _preds(tmp_path, answers, f"{system}.jsonl"), "--references", refs]
    args += ["--task", "open_vqa", "--out", out, "--system", system, "--resamples", "200", *extra]
    code, _out, stderr = _cli(args, capsys)
    assert code == 0, stderr
    return out


def test_evaluate_writes_the_documented_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = ANSWERS | {"q5": "", "q6": None}  # one empty answer, one failed example
    out = tmp_path / "eval"
    refs = _refs(tmp_path)
    args = ["evaluate", _preds(tmp_path, answers), "--references", refs, "--task", "open_vqa"]
    code, stdout, _ = _cli([*args, "--out", out, "--system", "qwen-ro", "--resamples", "200"], capsys)
    assert code == 0
    assert "bleu" in stdout and "rouge_l" in stdout and "wrote" in stdout

    scores = json.loads((out / "scores.json").read_text())
    assert set(scores) == {
        "system", "task", "scorer", "lang", "n", "counts", "metrics", "bootstrap",
        "predictions", "references", "image_root", "provenance", "analysis",
    }  # fmt: skip
    assert (scores["system"], scores["task"], scores["scorer"], scores["lang"], scores["n"]) == (
        "qwen-ro", "open_vqa", "open_vqa", "ro", 6,
    )  # fmt: skip
    assert scores["counts"] == {"references": 6, "scored": 4, "errors": 1, "empty": 1, "missing": 0}
    assert scores["bootstrap"] == {"resamples": 200, "seed": 12345, "confidence": 0.95}
    assert scores["provenance"]["config"]["task"] == "open_vqa"

    # BLEU equals sacrebleu on the normalised text, with the empty and failed answers scored as ""
    hyps = [ANSWERS[i].replace("ş", "ș") for i in ("q1", "q2", "q3", "q4")] + ["", ""]
    expected = sacrebleu.BLEU().corpus_score(hyps, [[a for _, _, a in QA]]).score
    bleu = scores["metrics"]["bleu"]
    assert bleu["score"] == pytest.approx(expected)
    assert bleu["low"] <= bleu["score"] <= bleu["high"]
    assert bleu["signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp")
    assert bleu["spec"]["class"] == "vlmadapt.evaluate.metrics.BLEU"
    assert scores["metrics"]["wer"]["higher_is_better"] is False
    # q3: 1 substitution; q4: "pe o bancă" deleted; q5, q6: all 4 + 2 words deleted;
    # 4 + 3 + 3 + 7 + 4 + 2 = 23 reference words
    assert scores["metrics"]["wer"]["score"] == pytest.approx(100 * (1 + 3 + 4 + 2) / 23)
    assert scores["analysis"]["substitutions"] == [["doi", "trei", 1]]

    rows = [json.loads(line) for line in (out / "per_sample.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [i for i, _, _ in QA]
    assert rows[1]["scores"]["rouge_l"] == pytest.approx(100.0)
    assert rows[5] == {
        "id": "q6",
        "prediction": None,
        "references": ["Este zi."],
        "scores": {"bleu": 0.0, "rouge_l": 0.0, "wer": 100.0},
        "stats": {
            "bleu": [0, 3, 0, 0, 0, 0, 0, 0, 0, 0],
            "rouge_l": [0.0],
            "wer": [0, 2, 0, 0],
        },  # "Este zi ."
        "details": {"words": 0},
        "status": "error",
        "error": "CUDA OOM",
    }
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "ok", "empty", "error"]


def test_missing_predictions_are_an_error_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preds, refs = _preds(tmp_path, ANSWERS), _refs(tmp_path)
    args = ["evaluate", preds, "--references", refs, "--task", "open_vqa", "--out", tmp_path / "e"]
    code, _, err = _cli(args, capsys)
    assert code == 2
    assert f"{preds}: no prediction for 2 of the 6 examples in {refs}: 'q5', 'q6'" in err.replace("\n", "")
    assert "--allow-missing" in err

    code, _, _ = _cli([*args, "--allow-missing", "--resamples", "50"], capsys)
    assert code == 0
    scores = json.loads((tmp_path / "e" / "scores.json").read_text())
    assert scores["counts"] == {"references": 6, "scored": 4, "errors": 0, "empty": 0, "missing": 2}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown_id", "preds.jsonl: 1 predictions have ids that are not in {refs}: 'q99'"),
        ("duplicate", "preds.jsonl:2: id: duplicate id 'q1' (first on line 1)"),
        (
            "wrong_task",
            "6 of 6 examples have task open_vqa (first: id 'q1'), but --task multiple_choice uses",
        ),
        ("unknown_task", "unknown task 'vqa'; known: multiple_choice, open_vqa, pope, scienceqa, yes_no"),
        ("wrong_lang", "6 examples are in 'ro' (first: id 'q1'), but --lang is 'fr'"),
        ("bad_resamples", "evaluate: resamples: Input should be greater than or equal to 0"),
        ("no_refs", "empty.jsonl: no examples to evaluate against"),
    ],
)
def test_bad_input_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, message: str
) -> None:
    refs = _refs(tmp_path)
    answers: dict[str, str | None] = dict.fromkeys([i for i, _, _ in QA], "Da.")
    task, extra = "open_vqa", []
    if case == "unknown_id":
        answers["q99"] = "x"
    elif case == "wrong_task":
        task = "multiple_choice"
    elif case == "unknown_task":
        task = "vqa"
    elif case == "wrong_lang":
        extra = ["--lang", "fr"]
    elif case == "bad_resamples":
        extra = ["--resamples", "-1"]
    elif case == "no_refs":
        refs = write_jsonl(tmp_path / "empty.jsonl", [])
    preds = _preds(tmp_path, answers)
    if case == "duplicate":
        preds.write_text(preds.read_text().splitlines()[0] + "\n" + preds.read_text())
    code, out, err = _cli(["evaluate", preds, "--references", refs, "--task", task, *extra], capsys)
    assert code == 2 and out == ""
    assert message.format(refs=refs) in " ".join(err.split())


def test_compare_runs_paired_tests_against_the_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = dict(ANSWERS) | {"q5": "Copilul ține o minge.", "q6": "Este zi."}
    bad = {i: "Nu știu." for i, _, _ in QA}
    a = _evaluate(tmp_path, good, "finetuned", capsys)
    b = _evaluate(tmp_path, bad, "zero-shot", capsys)
    out = tmp_path / "compare.json"
    code, stdout, _ = _cli(
        ["compare", a, b, "--baseline", "zero-shot", "--out", out, "--trials", "300"], capsys
    )
    assert code == 0 and "finetuned" in stdout

    result = json.loads(out.read_text())
    assert (result["baseline"], result["systems"], result["n"]) == (
        "zero-shot",
        ["finetuned", "zero-shot"],
        6,
    )
    assert set(result["metrics"]) == {"bleu", "rouge_l", "wer"} and result["skipped"] == {}
    test = result["metrics"]["rouge_l"]["tests"]["finetuned"]
    scores = result["metrics"]["rouge_l"]["scores"]
    assert test["delta"] == pytest.approx(scores["finetuned"]["score"] - scores["zero-shot"]["score"])
    assert test["delta"] > 50 and test["win_rate"] == 1.0 and test["p_value"] < 0.05
    assert result["metrics"]["wer"]["tests"]["finetuned"]["delta"] < 0  # fewer errors: better

    code, _, _ = _cli(["compare", a, b, "--method", "ar", "--trials", "200", "--out", out], capsys)
    assert code == 0 and json.loads(out.read_text())["method"] == "approximate_randomization"


def test_compare_refuses_different_example_sets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _evaluate(tmp_path, ANSWERS | {"q5": "x", "q6": "y"}, "a", capsys)
    other = tmp_path / "other"
    other.mkdir()
    _refs(other, qa=QA[:4])
    b = _evaluate(other, ANSWERS, "b", capsys)
    code, _, err = _cli(["compare", a, b, "--out", tmp_path / "c.json"], capsys)
    assert code == 2
    assert f"{b} (b) was scored on 4 examples and {a} (a) on 6: 2 only in a (e.g. ['q5', 'q6'])" in " ".join(
        err.split()
    )

    code, _, err = _cli(["compare", a, a, "--baseline", "nobody"], capsys)
    assert code == 2 and "two runs have the same system name" in err


def test_compare_skips_metrics_it_cannot_rebuild(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"id": i, "task": "yes_no", "lang": "ro", "question": q, "answers": ["Da"]} for i, q, _ in QA]
    refs = write_jsonl(tmp_path / "yn.jsonl", rows)
    runs = []
    for name, answer in (("a", "Da."), ("b", "Nu.")):
        preds = _preds(tmp_path, dict.fromkeys([i for i, _, _ in QA], answer), f"{name}.jsonl")
        out = tmp_path / name
        code, _, _ = _cli(["evaluate", preds, "--references", refs, "--task", "yes_no", "--out", out], capsys)
        assert code == 0
        runs.append(out)
    assert json.loads((runs[0] / "scores.json").read_text())["metrics"]["exact"]["score"] == 100.0
    code, _, err = _cli(["compare", *runs, "--out", tmp_path / "c.json"], capsys)
    assert code == 0 and "skipped exact" in err
    assert "no spec" in json.loads((tmp_path / "c.json").read_text())["skipped"]["exact"]
