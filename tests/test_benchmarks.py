"""Native multilingual benchmarks: each imported from a fixture in its published layout, scored per language
(with the mean over languages and the pooled figure) on literal predictions against hand-computed values.

Fixtures (tests/fixtures/benchmarks/<name>/) follow the layouts cited in data/importers.py; the MaRVL
Indonesian lines and the CVQA Japanese row are quoted from the releases (e-bug/iglue marvl-id.jsonl, the
afaji/cvqa README), the rest is written in the same layout in languages that have packs.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vlmadapt.data import import_dataset
from vlmadapt.errors import RecordError, VlmadaptError
from vlmadapt.evaluate.base import corpus_score
from vlmadapt.evaluate.by_language import merge_signatures
from vlmadapt.evaluate.multilingual import (
    AnswerMatch,
    MTVQAScorer,
    XM3600Scorer,
    mtvqa_contains,
    relaxed_match,
)
from vlmadapt.evaluate.run import resolve_scorer
from vlmadapt.evaluate.scorers import SCORERS, PopeScorer, ScienceQAScorer
from vlmadapt.jsonl import read_records, write_jsonl
from vlmadapt.records import Example

FIXTURES = Path(__file__).parent / "fixtures" / "benchmarks"
Cli = Callable[[list[str]], tuple[int, str, str]]


def _import(fmt: str, src: Path, tmp_path: Path, lang: str = "mul") -> list[dict[str, Any]]:
    dest = tmp_path / f"{fmt}-{src.stem}-{lang}.jsonl"
    import_dataset(fmt, src, dest, lang=lang)
    return [json.loads(line) for line in dest.read_text(encoding="utf-8").splitlines()]


def _refs(tmp_path: Path, records: list[dict[str, Any]], name: str = "refs.jsonl") -> Path:
    return write_jsonl(tmp_path / name, records)


def _evaluate(
    cli: Cli, tmp_path: Path, refs: Path, answers: dict[str, str], task: str, *extra: str
) -> dict[str, Any]:
    preds = write_jsonl(
        tmp_path / f"preds-{task}.jsonl", [{"id": i, "prediction": a} for i, a in answers.items()]
    )
    out = tmp_path / f"eval-{task}"
    args = ["evaluate", str(preds), "--references", str(refs), "--task", task, "--out", str(out)]
    code, _, err = cli([*args, "--resamples", "0", *extra])
    assert code == 0, err
    return json.loads((out / "scores.json").read_text(encoding="utf-8"))


def _scores(result: dict[str, Any], metric: str) -> dict[str, float]:
    """{lang: score} for each language, plus "macro" and "pooled"."""
    out = {code: part["metrics"][metric]["score"] for code, part in result["languages"].items()}
    return out | {"macro": result["macro"][metric]["score"], "pooled": result["metrics"][metric]["score"]}


# --- XM3600 ----------------------------------------------------------------------------------------------


def test_xm3600_gives_one_caption_record_per_image_and_language(tmp_path: Path) -> None:
    src = FIXTURES / "xm3600" / "captions.jsonl"
    records = _import("xm3600", src, tmp_path)
    assert [r["id"] for r in records] == [
        "xm3600-000411001ff7dd4f-fr",
        "xm3600-000411001ff7dd4f-ro",
        "xm3600-000411001ff7dd4f-zh",
        "xm3600-0009c79bd9c4a0b4-fr",
        "xm3600-0009c79bd9c4a0b4-ro",
        "xm3600-0009c79bd9c4a0b4-zh",
    ]
    assert records[1] == {
        "id": "xm3600-000411001ff7dd4f-ro",
        "task": "caption",
        "lang": "ro",
        "image": "000411001ff7dd4f.jpg",
        "answers": ["O pisică neagră doarme."],
        "meta": {"image_key": "000411001ff7dd4f", "image_locale": "fr"},
    }
    assert [r["id"] for r in _import("xm3600", src, tmp_path, lang="zh")] == [
        "xm3600-000411001ff7dd4f-zh",
        "xm3600-0009c79bd9c4a0b4-zh",
    ]
    with pytest.raises(
        VlmadaptError, match=r"no item in language 'de'; languages here: fr, ro, zh; pass --lang"
    ):
        _import("xm3600", src, tmp_path, lang="de")


def test_xm3600_bad_lines_are_located_and_skipped_with_their_reason(tmp_path: Path) -> None:
    good = (FIXTURES / "xm3600" / "captions.jsonl").read_text(encoding="utf-8").splitlines()[0]
    src = tmp_path / "captions.jsonl"
    src.write_text(f'{good}\n{{"image/key": "00aa", "image/locale": "fr"}}\nnot json\n', encoding="utf-8")
    with pytest.raises(
        RecordError, match=r"captions.jsonl:2: image/key: no language with captions on this line"
    ):
        import_dataset("xm3600", src, tmp_path / "out.jsonl", lang="mul")
    result = import_dataset("xm3600", src, tmp_path / "out.jsonl", lang="mul", on_error="skip")
    assert (result.written, result.rejected) == (3, 2)
    rejects = [json.loads(line) for line in (tmp_path / "out.rejects.jsonl").read_text().splitlines()]
    assert [(r["where"].rsplit("/", 1)[-1], r["reason"].split(":")[0]) for r in rejects] == [
        ("captions.jsonl:2", "image/key"),
        ("captions.jsonl:3", "json"),
    ]


# Predictions per image (first image, second image) and what CIDEr-D and BLEU-4 give, by hand.
# CIDEr-D: 2 images per language, no n-gram shared between their references, so every reference n-gram
# has df 1 and every weight is ln 2: cosines are plain counts. x10 (coco-caption), then x100.
#   identical caption of >= 4 units: cosine 1 at orders 1-4, no length penalty -> 10 * 4/4 = 10 -> 1000
#   fr "rien" vs "deux chiens courent vite": nothing shared -> 0.   fr: (1000 + 0) / 2 = 500
#   ro "doi câini aleargă" vs "doi câini aleargă repede": 1-grams 3/(sqrt3*2), 2-grams 2/(sqrt2*sqrt3),
#     3-grams 1/(1*sqrt2), 4-grams 0; bigram lengths 2 vs 3 -> penalty e^(-1/72):
#     10 * (0.866025 + 0.816497 + 0.707107) * 0.986207 / 4 = 5.891672 -> 589.1672;  ro: 794.5836
#   zh, characters: "三条狗" vs "两条狗奔跑": 1-grams 2/(sqrt3*sqrt5), 2-grams 1/(sqrt2*2), 3-grams 0,
#     4-grams 0; bigram lengths 2 vs 4 -> e^(-4/72): 10 * (0.516398 + 0.353553) * 0.945959 / 4 = 2.057346
#     -> 205.7346;  zh: (1000 + 205.7346) / 2 = 602.8673
# BLEU-4 (sacrebleu, exp smoothing), per language, summed over both sentences:
#   fr (13a): "un chat noir dort" = reference, "rien": matches 4/5, 3/3, 2/2, 1/1; lengths 5 vs 8
#     -> e^(1-8/5) * (0.8 * 1 * 1 * 1)^(1/4) = 0.548812 * 0.945742 -> 51.9034
#   ro (13a): "o pisică neagră doarme" vs "O pisică neagră doarme ." (case kept, "." a token) and
#     "doi câini aleargă" vs "... repede": 6/7, 4/5, 2/3, 0/1 (smoothed to 1/(2*1) = 50%); lengths 7 vs 9
#     -> e^(-2/7) * (6/7 * 0.8 * 2/3 * 0.5)^(1/4) = 0.751477 * 0.691443 -> 51.9603
#   zh (sacrebleu "zh": one token per character): 9/10, 7/8, 5/6, 4/4; lengths 10 vs 12
#     -> e^(-0.2) * (0.9 * 0.875 * 0.833333 * 1)^(1/4) = 0.818731 * 0.900054 -> 73.6900
XM3600_PREDICTIONS = {
    "fr": ("un chat noir dort", "rien"),
    "ro": ("o pisică neagră doarme", "doi câini aleargă"),
    "zh": ("一只黑猫在睡觉", "三条狗"),
}
XM3600_EXPECTED = {
    "fr": {"cider_d_x100": 500.0, "bleu": 51.9034},
    "ro": {"cider_d_x100": 794.5836, "bleu": 51.9603},
    "zh": {"cider_d_x100": 602.8673, "bleu": 73.6900},
}


@pytest.mark.parametrize("lang", ["fr", "ro", "zh"])
def test_xm3600_cider_and_bleu_tokenise_as_each_language_pack_says(tmp_path: Path, lang: str) -> None:
    examples = read_records(
        _refs(tmp_path, _import("xm3600", FIXTURES / "xm3600" / "captions.jsonl", tmp_path, lang)), Example
    )
    samples = XM3600Scorer().score_samples(examples, list(XM3600_PREDICTIONS[lang]), lang)
    scores = {s.metric.name: corpus_score(s.metric, s.stats) for s in samples}
    assert scores == pytest.approx(XM3600_EXPECTED[lang], abs=1e-3)
    signatures = {s.metric.name: s.metric.signature() for s in samples}
    assert ("tok:chars" if lang == "zh" else "tok:whitespace") in signatures["cider_d_x100"]
    assert ("tok:zh" if lang == "zh" else "tok:13a") in signatures["bleu"]


def test_xm3600_mixed_file_scores_each_language_and_pools(cli: Cli, tmp_path: Path) -> None:
    records = _import("xm3600", FIXTURES / "xm3600" / "captions.jsonl", tmp_path)
    answers = {}
    for r in records:
        first = r["image"].startswith("000411")
        answers[r["id"]] = XM3600_PREDICTIONS[r["lang"]][0 if first else 1]
    result = _evaluate(cli, tmp_path, _refs(tmp_path, records), answers, "xm3600")
    # macro: (500 + 794.5836 + 602.8673) / 3 = 632.4836; pooled: the six per-image values' mean,
    # (1000 + 0 + 1000 + 589.1672 + 1000 + 205.7346) / 6 = 632.4836 (two images in each language)
    assert _scores(result, "cider_d_x100") == pytest.approx(
        {"fr": 500.0, "ro": 794.5836, "zh": 602.8673, "macro": 632.4836, "pooled": 632.4836}, abs=1e-3
    )
    # pooled BLEU sums the counts of all six sentences, each tokenised in its language:
    # lengths 22 vs 29, matches 19/22, 14/16, 9/11, 5/6
    # -> e^(1-29/22) * (0.863636 * 0.875 * 0.818182 * 0.833333)^(1/4) = 0.727471 * 0.847231 -> 61.6336;
    # macro (51.9034 + 51.9603 + 73.6900) / 3 = 59.1846
    assert _scores(result, "bleu") == pytest.approx(
        {"fr": 51.9034, "ro": 51.9603, "zh": 73.6900, "macro": 59.1846, "pooled": 61.6336}, abs=1e-3
    )
    assert result["lang"] == "mul"
    assert "tok:13a,zh" in result["metrics"]["bleu"]["signature"]


# --- MaXM: the mixed fr + ro + en file through `vlmadapt evaluate` ----------------------------------------


def _maxm_records(tmp_path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for code in ("fr", "ro", "en"):
        out += _import("maxm", FIXTURES / "maxm" / f"maxm_v1_{code}.json", tmp_path, lang=code)
    return out


def test_maxm_questions_keep_their_language_and_answers(tmp_path: Path) -> None:
    records = _maxm_records(tmp_path)
    assert [r["id"] for r in records] == [
        "maxm-fr-fr_0009c79bd9c4a0b4_0",
        "maxm-fr-fr_00125f7b2aeb06f4_0",
        "maxm-ro-ro_0009c79bd9c4a0b4_0",
        "maxm-en-en_000411001ff7dd4f_0",
        "maxm-en-en_000411001ff7dd4f_1",
    ]
    assert records[1] == {
        "id": "maxm-fr-fr_00125f7b2aeb06f4_0",
        "task": "open_vqa",
        "lang": "fr",
        "image": "00125f7b2aeb06f4.jpg",
        "question": "Combien de chiens y a-t-il ?",
        "answers": ["deux", "2"],
        "meta": {
            "image_id": "00125f7b2aeb06f4",
            "question_id": "fr_00125f7b2aeb06f4_0",
            "is_collection": False,
            "processed_answers": ["2", "2"],
        },
    }
    with pytest.raises(VlmadaptError, match=r"maxm_v1_ro.json: no item in language 'en'; languages here: ro"):
        _import("maxm", FIXTURES / "maxm" / "maxm_v1_ro.json", tmp_path, lang="en")


# Outcome per question (exact: equal after VQA normalisation; relaxed: starts or ends with an answer):
MAXM_ANSWERS = {
    "maxm-fr-fr_0009c79bd9c4a0b4_0": "La voiture est rouge",  # "voiture est rouge": exact no, relaxed yes
    "maxm-fr-fr_00125f7b2aeb06f4_0": "",  # empty: never correct
    "maxm-ro-ro_0009c79bd9c4a0b4_0": "roşie",  # cedilla ş folded to ș: exact yes, relaxed yes
    "maxm-en-en_000411001ff7dd4f_0": "Red.",  # "red": exact yes, relaxed yes
    "maxm-en-en_000411001ff7dd4f_1": "2 people",  # exact no; starts with "2": relaxed yes
}
# exact:   fr 0/2 = 0, ro 1/1 = 100, en 1/2 = 50; macro (0 + 100 + 50) / 3 = 50; pooled 2/5 = 40
# relaxed: fr 1/2 = 50, ro 1/1 = 100, en 2/2 = 100; macro 250 / 3 = 83.3333; pooled 4/5 = 80


def test_mixed_fr_ro_en_file_scores_per_language_macro_and_pooled(cli: Cli, tmp_path: Path) -> None:
    refs = _refs(tmp_path, _maxm_records(tmp_path))
    result = _evaluate(cli, tmp_path, refs, MAXM_ANSWERS, "maxm")
    assert _scores(result, "exact_match") == pytest.approx(
        {"en": 50.0, "fr": 0.0, "ro": 100.0, "macro": 50.0, "pooled": 40.0}
    )
    assert _scores(result, "relaxed_match") == pytest.approx(
        {"en": 100.0, "fr": 50.0, "ro": 100.0, "macro": 250 / 3, "pooled": 80.0}
    )
    assert (result["lang"], result["n"], list(result["languages"])) == ("mul", 5, ["en", "fr", "ro"])
    assert result["counts"] == {"references": 5, "scored": 4, "errors": 0, "empty": 1, "missing": 0}
    assert result["languages"]["fr"]["counts"]["empty"] == 1 and result["languages"]["fr"]["n"] == 2
    assert result["macro"]["exact_match"]["languages"] == {"en": 50.0, "fr": 0.0, "ro": 100.0}
    assert result["metrics"]["exact_match"]["signature"].startswith(
        "answer-match|exact|subset:all|lang:en,fr,ro|"
    )

    rows = [
        json.loads(line) for line in (tmp_path / "eval-maxm" / "per_sample.jsonl").read_text().splitlines()
    ]
    assert [(r["id"], r["lang"], r["scores"]["exact_match"]) for r in rows] == [
        ("maxm-fr-fr_0009c79bd9c4a0b4_0", "fr", 0.0),
        ("maxm-fr-fr_00125f7b2aeb06f4_0", "fr", 0.0),
        ("maxm-ro-ro_0009c79bd9c4a0b4_0", "ro", 100.0),
        ("maxm-en-en_000411001ff7dd4f_0", "en", 100.0),
        ("maxm-en-en_000411001ff7dd4f_1", "en", 0.0),
    ]


def test_mixed_file_with_bootstrap_prints_each_language_and_compares(cli: Cli, tmp_path: Path) -> None:
    refs = _refs(tmp_path, _maxm_records(tmp_path))
    runs = []
    for system, answers in (("good", MAXM_ANSWERS), ("blank", dict.fromkeys(MAXM_ANSWERS, "?"))):
        preds = write_jsonl(
            tmp_path / f"{system}.jsonl", [{"id": i, "prediction": a} for i, a in answers.items()]
        )
        out = tmp_path / system
        code, stdout, err = cli(
            [
                "evaluate",
                str(preds),
                "--references",
                str(refs),
                "--task",
                "maxm",
                "--out",
                str(out),
                "--resamples",
                "50",
                "--system",
                system,
            ]
        )
        assert code == 0, err
        assert "per language" in stdout and "macro" in stdout
        runs.append(out)
    macro = json.loads((runs[0] / "scores.json").read_text())["macro"]["relaxed_match"]
    assert macro["low"] <= macro["score"] <= macro["high"]
    code, _, err = cli(["compare", *map(str, runs), "--baseline", "blank", "--out", str(tmp_path / "c.json")])
    assert code == 0, err
    compared = json.loads((tmp_path / "c.json").read_text())
    # pooled relaxed: good 80 against blank 0
    assert compared["metrics"]["relaxed_match"]["tests"]["good"]["delta"] == pytest.approx(80.0)


# --- xGQA --------------------------------------------------------------------------------------------------


def test_xgqa_translated_questions_keep_gqa_english_answers(cli: Cli, tmp_path: Path) -> None:
    records: list[dict[str, Any]] = []
    for code in ("en", "de"):
        src = FIXTURES / "xgqa" / "zero_shot" / f"testdev_balanced_questions_{code}.json"
        records += _import("xgqa", src, tmp_path)
    assert records[2] == {
        "id": "xgqa-de-202158849",
        "task": "open_vqa",
        "lang": "de",
        "image": "n406334.jpg",
        "question": "Ist der Bus in der Nähe der Menschen schwarz und klein?",
        "answers": ["no"],
        "meta": {
            "split": "testdev",
            "question_id": "202158849",
            "image_id": "n406334",
            "answer_lang": "en",
            "detailed": "verifyAttrsC",
            "semantic": "attr",
            "structural": "logical",
            "full_answer": "No, the bus is black but large.",
        },
    }
    answers = {
        "xgqa-en-202158849": "No.",  # "no" = "no"
        "xgqa-en-202158779": "concrete.",  # "concrete"
        "xgqa-de-202158849": "Nein",  # German for "no", but the label is English: wrong
        "xgqa-de-202158779": "Concrete",  # "concrete"
    }
    result = _evaluate(cli, tmp_path, _refs(tmp_path, records), answers, "xgqa")
    # en 2/2 = 100, de 1/2 = 50; macro 75, pooled 3/4 = 75
    assert _scores(result, "accuracy") == {"de": 50.0, "en": 100.0, "macro": 75.0, "pooled": 75.0}
    assert "lang:en|norm:vqa+en" in result["languages"]["de"]["metrics"]["accuracy"]["signature"]


def test_xgqa_file_name_gives_the_language(tmp_path: Path) -> None:
    src = tmp_path / "questions.json"
    src.write_text((FIXTURES / "xgqa" / "zero_shot" / "testdev_balanced_questions_de.json").read_text())
    with pytest.raises(VlmadaptError, match=r"questions.json: cannot tell the language from the file name"):
        import_dataset("xgqa", src, tmp_path / "out.jsonl", lang="mul")
    few_shot = tmp_path / "few_shot" / "de" / "test.json"
    few_shot.parent.mkdir(parents=True)
    few_shot.write_text(src.read_text())
    records = _import("xgqa", few_shot, tmp_path, lang="de")
    assert [(r["id"], r["meta"]["split"]) for r in records] == [
        ("xgqa-de-202158849", "test"),
        ("xgqa-de-202158779", "test"),
    ]


# --- MaRVL -------------------------------------------------------------------------------------------------


def test_marvl_statements_are_true_false_questions_about_two_images(cli: Cli, tmp_path: Path) -> None:
    records = _import("marvl", FIXTURES / "marvl" / "marvl-id.jsonl", tmp_path)
    records += _import("marvl", FIXTURES / "marvl" / "marvl-zh.jsonl", tmp_path)
    assert records[1] == {
        "id": "marvl-id-1",
        "task": "yes_no",
        "lang": "id",
        "image": "id/images/39-Panci/39-4.jpg",
        "question": "Panci di salah satu foto berada di atas kompor yang tidak menyala, sedangkan di foto "
        "lainnya, api di bawah panci menyala.",
        "answers": ["false"],
        "meta": {
            "images": ["id/images/39-Panci/39-4.jpg", "id/images/39-Panci/39-8.jpg"],
            "concept": "39-Panci",
            "label": False,
            "chapter": "Basic actions and technology",
        },
    }
    answers = {
        "marvl-id-0": "Benar.",  # yes (benar); gold true: right
        "marvl-id-1": "Salah.",  # no (salah); gold false: right
        "marvl-id-2": "Saya tidak yakin.",  # a hedge: unparsed, wrong
        "marvl-zh-0": "是的",  # yes; gold true: right
        "marvl-zh-1": "True",  # English yes; gold false: wrong
    }
    result = _evaluate(cli, tmp_path, _refs(tmp_path, records), answers, "marvl")
    # accuracy: id 2/3 = 66.6667, zh 1/2 = 50; macro 58.3333; pooled 3/5 = 60
    assert _scores(result, "accuracy") == pytest.approx(
        {"id": 200 / 3, "zh": 50.0, "macro": 175 / 3, "pooled": 60.0}
    )
    # unparsed: id 1/3 = 33.3333, zh 0; macro 16.6667; pooled 1/5 = 20
    assert _scores(result, "unparsed") == pytest.approx(
        {"id": 100 / 3, "zh": 0.0, "macro": 50 / 3, "pooled": 20.0}
    )


def test_marvl_label_must_be_a_boolean(tmp_path: Path) -> None:
    line = (FIXTURES / "marvl" / "marvl-zh.jsonl").read_text(encoding="utf-8").splitlines()[0]
    src = tmp_path / "marvl-zh.jsonl"
    src.write_text(line.replace('"label": true', '"label": "true"') + "\n", encoding="utf-8")
    with pytest.raises(RecordError, match=r"marvl-zh.jsonl:1: label: expected true or false, got str"):
        import_dataset("marvl", src, tmp_path / "out.jsonl", lang="zh")


# --- CVQA --------------------------------------------------------------------------------------------------


def test_cvqa_rows_become_the_local_question_and_its_english_version(tmp_path: Path) -> None:
    records = _import("cvqa", FIXTURES / "cvqa" / "labelled.jsonl", tmp_path)
    assert [(r["id"], r["lang"]) for r in records] == [
        ("cvqa-5919991144272485961_0-local", "ja"),
        ("cvqa-5919991144272485961_0-en", "en"),
        ("cvqa-4806202236539203381_0-local", "ro"),
        ("cvqa-4806202236539203381_0-en", "en"),
        ("cvqa-4806202236539203381_1-local", "ro"),
        ("cvqa-4806202236539203381_1-en", "en"),
    ]
    assert records[1] == {
        "id": "cvqa-5919991144272485961_0-en",
        "task": "multiple_choice",
        "lang": "en",
        "image": "5919991144272485961_0.jpg",
        "question": "What is the name of the object in the picture?",
        "choices": ["Cosmo Hoshimaru", "MYAKU-MYAKU", "Freebie", "Haibao"],
        "answer_index": 1,
        "answers": ["MYAKU-MYAKU"],
        "meta": {
            "cvqa_id": "5919991144272485961_0",
            "subset": "('Japanese', 'Japan')",
            "language": "Japanese",
            "country": "Japan",
            "local_lang": "ja",
            "question_lang": "en",
            "category": "Objects / materials / clothing",
            "image_type": "Self",
            "image_source": "Self-open",
            "license": "CC BY-SA",
        },
    }
    # --lang ro keeps the Romanian rows' questions in both languages; --lang en every English question
    assert [r["id"] for r in _import("cvqa", FIXTURES / "cvqa" / "labelled.jsonl", tmp_path, "ro")] == [
        "cvqa-4806202236539203381_0-local",
        "cvqa-4806202236539203381_0-en",
        "cvqa-4806202236539203381_1-local",
        "cvqa-4806202236539203381_1-en",
    ]
    assert len(_import("cvqa", FIXTURES / "cvqa" / "labelled.jsonl", tmp_path, "en")) == 3


CVQA_ANSWERS = {
    "cvqa-5919991144272485961_0-local": "B",  # gold B (ミャクミャク): right
    "cvqa-5919991144272485961_0-en": "D",  # gold B: wrong
    "cvqa-4806202236539203381_0-local": "Răspunsul corect este C.",  # gold C (Mămăligă): right
    "cvqa-4806202236539203381_0-en": "A",  # gold C: wrong
    "cvqa-4806202236539203381_1-local": "Nu știu.",  # unparsed: wrong
    "cvqa-4806202236539203381_1-en": "(A) Bucharest",  # gold A: right
}


def test_cvqa_accuracy_for_local_and_english_questions_per_country_language(cli: Cli, tmp_path: Path) -> None:
    refs = _refs(tmp_path, _import("cvqa", FIXTURES / "cvqa" / "labelled.jsonl", tmp_path))
    result = _evaluate(cli, tmp_path, refs, CVQA_ANSWERS, "cvqa")
    # English questions are reported under their country's language: groups ja (2 records), ro (4)
    # accuracy: ja 1/2 = 50, ro 2/4 = 50; macro 50; pooled 3/6 = 50
    assert _scores(result, "accuracy") == {"ja": 50.0, "ro": 50.0, "macro": 50.0, "pooled": 50.0}
    # local: ja 1/1 = 100, ro 1/2 = 50; macro 75; pooled 2/3 = 66.6667
    assert _scores(result, "accuracy@local") == pytest.approx(
        {"ja": 100.0, "ro": 50.0, "macro": 75.0, "pooled": 200 / 3}
    )
    # English: ja 0/1 = 0, ro 1/2 = 50; macro 25; pooled 1/3 = 33.3333
    assert _scores(result, "accuracy@en") == pytest.approx(
        {"ja": 0.0, "ro": 50.0, "macro": 25.0, "pooled": 100 / 3}
    )
    # unparsed: ja 0/2, ro 1/4 = 25; pooled 1/6 = 16.6667
    assert result["metrics"]["unparsed"]["score"] == pytest.approx(100 / 6)
    assert "lang:en,ro" in result["languages"]["ro"]["metrics"]["accuracy"]["signature"]


def test_cvqa_public_test_set_hides_its_labels(cli: Cli, tmp_path: Path) -> None:
    records = _import("cvqa", FIXTURES / "cvqa" / "public.jsonl", tmp_path)
    assert [(r["id"], r.get("answer_index"), r.get("image")) for r in records] == [
        ("cvqa-5919991144272485961_0-local", None, None),
        ("cvqa-5919991144272485961_0-en", None, None),
    ]
    preds = write_jsonl(tmp_path / "p.jsonl", [{"id": r["id"], "prediction": "B"} for r in records])
    refs = _refs(tmp_path, records)
    code, _, err = cli(["evaluate", str(preds), "--references", str(refs), "--task", "cvqa"])
    assert code == 2
    assert "CVQA's public test set hides its labels (Label -1)" in " ".join(err.split())


def test_cvqa_unknown_language_is_located(tmp_path: Path) -> None:
    row = json.loads((FIXTURES / "cvqa" / "public.jsonl").read_text(encoding="utf-8"))
    src = write_jsonl(tmp_path / "cvqa.jsonl", [row | {"Subset": "('Klingon', 'Qo\\'noS')"}])
    with pytest.raises(
        RecordError, match=r"cvqa.jsonl:1: Subset: unknown language 'Klingon'; known: Amharic"
    ):
        import_dataset("cvqa", src, tmp_path / "out.jsonl", lang="mul")


# --- MTVQA -------------------------------------------------------------------------------------------------


def test_mtvqa_rows_give_one_record_per_question(tmp_path: Path) -> None:
    records = _import("mtvqa", FIXTURES / "mtvqa" / "test.jsonl", tmp_path)
    assert [r["id"] for r in records] == [
        "mtvqa-fr-101-0",
        "mtvqa-fr-101-1",
        "mtvqa-fr-101-2",
        "mtvqa-de-207-0",
        "mtvqa-de-207-1",
    ]
    assert records[2] == {
        "id": "mtvqa-fr-101-2",
        "task": "open_vqa",
        "lang": "fr",
        "image": "fr_0101.jpg",
        "question": "Qu'est-ce qui est écrit sur le panneau vert ?",
        "answers": ["Sortie"],
        "meta": {"image_id": 101, "qa_index": 2},
    }


def test_mtvqa_reads_the_hubs_parquet_without_the_image_bytes(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in (FIXTURES / "mtvqa" / "test.jsonl").read_text().splitlines()]
    rows[0]["image"]["bytes"] = b"\xff\xd8\xff not read"
    src = tmp_path / "test-00000-of-00003.parquet"
    pq.write_table(pa.Table.from_pylist(rows), src)
    records = _import("mtvqa", src, tmp_path, lang="de")
    assert [(r["id"], r["image"], r["answers"]) for r in records] == [
        ("mtvqa-de-207-0", "de_0207.jpg", ["Ausgang"]),
        ("mtvqa-de-207-1", "de_0207.jpg", ["Apotheke"]),
    ]


# --- images the Hub's Parquet embeds -------------------------------------------------------------------

# A 3 x 2 PNG, pixel by pixel (row-major): red, green, blue / white, black, grey.
PNG_PIXELS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0), (128, 128, 128)]


def _png() -> bytes:
    from PIL import Image

    im = Image.new("RGB", (3, 2))
    im.putdata(PNG_PIXELS)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


def _parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def _named(data: bytes, suffix: str) -> str:
    """The name the importer gives embedded bytes: their SHA-256, 16 hex digits, and the format's suffix."""
    return hashlib.sha256(data).hexdigest()[:16] + suffix


