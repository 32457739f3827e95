"""`vlmadapt report` on tasks scored in several languages: the per-language table (systems x languages,
the macro mean with its interval, the pooled figure) in report.md, report.csv and report.html, and its
chart. The inputs are real: the MaXM fixtures in fr, ro and en, scored by `vlmadapt evaluate`."""

from __future__ import annotations

import csv
import html
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from vlmadapt.data import import_dataset
from vlmadapt.errors import VlmadaptError
from vlmadapt.jsonl import write_jsonl
from vlmadapt.report import ReportConfig, run

MAXM = Path(__file__).parent / "fixtures" / "benchmarks" / "maxm"
Cli = Callable[[list[str]], tuple[int, str, str]]
XSS = "<b>x</b>"

IDS = [
    "maxm-fr-fr_0009c79bd9c4a0b4_0",  # fr: "rouge"
    "maxm-fr-fr_00125f7b2aeb06f4_0",  # fr: "deux" / "2"
    "maxm-ro-ro_0009c79bd9c4a0b4_0",  # ro: "roșie" / "roșu"
    "maxm-en-en_000411001ff7dd4f_0",  # en: "red" / "red bus"
    "maxm-en-en_000411001ff7dd4f_1",  # en: "2" / "two"
]
# Outcome per question (exact: equal after VQA normalisation; relaxed: starts or ends with an answer).
ANSWERS = {
    # exact: fr 0/2 = 0, ro 1/1 = 100, en 1/2 = 50; macro 50; pooled 2/5 = 40
    # relaxed: fr 1/2 = 50, ro 1/1 = 100, en 2/2 = 100; macro 250/3 = 83.33; pooled 4/5 = 80
    "good": ["La voiture est rouge", "", "roşie", "Red.", "2 people"],
    # exact = relaxed: fr 2/2 = 100, ro 0/1 = 0, en 2/2 = 100; macro 200/3 = 66.67; pooled 4/5 = 80
    XSS: ["rouge", "2", "albastru", "red", "2"],
}
# Intervals (percentile bootstrap, 200 resamples, seed 12345):
# - a language whose answers all score the same (all right, all wrong, or n = 1): [s, s]
# - one right of two (good: exact en, relaxed fr): a resample holds 0 or 2 right ones with probability 1/4
#   each, far above 2.5%, so [0, 100]
# - macro, each language resampled within itself: good exact fr 0 and ro 100 always, en 0, 50 or 100, so
#   the mean is 33.33, 50 or 66.67 -> [33.33, 66.67]; good relaxed (100 + 100 + {0, 50, 100}) / 3 ->
#   [66.67, 100]; <b>x</b> has no spread in any language -> [66.67, 66.67]
# - pooled 2 of 5 right: right ones ~ Binomial(5, 0.4); P(0) = 7.8% > 2.5%, P(5) = 1.0% and
#   P(>= 4) = 8.7% -> [0, 80]; 4 of 5: P(<= 1) = 0.7%, P(<= 2) = 5.8%, P(5) = 32.8% -> [40, 100]
TABLE = [
    "| metric | system | en | fr | ro | macro | pooled |",
    "|---|---|---|---|---|---|---|",
    "| exact_match ↑ | good (baseline) | 50.00 [0.00, 100.00] | 0.00 [0.00, 0.00] | 100.00 [100.00, 100.00] "
    "| 50.00 [33.33, 66.67] | 40.00 [0.00, 80.00] |",
    "| exact_match ↑ | <b>x</b> | 100.00 [100.00, 100.00] | 100.00 [100.00, 100.00] | 0.00 [0.00, 0.00] "
    "| 66.67 [66.67, 66.67] | 80.00 [40.00, 100.00] |",
    "| relaxed_match ↑ | good (baseline) | 100.00 [100.00, 100.00] | 50.00 [0.00, 100.00] "
    "| 100.00 [100.00, 100.00] | 83.33 [66.67, 100.00] | 80.00 [40.00, 100.00] |",
    "| relaxed_match ↑ | <b>x</b> | 100.00 [100.00, 100.00] | 100.00 [100.00, 100.00] | 0.00 [0.00, 0.00] "
    "| 66.67 [66.67, 66.67] | 80.00 [40.00, 100.00] |",
]


