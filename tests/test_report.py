"""`vlmadapt report` on small evaluation directories written here in the documented layout (base.py)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from vlmadapt.cli import main
from vlmadapt.errors import VlmadaptError
from vlmadapt.report import ReportConfig, run

IDS = ["pope-random-1", "pope-random-2", "pope-popular-1", "pope-popular-2"]
SPLITS = ["random", "random", "popular", "popular"]
QUESTIONS = ["Y a-t-il un chien ?", "Y a-t-il un chat & une souris ?", "Y a-t-il une voiture ?", "Un vélo ?"]
XSS = "<script>alert(1)</script>"
# per-sample [correct, unparsed, counted] (ChoiceMetric's layout) and answers, by hand:
# base: correct on 1, 2, 3 -> accuracy 75; random split 2/2 -> 100
# ft:   correct on 1, 3; the XSS answer unparsed -> accuracy 50; random split 1/2 -> 50; unparsed 25
SYSTEMS: dict[str, dict[str, Any]] = {
    "base": {
        "answers": ["Oui.", "Non.", "Non | vraiment.", "Oui."],
        "correct": [1, 1, 1, 0],
        "unparsed": [0, 0, 0, 0],
        "ci": (50.0, 100.0),
    },
    "ft <b>x</b>": {
        "answers": ["Oui.", XSS, "Non.", "Oui."],
        "correct": [1, 0, 1, 0],
        "unparsed": [0, 1, 0, 0],
        "ci": (25.0, 75.0),
    },
}


def _spec(kind: str, subset: str | None = None) -> dict[str, Any]:
    args = {"kind": kind, "lang": "fr", "subset": subset, "label": None}
    return {"class": "vlmadapt.evaluate.scorers.ChoiceMetric", "args": args}


def _write_run(folder: Path, system: str, refs: Path, image_root: Path) -> Path:
    s = SYSTEMS[system]
    stats = [[c, u, 1.0] for c, u in zip(s["correct"], s["unparsed"], strict=True)]
    random_stats = [row if split == "random" else [0, 0, 0] for row, split in zip(stats, SPLITS, strict=True)]
    acc = 100 * sum(s["correct"]) / 4
    acc_random = 100 * sum(r[0] for r in random_stats) / sum(r[2] for r in random_stats)
    metrics = {
        "accuracy": (acc, *s["ci"], True, _spec("accuracy")),
        "unparsed": (100 * sum(s["unparsed"]) / 4, 0.0, 50.0, False, _spec("unparsed")),
        "accuracy@random": (acc_random, 0.0, 100.0, True, _spec("accuracy", "random")),
    }
    scores = {
        "system": system,
        "task": "pope",
        "scorer": "pope",
        "lang": "fr",
        "n": 4,
        "counts": {"references": 4, "scored": 4, "errors": 0, "empty": 0, "missing": 0},
        "metrics": {
            name: {
                "score": v,
                "low": lo,
                "high": hi,
                "signature": f"choice|{name}",
                "higher_is_better": hib,
                "spec": sp,
            }
            for name, (v, lo, hi, hib, sp) in metrics.items()
        },
        "bootstrap": {"resamples": 1000, "seed": 12345, "confidence": 0.95},
        "predictions": "preds.jsonl",
        "references": str(refs),
        "image_root": str(image_root),
        "provenance": {"git": "abc123", "created": "2025-01-01T00:00:00+00:00"},
    }
    folder.mkdir(parents=True)
    (folder / "scores.json").write_text(json.dumps(scores), encoding="utf-8")
    rows = []
    for i, ex_id in enumerate(IDS):
        row_stats = {"accuracy": stats[i], "unparsed": stats[i], "accuracy@random": random_stats[i]}
        rows.append(
            {
                "id": ex_id,
                "prediction": s["answers"][i],
                "references": ["oui" if i in (0, 3) else "non"],
                "scores": {"accuracy": 100.0 * s["correct"][i]},
                "stats": row_stats,
                "details": {"parsed": None if s["unparsed"][i] else "yes", "rule": "leading"},
                "status": "ok",
            }
        )
    (folder / "per_sample.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(images / "a.png")
    refs = tmp_path / "pope.fr.jsonl"
    examples = [
        {"id": i, "task": "yes_no", "lang": "fr", "image": "a.png", "question": q, "answers": ["oui"]}
        for i, q in zip(IDS, QUESTIONS, strict=True)
    ]
    refs.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples), encoding="utf-8")
    base = _write_run(tmp_path / "base" / "eval-pope", "base", refs, images)
    ft = _write_run(tmp_path / "ft" / "eval-pope", "ft <b>x</b>", refs, images)
    history = [
        {"step": 10, "loss": 2.0},
        {"step": 20, "loss": 1.5},
        {"step": 20, "eval_loss": 1.7},
        {"foo": 1},
    ]
    (tmp_path / "ft" / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    return [base, ft]


def test_report_tables_numbers_and_files(tmp_path: Path, runs: list[Path]) -> None:
    out = run(ReportConfig(runs=runs, out=tmp_path / "rep", baseline="base", trials=200, examples=4))
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| base (baseline) | 75.00 [50.00, 100.00] | 0.00 [0.00, 50.00] |" in md
    assert re.search(
        r"\| ft <b>x</b> \| 50\.00 \[25\.00, 75\.00\] \(-25\.00\*?\) \| 25\.00 \[0\.00, 50\.00\] \(\+25\.00",
        md,
    )
    assert "| random | base (baseline) | 100.00 [0.00, 100.00] |" in md
    assert "Non \\| vraiment." in md  # a pipe inside an answer cannot break the table
    assert "## Training loss" in md and "![training loss](charts/loss.png)" in md

    with (out / "report.csv").open(encoding="utf-8") as f:
        rows = {(r["system"], r["metric"], r["subset"]): r for r in csv.DictReader(f)}
    acc = rows[("ft <b>x</b>", "accuracy", "")]
    assert (float(acc["score"]), float(acc["low"]), float(acc["high"]), float(acc["delta"])) == (
        50,
        25,
        75,
        -25,
    )
    assert 0 < float(acc["p_value"]) <= 1 and float(acc["delta_low"]) <= -25 <= float(acc["delta_high"])
    assert rows[("ft <b>x</b>", "accuracy", "random")]["score"] == "50.0"
    assert (
        rows[("base", "accuracy", "")]["delta"] == "" and rows[("base", "accuracy", "")]["baseline"] == "base"
    )
    assert rows[("ft <b>x</b>", "unparsed", "")]["higher_is_better"] == "False"

    for name in ("pope-fr", "pope-fr-subsets", "loss"):
        for ext in ("png", "pdf"):
            assert (out / "charts" / f"{name}.{ext}").stat().st_size > 1000
    with Image.open(out / "charts" / "pope-fr.png") as im:
        assert im.width > 500


def test_report_html_is_escaped_and_self_contained(tmp_path: Path, runs: list[Path]) -> None:
    out = run(ReportConfig(runs=runs, out=tmp_path / "rep", baseline="base", trials=0, examples=4))
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()  # the page runs no script at all, least of all a prediction's
    assert "ft &lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "Y a-t-il un chat &amp; une souris ?" in page
    assert not re.search(r"https?://", page)  # nothing is fetched: inline CSS, base64 images
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", page)
    assert page.count("data:image/png;base64,") == 3  # task chart, subset chart, loss curves
    assert "data:image/jpeg;base64," in page  # example thumbnails from the image root
    assert "75.00" in page and "[50.00, 100.00]" in page and "-25.00" in page
    assert "Training loss" in page


def test_report_without_images_or_logs_and_with_default_baseline(tmp_path: Path, runs: list[Path]) -> None:
    ft_only = runs[1]
    (ft_only.parent / "trainer_state.json").unlink()
    out = run(ReportConfig(runs=[runs[1], runs[0]], out=tmp_path / "r2", trials=0, examples=2, charts=False))
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| ft <b>x</b> (baseline) | 50.00 [25.00, 75.00] |" in md  # the first system given
    assert "(+25.00)" in md and "Training loss" not in md
    assert not (out / "charts").exists()


def test_report_reads_a_folder_of_runs_and_names_bad_input(tmp_path: Path, runs: list[Path]) -> None:
    out = run(ReportConfig(runs=[runs[0].parent], out=tmp_path / "r3", trials=0))
    assert "base (baseline)" in (out / "report.md").read_text(encoding="utf-8")
    with pytest.raises(VlmadaptError, match=r"nothing: no such directory"):
        run(ReportConfig(runs=[tmp_path / "nothing"], out=tmp_path / "r4"))
    with pytest.raises(VlmadaptError, match=r"--baseline 'zzz' is not one of the systems: base, ft <b>x</b>"):
        run(ReportConfig(runs=runs, out=tmp_path / "r5", baseline="zzz"))
    twin = tmp_path / "twin" / "eval-pope"
    twin.parent.mkdir()
    twin.mkdir()
    for name in ("scores.json", "per_sample.jsonl"):
        (twin / name).write_bytes((runs[0] / name).read_bytes())
    with pytest.raises(VlmadaptError, match=r"are both system 'base' on pope \(fr\)"):
        run(ReportConfig(runs=[runs[0], twin], out=tmp_path / "r6"))


def test_report_cli(tmp_path: Path, runs: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["report", *map(str, runs), "--out", str(tmp_path / "cli"), "--baseline", "base", "--trials", "50"]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code in (0, None)
    assert "report.html" in capsys.readouterr().out
    assert (tmp_path / "cli" / "report.html").is_file()
    with pytest.raises(SystemExit) as exc:
        main(["report", str(tmp_path / "none"), "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
    assert "no such directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    "where",
    ["metrics.json", "checkpoints/checkpoint-20/trainer_state.json", "checkpoint-20/trainer_state.json"],
)
def test_training_log_from_vlmadapt_train_outputs(tmp_path: Path, runs: list[Path], where: str) -> None:
    from vlmadapt.evaluate.runs import load_run
    from vlmadapt.report.load import find_training_log

    train_dir = runs[1].parent
    (train_dir / "trainer_state.json").unlink()
    state = train_dir / where
    state.parent.mkdir(parents=True, exist_ok=True)
    history = [{"step": 5, "loss": 3.0}, {"step": 10, "loss": 1.0}, {"train_runtime": 2.0, "step": 10}]
    state.write_text(json.dumps({"train": {}, "log_history": history}), encoding="utf-8")
    log = find_training_log(load_run(runs[1]))
    assert log is not None and log.path == state and log.train == [(5.0, 3.0), (10.0, 1.0)]


# The whole report.md and report.csv of the fixture (a single-language run: no per-language table), as
# the report wrote them before multilingual runs got one; every number is the fixture's, by hand above.
SINGLE_LANGUAGE_MD = """\
# Evaluation report