def _cvqa_parquet(tmp_path: Path) -> tuple[Path, bytes, bytes]:
    rows = [json.loads(line) for line in (FIXTURES / "cvqa" / "labelled.jsonl").read_text().splitlines()]
    png, jpeg = _png(), _jpeg()
    # The Hub's rows keep the uploaded file's name in `path`; the suffix comes from the bytes, not from it.
    rows[0]["image"]["bytes"] = png  # path "5919991144272485961_0.jpg", but a PNG
    rows[1]["image"]["bytes"] = jpeg
    # rows[2]: no bytes, only the path: kept as it is
    return _parquet(tmp_path / "test-00000-of-00001.parquet", rows), png, jpeg


def test_cvqa_parquet_images_are_written_beside_the_records(tmp_path: Path) -> None:
    from PIL import Image

    from vlmadapt.images import load_image

    src, png, jpeg = _cvqa_parquet(tmp_path)
    dest = tmp_path / "cvqa.jsonl"
    result = import_dataset("cvqa", src, dest, lang="mul")
    folder = tmp_path / "cvqa.images"
    records = [json.loads(line) for line in dest.read_text(encoding="utf-8").splitlines()]
    png_name, jpeg_name = _named(png, ".png"), _named(jpeg, ".jpg")
    assert [(r["id"], r["image"]) for r in records] == [
        ("cvqa-5919991144272485961_0-local", png_name),
        ("cvqa-5919991144272485961_0-en", png_name),  # one file for both questions
        ("cvqa-4806202236539203381_0-local", jpeg_name),
        ("cvqa-4806202236539203381_0-en", jpeg_name),
        ("cvqa-4806202236539203381_1-local", "4806202236539203381_1.jpg"),
        ("cvqa-4806202236539203381_1-en", "4806202236539203381_1.jpg"),
    ]
    assert sorted(p.name for p in folder.iterdir()) == sorted([png_name, jpeg_name])
    assert (result.images, result.images_path) == (2, folder)
    assert (folder / png_name).read_bytes() == png
    with Image.open(folder / png_name) as im:
        assert (im.format, im.size) == ("PNG", (3, 2))
    with Image.open(folder / jpeg_name) as im:
        assert (im.format, im.size) == ("JPEG", (4, 4))
    # what `vlmadapt predict --image-root cvqa.images` loads for the first record
    loaded = load_image(folder, records[0]["image"])
    assert [loaded.getpixel((x, y)) for y in range(2) for x in range(3)] == PNG_PIXELS

    # a second import writes nothing new and rewrites nothing
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    import_dataset("cvqa", src, dest, lang="mul")
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    assert [json.loads(line) for line in dest.read_text(encoding="utf-8").splitlines()] == records