def _references(tmp_path: Path, langs: tuple[str, ...] = ("fr", "ro", "en")) -> Path:
    records: list[dict[str, Any]] = []
    for code in langs:
        dest = tmp_path / f"maxm-{code}.jsonl"
        import_dataset("maxm", MAXM / f"maxm_v1_{code}.json", dest, lang=code)
        records += [json.loads(line) for line in dest.read_text(encoding="utf-8").splitlines()]
    return write_jsonl(tmp_path / f"refs-{'-'.join(langs)}.jsonl", records)


def _evaluate(cli: Cli, tmp_path: Path, refs: Path, system: str, answers: dict[str, str], name: str) -> Path:
    preds = write_jsonl(tmp_path / f"{name}.jsonl", [{"id": i, "prediction": a} for i, a in answers.items()])
    out = tmp_path / "runs" / name
    args = ["evaluate", str(preds), "--references", str(refs), "--task", "maxm", "--out", str(out)]
    code, _, err = cli([*args, "--resamples", "200", "--system", system])
    assert code == 0, err
    return out


@pytest.fixture
def two_systems(cli: Cli, tmp_path: Path) -> list[Path]:
    refs = _references(tmp_path)
    return [
        _evaluate(cli, tmp_path, refs, system, dict(zip(IDS, answers, strict=True)), f"sys{k}")
        for k, (system, answers) in enumerate(ANSWERS.items())
    ]


def test_per_language_table_in_markdown_with_macro_and_pooled(
    cli: Cli, tmp_path: Path, two_systems: list[Path]
) -> None:
    out = tmp_path / "rep"
    code, stdout, err = cli(["report", *map(str, two_systems), "--out", str(out), "--trials", "200"])
    assert code == 0, err
    assert "report.html" in stdout
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "### maxm · mul per language" in md
    assert "Examples per language: en 2 · fr 2 · ro 1." in md
    start = md.index(TABLE[0])
    assert md[start:].splitlines()[: len(TABLE)] == TABLE
    # the main table still holds the pooled figures, with the paired test's delta
    assert re.search(r"\| <b>x</b> \| 80\.00 \[40\.00, 100\.00\] \(\+40\.00\*?\) \|", md)
    assert "| good | maxm | mul: en, fr, ro | 5 | 4 | 1 | 0 | 0 |" in md  # the Runs table
    assert "![maxm · mul: exact_match per language](charts/maxm-mul-languages.png)" in md
    for ext in ("png", "pdf"):
        assert (out / "charts" / f"maxm-mul-languages.{ext}").stat().st_size > 1000
    with Image.open(out / "charts" / "maxm-mul-languages.png") as im:
        assert im.width > 500


