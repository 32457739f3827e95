"""evaluate/runs.py: evaluate output directories read back, lined up by id and tested in pairs, the one
path `vlmadapt compare` and the report's delta columns both take. Runs are written here in the layout
evaluate documents (base.py), with ChoiceMetric statistics [correct, unparsed, counted] per sample."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vlmadapt.errors import VlmadaptError
from vlmadapt.evaluate.compare import CompareConfig, compare
from vlmadapt.evaluate.runs import (
    ExamplesDiffer,
    expand_runs,
    line_up,
    load_run,
    load_runs,
    paired_tests,
    untestable,
)
from vlmadapt.evaluate.scorers import ChoiceMetric, YesNoMetric
from vlmadapt.evaluate.stats import approximate_randomization, paired_bootstrap, paired_bootstraps
from vlmadapt.report import ReportConfig
from vlmadapt.report import run as report

IDS = ["q1", "q2", "q3", "q4"]
# by hand: base right on q1, q2, q3 -> accuracy 75; other right on q1, q3, q4 unparsed -> accuracy 50,
# unparsed 25; delta accuracy -25, unparsed +25
BASE = [1, 1, 1, 0]
OTHER = [1, 0, 1, 0]
OTHER_UNPARSED = [0, 0, 0, 1]


def _spec(kind: str) -> dict[str, Any]:
    return {"class": "vlmadapt.evaluate.scorers.ChoiceMetric", "args": {"kind": kind, "lang": "fr"}}


def write_run(
    folder: Path,
    system: str,
    correct: list[int],
    unparsed: list[int] | None = None,
    ids: list[str] | None = None,
    lang: str = "fr",
    refs: list[str] | None = None,
) -> Path:
    """An evaluate output directory: rows in the order of `ids`, metrics accuracy and unparsed."""
    ids = ids or IDS[: len(correct)]
    unparsed = unparsed or [0] * len(correct)
    refs = refs or ["oui"] * len(correct)
    n = len(correct)
    stats = [[float(c), float(u), 1.0] for c, u in zip(correct, unparsed, strict=True)]
    metrics = {
        name: {
            "score": 100 * sum(values) / n,
            "low": 0.0,
            "high": 100.0,
            "signature": f"choice|{name}|lang:{lang}",
            "higher_is_better": name == "accuracy",
            "spec": _spec(name),
        }
        for name, values in (("accuracy", correct), ("unparsed", unparsed))
    }
    scores = {"system": system, "task": "pope", "scorer": "pope", "lang": lang, "n": n, "metrics": metrics}
    folder.mkdir(parents=True)
    (folder / "scores.json").write_text(json.dumps(scores), encoding="utf-8")
    rows = [
        {"id": i, "prediction": "x", "references": [r], "stats": {"accuracy": s, "unparsed": s}}
        for i, s, r in zip(ids, stats, refs, strict=True)
    ]
    (folder / "per_sample.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder


def _reversed(folder: Path, system: str, correct: list[int], unparsed: list[int] | None = None) -> Path:
    """The same run with per_sample.jsonl in reverse order."""
    unparsed = unparsed or [0] * len(correct)
    return write_run(folder, system, correct[::-1], unparsed[::-1], IDS[: len(correct)][::-1])


def test_load_reads_scores_rows_and_statistics(tmp_path: Path) -> None:
    r = load_run(write_run(tmp_path / "base", "base", BASE))
    assert (r.system, r.group, r.ids) == ("base", ("pope", "pope", "fr"), IDS)
    assert r.references == [["oui"]] * 4
    assert r.stats["accuracy"].tolist() == [[1, 0, 1], [1, 0, 1], [1, 0, 1], [0, 0, 1]]
    assert r.metrics["accuracy"]["score"] == 75.0 and r.languages == {} and r.macro == {}


def test_a_folder_stands_for_the_runs_inside_it(tmp_path: Path) -> None:
    a = write_run(tmp_path / "runs" / "b-run", "b", OTHER)
    b = write_run(tmp_path / "runs" / "a-run", "a", BASE)
    assert expand_runs([tmp_path / "runs"]) == [b, a]  # sorted by directory name
    assert expand_runs([a, tmp_path / "runs"]) == [a, b]  # each directory once, in the order given
    assert [r.system for r in load_runs([tmp_path / "runs"])] == ["a", "b"]
    with pytest.raises(VlmadaptError, match=r"nothing: no such directory"):
        expand_runs([tmp_path / "nothing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(VlmadaptError, match=r"empty: no scores.json in it or in its subdirectories"):
        expand_runs([tmp_path / "empty"])


def _lines(path: Path) -> list[str]:
    return (path / "per_sample.jsonl").read_text(encoding="utf-8").splitlines()


def _set_lines(path: Path, lines: list[str]) -> None:
    (path / "per_sample.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _scores(path: Path, change: dict[str, Any]) -> None:
    scores = json.loads((path / "scores.json").read_text(encoding="utf-8"))
    (path / "scores.json").write_text(json.dumps(scores | change), encoding="utf-8")


def _break(case: str, run: Path) -> None:
    lines = _lines(run)
    row = json.loads(lines[1])
    if case == "no_scores":
        (run / "scores.json").unlink()
    elif case == "bad_json":
        (run / "scores.json").write_text("{not json", encoding="utf-8")
    elif case == "no_metrics":
        _scores(run, {"metrics": []})
    elif case == "metric_entry":
        _scores(run, {"metrics": {"accuracy": 75.0}})
    elif case == "no_rows":
        (run / "per_sample.jsonl").unlink()
    elif case == "line_json":
        _set_lines(run, [lines[0], "{oops", *lines[2:]])
    elif case == "line_object":
        _set_lines(run, [*lines[:2], "[1, 2]", lines[3]])
    elif case == "no_id":
        _set_lines(run, [lines[0], json.dumps({k: v for k, v in row.items() if k != "id"}), *lines[2:]])
    elif case == "duplicate":
        _set_lines(run, [*lines[:3], lines[0]])
    elif case == "no_stats":
        row3 = json.loads(lines[2])
        del row3["stats"]["accuracy"]
        _set_lines(run, [*lines[:2], json.dumps(row3), lines[3]])
    elif case == "ragged":
        row["stats"]["accuracy"] = [1.0, 0.0]
        _set_lines(run, [lines[0], json.dumps(row), *lines[2:]])
    elif case == "truncated":
        _set_lines(run, lines[:3])


@pytest.mark.parametrize(
    ("case", "where", "message"),
    [
        ("no_scores", "", "no scores.json here; pass a `vlmadapt evaluate` output directory"),
        ("bad_json", "/scores.json", "not valid JSON"),
        ("no_metrics", "/scores.json", "no 'metrics' mapping"),
        ("metric_entry", "/scores.json", "metrics.accuracy: not a mapping"),
        ("no_rows", "", "no per_sample.jsonl beside scores.json"),
        ("line_json", "/per_sample.jsonl:2", "json: Expecting property name"),
        ("line_object", "/per_sample.jsonl:3", "record: expected a JSON object, got list"),
        ("no_id", "/per_sample.jsonl:2", "id: missing or not a string"),
        ("duplicate", "/per_sample.jsonl:4", "id: duplicate id 'q1' (first on line 1)"),
        ("no_stats", "/per_sample.jsonl:3", "stats.accuracy: missing"),
        ("ragged", "/per_sample.jsonl:2", "stats.accuracy: 2 values, but line 1 has 3"),
        ("truncated", "/per_sample.jsonl", "3 samples, but scores.json says n = 4"),
    ],
)
def test_bad_input_names_the_file_and_line(tmp_path: Path, case: str, where: str, message: str) -> None:
    run = write_run(tmp_path / "base", "base", BASE)
    _break(case, run)
    with pytest.raises(VlmadaptError, match=re.escape(f"{run}{where}: {message}")):
        load_run(run)


def test_line_up_matches_rows_by_id_whatever_their_order(tmp_path: Path) -> None:
    base = load_run(write_run(tmp_path / "base", "base", BASE))
    same = load_run(write_run(tmp_path / "same", "other", OTHER, OTHER_UNPARSED))
    shuffled = load_run(_reversed(tmp_path / "rev", "other", OTHER, OTHER_UNPARSED))
    pair = line_up(base, shuffled)
    assert pair.order.tolist() == [3, 2, 1, 0]
    assert shuffled.stats["accuracy"][pair.order].tolist() == same.stats["accuracy"].tolist()

    got = paired_tests(pair, ["accuracy", "unparsed"], trials=200, seed=3)
    assert got == paired_tests(line_up(base, same), ["accuracy", "unparsed"], trials=200, seed=3)
    assert (got["accuracy"].delta, got["unparsed"].delta) == (-25.0, 25.0)  # by hand above
    direct = paired_bootstrap(
        ChoiceMetric("accuracy", "fr"), base.stats["accuracy"], same.stats["accuracy"], 200, 3
    )
    assert got["accuracy"] == direct

    ar = paired_tests(pair, ["accuracy"], method="ar", trials=300, seed=3)["accuracy"]
    metric = ChoiceMetric("accuracy", "fr")
    assert ar == approximate_randomization(metric, base.stats["accuracy"], same.stats["accuracy"], 300, 3)


def test_line_up_refuses_other_examples_references_or_groups(tmp_path: Path) -> None:
    base = load_run(write_run(tmp_path / "base", "base", BASE))
    fewer = load_run(write_run(tmp_path / "fewer", "fewer", BASE[:3]))
    with pytest.raises(ExamplesDiffer) as e:
        line_up(base, fewer)
    assert str(e.value) == (
        f"{fewer.path} (fewer) was scored on 3 examples and {base.path} (base) on 4: 1 only in base "
        "(e.g. ['q4']), 0 only in fewer (e.g. []); evaluate both on the same references"
    )
    other_refs = load_run(write_run(tmp_path / "refs", "refs", BASE, refs=["oui", "non", "oui", "oui"]))
    with pytest.raises(
        ExamplesDiffer, match=r"same 4 ids but different references for 1 of them \(e.g. \['q2'\]\)"
    ):
        line_up(base, other_refs)
    ro = load_run(write_run(tmp_path / "ro", "ro", BASE, lang="ro"))
    with pytest.raises(
        ExamplesDiffer, match=r"\(ro\) is pope / pope / ro and .+ \(base\) is pope / pope / fr"
    ):
        line_up(base, ro)


def test_untestable_gives_the_reason(tmp_path: Path) -> None:
    base = load_run(write_run(tmp_path / "base", "base", BASE))
    other = load_run(write_run(tmp_path / "other", "other", OTHER))
    assert untestable("accuracy", [base, other]) is None
    assert untestable("bleu", [base, other]) == "not scored for base, other"
    other.scores["metrics"]["accuracy"]["signature"] = "choice|accuracy|lang:ro"
    assert "signatures differ between systems" in str(untestable("accuracy", [base, other]))
    del base.scores["metrics"]["unparsed"]["spec"]
    assert "no spec to rebuild it from" in str(untestable("unparsed", [base, other]))
    base.scores["metrics"]["unparsed"]["spec"] = _spec("unparsed")
    other.stats["unparsed"] = other.stats["unparsed"][:, :2]
    assert (
        untestable("unparsed", [base, other])
        == "per-sample statistics differ in width between systems: [2, 3]"
    )


def test_compare_and_report_give_the_same_delta_and_interval(tmp_path: Path) -> None:
    """The point of one module: the same pair, trials and seed give the same numbers in both commands."""
    rng = np.random.default_rng(0)
    n = 60
    ids = [f"q{k}" for k in range(n)]
    correct_a, correct_b = rng.integers(0, 2, n).tolist(), rng.integers(0, 2, n).tolist()
    unparsed_b = rng.integers(0, 2, n).tolist()
    base = write_run(tmp_path / "a", "a", correct_a, ids=ids, refs=["oui"] * n)
    perm = rng.permutation(n)  # the system's rows in another order
    other = write_run(
        tmp_path / "b",
        "b",
        [correct_b[k] for k in perm],
        [unparsed_b[k] for k in perm],
        ids=[ids[k] for k in perm],
        refs=["oui"] * n,
    )
    compared = json.loads(
        compare(CompareConfig(runs=[base, other], out=tmp_path / "c.json", trials=300, seed=7)).read_text()
    )
    out = report(
        ReportConfig(runs=[base, other], out=tmp_path / "rep", trials=300, seed=7, examples=0, charts=False)
    )
    with (out / "report.csv").open(encoding="utf-8") as f:
        rows = {r["metric"]: r for r in csv.DictReader(f) if r["system"] == "b"}
    for name in ("accuracy", "unparsed"):
        t = compared["metrics"][name]["tests"]["b"]
        row = rows[name]
        from_report = [float(row[k]) for k in ("delta", "delta_low", "delta_high", "p_value")]
        assert from_report == [t["delta"], t["low"], t["high"], t["p_value"]]
    a_stats = np.array([[c, 0, 1] for c in correct_a], dtype=float)
    b_stats = np.array([[c, u, 1] for c, u in zip(correct_b, unparsed_b, strict=True)], dtype=float)
    ref = paired_bootstrap(ChoiceMetric("accuracy", "fr"), a_stats, b_stats, 300, 7)
    assert compared["metrics"]["accuracy"]["tests"]["b"] == ref.to_dict()
    assert ref.delta == pytest.approx(100 * (sum(correct_b) - sum(correct_a)) / n)


def test_report_gives_no_deltas_against_a_run_on_other_examples(tmp_path: Path) -> None:
    """compare refuses such a pair; the report keeps the system's scores but shows no delta (before the
    two were unified, it showed the unpaired difference: here -41.67 for accuracy, +33.33 for unparsed)."""
    base = write_run(tmp_path / "base", "base", BASE)
    fewer = write_run(tmp_path / "fewer", "fewer", [1, 0, 0], [0, 0, 1])  # accuracy 33.33 on q1..q3
    with pytest.raises(ExamplesDiffer, match=r"\(fewer\) was scored on 3 examples"):
        compare(CompareConfig(runs=[base, fewer], out=tmp_path / "c.json", trials=50))
    out = report(ReportConfig(runs=[base, fewer], out=tmp_path / "rep", trials=50, examples=0, charts=False))
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| fewer | 33.33 [0.00, 100.00] | 33.33 [0.00, 100.00] |" in md
    assert f"> no deltas for fewer against base: {fewer} (fewer) was scored on 3 examples and {base}" in md
    with (out / "report.csv").open(encoding="utf-8") as f:
        assert {r["delta"] for r in csv.DictReader(f)} == {""}


def test_batched_paired_bootstrap_equals_the_one_metric_test() -> None:
    """paired_tests runs every metric of a pair on one index matrix; each equals paired_bootstrap alone."""
    rng = np.random.default_rng(0)
    onehot = np.eye(6)[rng.integers(0, 6, size=(2, 300))]  # [2, N, 6] POPE rows of two systems
    choice = np.stack([rng.integers(0, 2, size=(2, 300)), np.zeros((2, 300)), np.ones((2, 300))], axis=-1)
    items = [
        (YesNoMetric("f1"), onehot[0], onehot[1]),
        (YesNoMetric("yes_ratio"), onehot[0], onehot[1]),
        (ChoiceMetric("accuracy"), choice[0], choice[1]),
    ]
    got = paired_bootstraps(items, 300, 7, 0.95)
    assert got == [paired_bootstrap(metric, a, b, 300, 7, 0.95) for metric, a, b in items]
    with pytest.raises(ValueError, match="differ in samples"):
        paired_bootstraps([items[0], (ChoiceMetric("accuracy"), choice[0][:5], choice[1][:5])])