def test_cvqa_parquet_images_of_the_kept_language_only(tmp_path: Path) -> None:
    src, png, _ = _cvqa_parquet(tmp_path)
    records = _import("cvqa", src, tmp_path, lang="ja")
    folder = tmp_path / f"cvqa-{src.stem}-ja.images"
    assert [r["image"] for r in records] == [_named(png, ".png")] * 2
    assert [p.name for p in folder.iterdir()] == [_named(png, ".png")]


def test_mtvqa_parquet_images_go_to_the_image_root_given(cli: Cli, tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (FIXTURES / "mtvqa" / "test.jsonl").read_text().splitlines()]
    png = _png()
    rows[1]["image"]["bytes"] = png
    src = _parquet(tmp_path / "test-00000-of-00003.parquet", rows)
    root = tmp_path / "images"
    root.mkdir()
    dest = tmp_path / "mtvqa.jsonl"
    code, out, err = cli(["data", "import", "mtvqa", str(src), str(dest), "--lang", "de"])
    assert code == 0, err
    code, out, err = cli(
        ["data", "import", "mtvqa", str(src), str(dest), "--lang", "de", "--image-root", str(root)]
    )
    assert code == 0, err
    assert "wrote 2 records" in out and f"wrote 1 embedded image to {root}" in out.replace("\n", "")
    records = [json.loads(line) for line in dest.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["image"]) for r in records] == [
        ("mtvqa-de-207-0", _named(png, ".png")),
        ("mtvqa-de-207-1", _named(png, ".png")),
    ]
    assert [p.name for p in root.iterdir()] == [_named(png, ".png")]
    assert (root / _named(png, ".png")).read_bytes() == png
    # the first import, without --image-root, wrote the same file to its default folder
    assert [p.name for p in (tmp_path / "mtvqa.images").iterdir()] == [_named(png, ".png")]


