"""Quality checks, tiers, threshold fitting, the judge, round-trip chrF and the `quality` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vlmadapt.errors import VlmadaptError
from vlmadapt.jsonl import read_records, write_jsonl
from vlmadapt.llm.backends import BackendConfig
from vlmadapt.llm.devserver import DevServer
from vlmadapt.quality import Band, QualityConfig, fit_thresholds, run
from vlmadapt.quality.checks import copy_share, length_dev, repetition
from vlmadapt.quality.comet import CometConfig, comet_scores
from vlmadapt.quality.judge import parse_mqm
from vlmadapt.quality.run import render
from vlmadapt.quality.tiers import DEFAULT_BANDS, assign_tier, weighted_kappa
from vlmadapt.records import Example, SourceText
from vlmadapt.translate import TranslateConfig
from vlmadapt.translate import run as translate

MULTI30K = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "multi30k"
# Multi30K task 1 val, lines 1-6 (Elliott et al. 2016): Flickr30k captions and their human French
# translations.
PAIRS_EN_FR = [
    ("A group of men are loading cotton onto a truck", "Un groupe d'hommes chargent du coton dans un camion"),
    ("A man sleeping in a green room on a couch.", "Un homme dormant dans une chambre verte sur un canapé."),
    (
        "A boy wearing headphones sits on a woman's shoulders.",
        "Un garçon avec des écouteurs est assis sur les épaules d'une femme.",
    ),
    (
        "Two men setting up a blue ice fishing hut on an iced over lake",
        "Deux hommes installant une cabane de pêche bleue sur un lac gelé",
    ),
    (
        "A balding man wearing a red life jacket is sitting in a small boat.",
        "Un homme dégarni portant un gilet de sauvetage rouge est assis dans un petit bateau.",
    ),
    (
        "A lady in a red coat, holding a bluish hand bag likely of asian descent, jumping off the ground "
        "for a snapshot.",
        "Une dame en manteau rouge, tenant un sac à main bleuté, probablement d'origine asiatique, "
        "sautant en l'air pour une photo.",
    ),
]


def _caption(i: str, en: str, fr: str) -> Example:
    return Example(id=i, task="caption", lang="fr", answers=[fr], source=SourceText(lang="en", answers=[en]))


def _pairs(src: str, tgt: str) -> list[tuple[str, str, str]]:
    return [("answers[0]", src, tgt)]


@pytest.mark.parametrize(
    ("src", "tgt", "dev", "rep", "copy"),
    [
        # |ln(31 / 26)|; 26 and 31 characters
        ("A man sleeping on a couch.", "Un homme dormant sur un canapé.", 0.17589, 0.0, 0.0),
        ("A man sleeping on a couch.", "A man sleeping on a couch.", 0.0, 0.0, 1.0),
        # |ln(35 / 26)|; 6 trigrams, 2 distinct -> 1 - 2/6 repeated
        ("A man sleeping on a couch.", "un homme un homme un homme un homme", 0.29725, 2 / 3, 0.0),
        ("Yes", "Da", None, None, None),  # too short to judge
    ],
)
def test_check_values(src: str, tgt: str, dev: float | None, rep: float | None, copy: float | None) -> None:
    pairs = _pairs(src, tgt)
    got = (length_dev(pairs, 20), repetition(pairs), copy_share(pairs, "en", "fr"))
    assert got == (
        pytest.approx(dev, abs=1e-5) if dev is not None else None,
        pytest.approx(rep) if rep else rep,
        copy,
    )


@pytest.mark.parametrize(
    ("answer", "score", "counts"),
    [
        ("Critical:\nno-error\nMajor:\nno-error\nMinor:\nno-error\n", 0.0, (0, 0, 0)),
        (
            'Critical:\nno-error\nMajor:\naccuracy/omission - "past"\nMinor:\nfluency/grammar - "a"\n',
            -6.0,
            (0, 1, 1),
        ),
        ("**Critical:**\nnon-translation - whole text\nMajor:\nMinor:\n", -25.0, (1, 0, 0)),
        ("Major:\n" + "accuracy/mistranslation - x\n" * 7, -25.0, (0, 7, 0)),  # five counted, floored at -25
        ("Minor:\n" + "style/awkward - x\n" * 7, -5.0, (0, 0, 7)),
        ("The translation looks fine to me.", None, (0, 0, 0)),
    ],
)
def test_parse_mqm(answer: str, score: float | None, counts: tuple[int, int, int]) -> None:
    got, errors = parse_mqm(answer)
    assert got == score
    assert (len(errors["critical"]), len(errors["major"]), len(errors["minor"])) == counts


@pytest.mark.parametrize(
    ("checks", "tier", "reasons"),
    [
        ({"structure_errors": 0, "lang_conf": 0.95, "length_dev": 0.1}, "high", []),
        (
            {"structure_errors": 0, "lang_conf": 0.6, "length_dev": 0.7},
            "moderate",
            ["lang_conf 0.6 < 0.7", "length_dev 0.7 > 0.53"],
        ),
        (
            {"structure_errors": 2, "lang_conf": 0.3, "length_dev": 0.7},
            "low",
            ["structure_errors 2 > 0", "lang_conf 0.3 < 0.4"],
        ),
        ({"lang_conf": None, "copy_share": None}, "high", []),
        ({"judge_mqm": -6.0, "chrf_roundtrip": 55.0}, "low", ["judge_mqm -6 < -5"]),
    ],
)
def test_assign_tier(checks: dict[str, Any], tier: str, reasons: list[str]) -> None:
    assert assign_tier(checks, DEFAULT_BANDS) == (tier, reasons)


def test_bands_are_configured_key_by_key(tmp_path: Path) -> None:
    from vlmadapt.config import apply_overrides, build_config
    from vlmadapt.errors import ConfigError

    data = apply_overrides({"input": "x.jsonl"}, ["bands.lang_conf.low=0.3"])
    cfg = build_config(QualityConfig, data, "quality")
    assert cfg.bands == {"lang_conf": Band(high=0.7, low=0.3)}
    with pytest.raises(ConfigError, match=r"quality: bands: Value error, unknown feature 'fluency'; known: "):
        build_config(QualityConfig, apply_overrides(data, ["bands.fluency.low=1"]), "quality")
    with pytest.raises(ConfigError, match=r"bands.lang_conf: Value error, band needs low <= high"):
        build_config(QualityConfig, apply_overrides(data, ["bands.lang_conf.low=0.9"]), "quality")


def test_band_must_be_ordered() -> None:
    with pytest.raises(ValueError, match=r"band needs low <= high"):
        Band(high=0.2, low=0.5)
    with pytest.raises(ValueError, match=r"band needs high <= low"):
        Band(high=0.5, low=0.2, higher_is_better=False)


def test_weighted_kappa() -> None:
    # Worked by hand: observed weighted disagreement 0.125, expected 0.34375 -> 1 - 0.125 / 0.34375 = 7/11.
    assert weighted_kappa(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1])) == pytest.approx(7 / 11)
    assert weighted_kappa(np.array([0, 1, 2]), np.array([0, 1, 2])) == 1.0
    assert weighted_kappa(np.array([0, 0, 2, 2]), np.array([2, 2, 0, 0])) == pytest.approx(-1.0)


def test_fit_thresholds_recovers_the_auditors_cut_points() -> None:
    values = np.linspace(0, 1, 201)
    labels = [
        {"id": f"r{i}", "tier": "high" if v >= 0.9 else "low" if v < 0.6 else "moderate"}
        for i, v in enumerate(values)
    ]
    checks = [
        {"id": f"r{i}", "checks": {"lang_conf": float(v), "length_dev": 0.1, "comet": None}}
        for i, v in enumerate(values)
    ]
    fit = fit_thresholds(labels, checks)
    assert fit.n == 201 and fit.kappa_before < 0.9
    assert fit.kappa == 1.0 and fit.accuracy == 1.0
    assert fit.bands["lang_conf"].high == pytest.approx(0.9) and fit.bands["lang_conf"].low == pytest.approx(
        0.6
    )
    assert fit.bands["comet"] == DEFAULT_BANDS["comet"]  # no data: untouched
    with pytest.raises(VlmadaptError, match=r"no labelled id has checks"):
        fit_thresholds({"x": "high"}, checks)
    with pytest.raises(VlmadaptError, match=r"tier 'great' is not one of low, moderate, high"):
        fit_thresholds({"r1": "great"}, checks)


def _corrupted(en: str, fr: str) -> dict[str, Example]:
    words = fr.split()
    return {
        "copy": _caption("copy", en, en),
        "loop": _caption("loop", en, " ".join(words[:3] * 6)),
        "cut": _caption("cut", en, words[0]),
        "number": _caption(
            "number", "There are 2 dogs and 3 cats on the sofa.", "Il y a des chiens et 3 chats."
        ),
    }


def test_quality_tiers_human_translations_high_and_broken_ones_low(tmp_path: Path) -> None:
    good = [_caption(f"good{i}", en, fr) for i, (en, fr) in enumerate(PAIRS_EN_FR)]
    bad = _corrupted(*PAIRS_EN_FR[4])
    src = write_jsonl(tmp_path / "fr.jsonl", [*good, *bad.values()])
    rows = {r["id"]: r for r in map(json.loads, run(QualityConfig(input=src)).read_text().splitlines())}
    assert [rows[f"good{i}"]["tier"] for i in range(6)] == ["high"] * 6
    assert {k: rows[k]["tier"] for k in bad} == dict.fromkeys(bad, "low")
    assert rows["copy"]["reasons"][0].startswith("copy_share 1 > 0.34")
    assert any(r.startswith("repetition") for r in rows["loop"]["reasons"])
    assert any(r.startswith("length_dev") for r in rows["cut"]["reasons"])
    assert rows["number"]["problems"] == ["answers[0]: number 2 missing"]
    summary = json.loads((tmp_path / "fr.quality.summary.json").read_text())
    assert summary["distribution"] == {"high": 6, "moderate": 0, "low": 4}


@pytest.mark.skipif(not MULTI30K.is_dir(), reason="Multi30K lives in ../shared/data/multi30k (absent here)")
def test_quality_on_real_multi30k_french(tmp_path: Path) -> None:
    en = (MULTI30K / "val.en").read_text(encoding="utf-8").splitlines()
    fr = (MULTI30K / "val.fr").read_text(encoding="utf-8").splitlines()
    records = [_caption(f"m{i}", e, f) for i, (e, f) in enumerate(zip(en, fr, strict=True))]
    copies = [_caption(f"en{i}", e, e) for i, e in enumerate(en[:200])]
    src = write_jsonl(tmp_path / "fr.jsonl", records + copies)
    rows = [json.loads(line) for line in run(QualityConfig(input=src)).read_text().splitlines()]
    human = [r["tier"] for r in rows if r["id"].startswith("m")]
    assert human.count("high") / len(human) > 0.9
    assert human.count("low") / len(human) < 0.02
    assert all(r["tier"] == "low" for r in rows if r["id"].startswith("en"))


def test_roundtrip_judge_and_cli(tmp_path: Path) -> None:
    from vlmadapt.cli import main

    src = write_jsonl(
        tmp_path / "en.jsonl",
        [
            Example(id="a", task="caption", lang="en", answers=["A man sleeping on a green couch."]),
            Example(
                id="b", task="yes_no", lang="en", question="Is there a dog in the image?", answers=["yes"]
            ),
        ],
    )
    with DevServer() as server:  # its stand-in translation reverses words: a round trip restores them
        backend = BackendConfig(model="dev", url=server.url)
        out = translate(
            TranslateConfig(
                input=src, output=tmp_path / "ro.jsonl", target="ro", backend=backend, progress=False
            )
        )
        cfg = QualityConfig(input=out, roundtrip=backend)
        rows = [json.loads(line) for line in run(cfg).read_text().splitlines()]
    assert [r["checks"]["chrf_roundtrip"] for r in rows] == [100.0, 100.0]
    reply = 'Critical:\nno-error\nMajor:\naccuracy/omission - "green"\nMinor:\nno-error\n'
    labels = write_jsonl(
        tmp_path / "labels.jsonl", [{"id": "a", "tier": "moderate"}, {"id": "b", "tier": "low"}]
    )
    with DevServer(reply=reply) as judge:
        with pytest.raises(SystemExit) as done:
            main(
                [
                    "quality",
                    str(out),
                    "--judge-url",
                    judge.url,
                    "--judge-model",
                    "judge",
                    "--labels",
                    str(labels),
                ]
            )
        assert done.value.code == 0
        assert judge.completions == 2 and judge.last_body is not None
        assert "Romanian translation:\n```" in judge.last_body["messages"][-1]["content"]
    rows = [json.loads(line) for line in (tmp_path / "ro.quality.jsonl").read_text().splitlines()]
    assert [r["checks"]["judge_mqm"] for r in rows] == [-5.0, -5.0]
    assert json.loads((tmp_path / "ro.quality.summary.json").read_text())["fit"]["n"] == 2
    text = render(tmp_path / "ro.quality.jsonl")
    assert text.splitlines()[0].startswith("2 records: high ")


def test_quality_input_errors(tmp_path: Path) -> None:
    src = write_jsonl(
        tmp_path / "plain.jsonl", [Example(id="x1", task="caption", lang="fr", answers=["Un chat."])]
    )
    with pytest.raises(VlmadaptError, match=r"plain.jsonl: record 'x1' has no source texts"):
        run(QualityConfig(input=src))
    pytest.importorskip("numpy")
    try:
        import comet  # noqa: F401
    except ImportError:
        with pytest.raises(VlmadaptError, match=r"quality.comet: needs the unbabel-comet package"):
            comet_scores([("a", "b")], CometConfig(checkpoint=tmp_path / "model.ckpt"))
    else:
        with pytest.raises(VlmadaptError, match=r"model.ckpt: no such checkpoint file"):
            comet_scores([("a", "b")], CometConfig(checkpoint=tmp_path / "model.ckpt"))
    assert read_records(src)[0].source is None