Generated DATE from 2 evaluation runs.
Cells: score [95% bootstrap interval] (delta against the baseline; * p < 0.05, no paired tests). \
↑ higher is better, ↓ lower is better.

## Overview

| system | pope · fr: accuracy ↑ |
|---|---|
| base | 75.00 |
| ft <b>x</b> | 50.00 (-25.00) |

## pope · fr

n = 4, baseline: base

| system | accuracy ↑ | unparsed ↓ |
|---|---|---|
| base (baseline) | 75.00 [50.00, 100.00] | 0.00 [0.00, 50.00] |
| ft <b>x</b> | 50.00 [25.00, 75.00] (-25.00) | 25.00 [0.00, 50.00] (+25.00) |

### pope · fr per subset

| subset | system | accuracy |
|---|---|---|
| random | base (baseline) | 100.00 [0.00, 100.00] |
| random | ft <b>x</b> | 50.00 [0.00, 100.00] (-50.00) |

## Runs

| system | task | lang | n | answered | empty | errors | missing | git | run |
|---|---|---|---|---|---|---|---|---|---|
| base | pope | fr | 4 | 4 | 0 | 0 | 0 | abc123 | TMP/base/eval-pope |
| ft <b>x</b> | pope | fr | 4 | 4 | 0 | 0 | 0 | abc123 | TMP/ft/eval-pope |
"""
SINGLE_LANGUAGE_CSV = """\
task,scorer,lang,system,baseline,metric,subset,score,low,high,delta,delta_low,delta_high,p_value,\
higher_is_better,n,signature,run
pope,pope,fr,base,base,accuracy,,75.0,50.0,100.0,,,,,True,4,choice|accuracy,TMP/base/eval-pope
pope,pope,fr,base,base,unparsed,,0.0,0.0,50.0,,,,,False,4,choice|unparsed,TMP/base/eval-pope
pope,pope,fr,base,base,accuracy,random,100.0,0.0,100.0,,,,,True,4,choice|accuracy@random,TMP/base/eval-pope
pope,pope,fr,ft <b>x</b>,base,accuracy,,50.0,25.0,75.0,-25.0,,,,True,4,choice|accuracy,TMP/ft/eval-pope
pope,pope,fr,ft <b>x</b>,base,unparsed,,25.0,0.0,50.0,25.0,,,,False,4,choice|unparsed,TMP/ft/eval-pope
pope,pope,fr,ft <b>x</b>,base,accuracy,random,50.0,0.0,100.0,-50.0,,,,True,4,choice|accuracy@random,\
TMP/ft/eval-pope
"""


def test_single_language_report_is_unchanged(tmp_path: Path, runs: list[Path]) -> None:
    out = run(
        ReportConfig(runs=runs, out=tmp_path / "rep", baseline="base", trials=0, examples=0, charts=False)
    )
    md = (out / "report.md").read_text(encoding="utf-8").replace(str(tmp_path), "TMP")
    md = re.sub(r"^Generated .+ UTC from", "Generated DATE from", md, flags=re.MULTILINE)
    assert md == SINGLE_LANGUAGE_MD
    csv_text = (out / "report.csv").read_text(encoding="utf-8").replace(str(tmp_path), "TMP")
    assert csv_text.replace("\r\n", "\n") == SINGLE_LANGUAGE_CSV
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Per language" not in page and "macro" not in page
    charted = run(ReportConfig(runs=runs, out=tmp_path / "rep2", baseline="base", trials=0, examples=0))
    assert sorted(p.name for p in (charted / "charts").iterdir()) == [
        "loss.pdf",
        "loss.png",
        "pope-fr-subsets.pdf",
        "pope-fr-subsets.png",
        "pope-fr.pdf",
        "pope-fr.png",
    ]