REJECTED_BYTES = "image.bytes: the embedded 12 bytes are not an image Pillow can read"


def test_embedded_bytes_that_are_no_image_are_located_and_leave_no_file(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (FIXTURES / "mtvqa" / "test.jsonl").read_text().splitlines()]
    rows[0]["image"]["bytes"] = b"\xff\xd8\xff not read"  # 12 bytes, a JPEG's first three
    rows[1]["image"]["bytes"] = _png()
    # an image that is fine, in a row that is not: no record, so no file
    empty = "[{'question': ' ', 'answer': 'Sortie'}]"
    rows.append(
        {"image": {"bytes": _jpeg(), "path": "fr_0102.jpg"}, "qa_pairs": empty, "lang": "FR", "id": 102}
    )
    src = _parquet(tmp_path / "test.parquet", rows)
    dest = tmp_path / "mtvqa.jsonl"
    with pytest.raises(
        RecordError,
        match=r"test.parquet: row 0, qa_pair 0: image.bytes: the embedded 12 bytes are not an image Pillow",
    ):
        import_dataset("mtvqa", src, dest, lang="fr")
    assert not (tmp_path / "mtvqa.images").exists()
    result = import_dataset("mtvqa", src, dest, lang="mul", on_error="skip")
    assert (result.written, result.rejected, result.images) == (2, 4, 1)
    rejects = [json.loads(line) for line in (tmp_path / "mtvqa.rejects.jsonl").read_text().splitlines()]
    assert [(r["where"].rsplit("/", 1)[-1], r["reason"]) for r in rejects] == [
        ("test.parquet: row 0, qa_pair 0", REJECTED_BYTES),
        ("test.parquet: row 0, qa_pair 1", REJECTED_BYTES),
        ("test.parquet: row 0, qa_pair 2", REJECTED_BYTES),
        ("test.parquet: row 2, qa_pair 0", "qa_pairs.0.question: empty text"),
    ]
    # the rejects file holds the row as read, its bytes as their length
    assert rejects[0]["record"]["image"] == {"bytes": "<12 bytes>", "path": "fr_0101.jpg"}
    assert [p.name for p in (tmp_path / "mtvqa.images").iterdir()] == [
        _named(rows[1]["image"]["bytes"], ".png")
    ]