def test_csv_has_a_row_per_system_language_and_metric(tmp_path: Path, two_systems: list[Path]) -> None:
    out = run(ReportConfig(runs=two_systems, out=tmp_path / "rep", trials=200, examples=0, charts=False))
    with (out / "report.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_key = {(r["system"], r["lang"], r["metric"]): r for r in rows}
    assert len(rows) == len(by_key) == 2 * 5 * 2  # systems x (en, fr, ro, macro, pooled) x metrics
    expected = {  # (score, low, high, n) from the table above
        ("good", "en", "exact_match"): (50, 0, 100, 2),
        ("good", "fr", "exact_match"): (0, 0, 0, 2),
        ("good", "ro", "exact_match"): (100, 100, 100, 1),
        ("good", "macro", "exact_match"): (50, 100 / 3, 200 / 3, 5),
        ("good", "pooled", "exact_match"): (40, 0, 80, 5),
        ("good", "fr", "relaxed_match"): (50, 0, 100, 2),
        ("good", "macro", "relaxed_match"): (250 / 3, 200 / 3, 100, 5),
        (XSS, "en", "exact_match"): (100, 100, 100, 2),
        (XSS, "ro", "relaxed_match"): (0, 0, 0, 1),
        (XSS, "macro", "exact_match"): (200 / 3, 200 / 3, 200 / 3, 5),
        (XSS, "pooled", "relaxed_match"): (80, 40, 100, 5),
    }
    for key, (score, low, high, n) in expected.items():
        r = by_key[key]
        assert (float(r["score"]), float(r["low"]), float(r["high"])) == pytest.approx((score, low, high))
        assert (r["n"], r["task"], r["scorer"], r["baseline"]) == (str(n), "maxm", "maxm", "good")
    assert {r["lang"] for r in rows} == {"en", "fr", "ro", "macro", "pooled"}
    # deltas and paired tests are the pooled rows'; a language's own signature, the macro's "mean-of"
    pooled = by_key[(XSS, "pooled", "exact_match")]
    assert float(pooled["delta"]) == pytest.approx(40.0) and 0 < float(pooled["p_value"]) <= 1
    assert by_key[(XSS, "fr", "exact_match")]["delta"] == "" == by_key[(XSS, "macro", "exact_match")]["delta"]
    assert "|lang:fr|" in by_key[(XSS, "fr", "exact_match")]["signature"]
    assert by_key[("good", "macro", "relaxed_match")]["signature"].endswith("|mean-of:3-languages")
    assert by_key[("good", "en", "exact_match")]["run"] == str(two_systems[0])


def _section_text(page: str, start: str, end: str) -> str:
    """The visible text between two markers: tags dropped, entities decoded, spaces collapsed."""
    part = page[page.index(start) : page.index(end, page.index(start))]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", part)).split())


def test_html_per_language_table_is_escaped(tmp_path: Path, two_systems: list[Path]) -> None:
    out = run(ReportConfig(runs=two_systems, out=tmp_path / "rep", trials=0, examples=2))
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "<script" not in page.lower()
    text = _section_text(page, "<h3>Per language</h3>", "<details>")
    assert text.startswith("Per language Examples per language: en 2 · fr 2 · ro 1.")
    assert (
        "metric system en fr ro macro pooled "
        "exact_match ↑ good baseline 50.00 [0.00, 100.00] 0.00 [0.00, 0.00] 100.00 [100.00, 100.00] "
        "50.00 [33.33, 66.67] 40.00 [0.00, 80.00] "
        "<b>x</b> 100.00 [100.00, 100.00] 100.00 [100.00, 100.00] 0.00 [0.00, 0.00] "
        "66.67 [66.67, 66.67] 80.00 [40.00, 100.00] "
        "relaxed_match ↑ good baseline 100.00 [100.00, 100.00] 50.00 [0.00, 100.00] "
        "100.00 [100.00, 100.00] 83.33 [66.67, 100.00] 80.00 [40.00, 100.00] "
        "<b>x</b> 100.00 [100.00, 100.00]"
    ) in text
    assert page.count("data:image/png;base64,") == 2  # the task's metric chart and its per-language chart
    assert "maxm-mul-languages.png / maxm-mul-languages.pdf in charts/" in page


def test_a_system_scored_in_fewer_languages_is_named(
    cli: Cli, tmp_path: Path, two_systems: list[Path]
) -> None:
    refs = _references(tmp_path, ("fr", "en"))
    answers = {i: a for i, a in zip(IDS, ANSWERS[XSS], strict=True) if "-ro-" not in i}
    fewer = _evaluate(cli, tmp_path, refs, "fr+en", answers, "fewer")
    out = run(ReportConfig(runs=[*two_systems, fewer], out=tmp_path / "rep", trials=0, charts=False))
    md = (out / "report.md").read_text(encoding="utf-8")
    # fr 2/2, en 2/2 -> macro 100 over two languages; no ro cell; pooled 4/4 = 100
    assert (
        "| exact_match ↑ | fr+en | 100.00 [100.00, 100.00] | 100.00 [100.00, 100.00] | – "
        "| 100.00 [100.00, 100.00] | 100.00 [100.00, 100.00] |"
    ) in md
    assert "> fr+en was scored in en, fr only: its macro is the mean over those" in md


def test_malformed_language_sections_name_the_file_and_field(tmp_path: Path, two_systems: list[Path]) -> None:
    scores_path = two_systems[0] / "scores.json"
    scores = json.loads(scores_path.read_text(encoding="utf-8"))
    scores["languages"]["fr"] = {"n": 2}
    scores_path.write_text(json.dumps(scores), encoding="utf-8")
    with pytest.raises(VlmadaptError, match=r"sys0/scores.json: languages.fr: no 'metrics' mapping; re-run"):
        run(ReportConfig(runs=two_systems, out=tmp_path / "rep", trials=0))