def test_a_damaged_embedded_image_is_refused(tmp_path: Path) -> None:
    from vlmadapt.data.importers import ImageStore

    store = ImageStore(tmp_path / "images")
    with pytest.raises(ValueError, match=r"^the embedded image is damaged \("):
        store.stage(_png()[:60])  # the header and part of the pixel data
    assert store.stage(_png()) == _named(_png(), ".png")
    assert not (tmp_path / "images").exists()  # staged, not written


MTVQA_ANSWERS = {
    "mtvqa-fr-101-0": "Boulangerie Paul, ouvert de 7h à 19h",  # contains "boulangerie"; not equal
    "mtvqa-fr-101-1": "2,50 €",  # contains; equal ("2.50 €" both, decimal comma)
    "mtvqa-fr-101-2": "",  # empty: neither
    "mtvqa-de-207-0": "ausgang",  # contains; equal
    "mtvqa-de-207-1": "Apotheke Bahnhof Öffnungszeiten Montag bis Freitag",  # all the sign's words: contains
}


def test_mtvqa_official_substring_accuracy_beside_exact_match(cli: Cli, tmp_path: Path) -> None:
    refs = _refs(tmp_path, _import("mtvqa", FIXTURES / "mtvqa" / "test.jsonl", tmp_path))
    result = _evaluate(cli, tmp_path, refs, MTVQA_ANSWERS, "mtvqa")
    # official: fr 2/3 = 66.6667, de 2/2 = 100; macro 83.3333 (acc.py's "Average acc"); pooled 4/5 = 80
    assert _scores(result, "accuracy") == pytest.approx(
        {"fr": 200 / 3, "de": 100.0, "macro": 250 / 3, "pooled": 80.0}
    )
    # exact: fr 1/3 = 33.3333, de 1/2 = 50; macro 41.6667; pooled 2/5 = 40
    assert _scores(result, "exact_match") == pytest.approx(
        {"fr": 100 / 3, "de": 50.0, "macro": 125 / 3, "pooled": 40.0}
    )
    assert "match:substring" in result["metrics"]["accuracy"]["signature"]
    assert "official" in (MTVQAScorer.__doc__ or "") and "stricter" in (MTVQAScorer.__doc__ or "")


# --- matching rules and the registry -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "reference", "lang", "expected"),
    [
        ("Red bus", "red", "en", True),  # starts with it
        ("It is red", "red", "en", True),  # ends with it
        ("reddish", "red", "en", False),  # not at a word boundary
        ("big red car", "red", "en", False),  # inside: not relaxed
        ("", "red", "en", False),  # empty prediction
        ("the", "the", "en", True),  # an article alone stays its own word
        ("红色的车", "红色", "zh", True),  # no spaces: by characters
        ("La voiture est rouge.", "rouge", "fr", True),
    ],
)
def test_relaxed_match(prediction: str, reference: str, lang: str, expected: bool) -> None:
    assert relaxed_match(prediction, reference, lang) is expected


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("The sign says EXIT", "exit", True),
        ("not here", "no", True),  # the official test rewards any containing word
        ("3.5", "3.5", False),  # acc.py removes periods from the prediction only
        ("anything", "", False),  # an empty reference matches nothing (acc.py: everything)
        ("", "exit", False),
    ],
)
def test_mtvqa_contains_as_published(prediction: str, reference: str, expected: bool) -> None:
    assert mtvqa_contains(prediction, reference) is expected


def test_answer_match_counts_each_sample_once() -> None:
    metric = AnswerMatch("exact", "en")
    stats = metric.sample_stats(["two", "", "Three"], [["2"], ["2"], ["three", "3"]])
    assert stats.tolist() == [[1.0, 1.0], [0.0, 1.0], [1.0, 1.0]]
    assert corpus_score(metric, stats) == pytest.approx(200 / 3)


def test_record_tasks_still_resolve_to_their_default_scorers() -> None:
    # marvl scores yes_no and cvqa multiple_choice too, but only when named
    assert isinstance(resolve_scorer("yes_no", SCORERS), PopeScorer)
    assert isinstance(resolve_scorer("multiple_choice", SCORERS), ScienceQAScorer)
    assert resolve_scorer("mtvqa", SCORERS).name == "mtvqa"


def test_an_existing_scorer_scores_a_mixed_file_per_language(cli: Cli, tmp_path: Path) -> None:
    def item(i: str, lang: str, question: str, choices: list[str], gold: int) -> dict[str, Any]:
        record = {"id": i, "task": "multiple_choice", "lang": lang, "question": question, "choices": choices}
        return record | {"answer_index": gold}

    records = [
        item("fr1", "fr", "Quelle couleur ?", ["rouge", "bleu"], 0),
        item("ro1", "ro", "Ce culoare?", ["roșu", "albastru"], 1),
        item("ro2", "ro", "Câte?", ["unu", "doi"], 1),
        item("en1", "en", "Which color?", ["red", "blue"], 0),
    ]
    answers = {"fr1": "La réponse est A.", "ro1": "A", "ro2": "Răspunsul corect este B.", "en1": "B"}
    result = _evaluate(cli, tmp_path, _refs(tmp_path, records), answers, "scienceqa")
    # fr 1/1 = 100, ro 1/2 = 50, en 0/1 = 0; macro 50; pooled 2/4 = 50
    assert _scores(result, "accuracy") == {"en": 0.0, "fr": 100.0, "ro": 50.0, "macro": 50.0, "pooled": 50.0}


def test_merge_signatures_lists_what_differs() -> None:
    assert merge_signatures(["bleu|tok:13a|lang:fr", "bleu|tok:zh|lang:zh"]) == "bleu|tok:13a,zh|lang:fr,zh"
    assert merge_signatures(["a|b", "a|b"]) == "a|b"
    assert merge_signatures(["a|b", "a"]) == "a|b || a"
