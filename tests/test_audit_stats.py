"""Agreement statistics (against worked examples and reference libraries), `audit stats`, `audit export`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vlmadapt.audit import ExportConfig, ServeConfig, StatsConfig, run_export, run_stats, store
from vlmadapt.audit.agreement import cohen_kappa, fleiss_kappa, krippendorff_alpha
from vlmadapt.audit.config import RATINGS
from vlmadapt.audit.sample import prepare
from vlmadapt.errors import VlmadaptError

NAN = float("nan")
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the example with missing values:
# 4 coders (rows), 12 units (columns), values 1..5. The paper gives alpha 0.743 (nominal), 0.815 (ordinal).
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]
# Fleiss (1971) as tabulated on Wikipedia ("Fleiss' kappa", worked example): 10 items, 14 raters, 5
# categories; kappa 0.210. The same table is statsmodels' test case.
FLEISS_1971 = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def _units(data: list[list[float]]) -> list[list[int]]:
    return [[int(v) - 1 for v in column if not np.isnan(v)] for column in np.array(data).T]


# ---- the statistics -----------------------------------------------------------------------------------


def test_cohen_kappa_worked_examples() -> None:
    # Wikipedia's "Cohen's kappa" example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> p_o 0.7, p_e 0.5.
    a = [1] * 25 + [0] * 25
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohen_kappa(a, b, 2) == pytest.approx(0.4)
    # By hand: A = (2, 2, 1, 0), B = (2, 1, 1, 1); expected disagreement 2.75, 3.0 and 3.5 by weighting,
    # observed 2 for all three.
    a, b = [2, 2, 1, 0], [2, 1, 1, 1]
    assert cohen_kappa(a, b, 3) == pytest.approx(3 / 11)
    assert cohen_kappa(a, b, 3, "linear") == pytest.approx(1 / 3)
    assert cohen_kappa(a, b, 3, "quadratic") == pytest.approx(3 / 7)
    assert cohen_kappa([1, 1], [1, 1], 3) is None  # one category only: undefined, not 1.0
    assert cohen_kappa([], [], 3) is None


def test_fleiss_kappa_worked_example() -> None:
    assert fleiss_kappa(FLEISS_1971) == pytest.approx(0.20993070442195522)
    assert round(fleiss_kappa(FLEISS_1971) or 0, 3) == 0.210
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa(np.array([[1, 1], [2, 1]]))


def test_krippendorff_alpha_worked_example() -> None:
    units = _units(KRIPPENDORFF_2011)
    assert round(krippendorff_alpha(units, 5, "nominal") or 0, 3) == 0.743
    assert round(krippendorff_alpha(units, 5, "ordinal") or 0, 3) == 0.815
    assert krippendorff_alpha(units, 5, "nominal") == pytest.approx(0.743421052631579)
    assert krippendorff_alpha([[1], [2]], 3) is None  # no unit with two values


def _random_pairs(seed: int, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, n)
    b = np.where(rng.random(n) < 0.6, a, rng.integers(0, 3, n))
    return a, b


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_matches_sklearn(weights: Any) -> None:
    metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn (dev extra) is the reference")
    for seed in range(20):
        a, b = _random_pairs(seed)
        assert cohen_kappa(a, b, 3, weights) == pytest.approx(
            metrics.cohen_kappa_score(a, b, weights=weights)
        )


def test_fleiss_kappa_matches_statsmodels() -> None:
    ir = pytest.importorskip(
        "statsmodels.stats.inter_rater", reason="statsmodels (dev extra) is the reference"
    )
    assert fleiss_kappa(FLEISS_1971) == pytest.approx(ir.fleiss_kappa(FLEISS_1971))
    for seed in range(20):
        a, b = _random_pairs(seed)
        table = np.array([np.bincount([x, y], minlength=3) for x, y in zip(a, b, strict=True)])
        assert fleiss_kappa(table) == pytest.approx(ir.fleiss_kappa(table))


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_krippendorff_alpha_matches_the_reference_package(level: Any) -> None:
    kd = pytest.importorskip("krippendorff", reason="krippendorff (dev extra) is the reference")
    assert krippendorff_alpha(_units(KRIPPENDORFF_2011), 5, level) == pytest.approx(
        kd.alpha(reliability_data=KRIPPENDORFF_2011, level_of_measurement=level)
    )
    rng = np.random.default_rng(7)
    for _ in range(10):
        data = rng.integers(0, 3, (3, 40)).astype(float)
        data[rng.random(data.shape) < 0.3] = NAN  # some units with 1, 2 or 3 ratings
        units = [[int(v) for v in col if not np.isnan(v)] for col in data.T]
        expected = kd.alpha(reliability_data=data, level_of_measurement=level, value_domain=[0, 1, 2])
        assert krippendorff_alpha(units, 3, level) == pytest.approx(expected)


# ---- an audit database with known ratings --------------------------------------------------------------

AUTO = ["high"] * 6 + ["moderate"] * 3 + ["low"]


def _audit(tmp_path: Path, ratings: dict[str, list[str]], n: int = 10) -> tuple[ServeConfig, list[str]]:
    """An audit of `n` records (automatic tiers AUTO), both annotators on every item, with `ratings`:
    annotator -> one rating per item in sample order ('' leaves it unrated)."""
    rows = [
        {
            "id": f"ex-{i}",
            "task": "caption",
            "lang": "ro",
            "answers": [f"un câine {i}"],
            "source": {"lang": "en", "answers": [f"a dog {i}"]},
            "meta": {"tier": AUTO[i % 10]},
        }
        for i in range(n)
    ]
    data = tmp_path / "examples.ro.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    cfg = ServeConfig(data=data, sample=n, annotators=list(ratings), double_share=1.0, db=tmp_path / "a.db")
    prepare(cfg)
    with store.connection(cfg.db_path()) as c:
        order = [r[0] for r in c.execute("SELECT item_id FROM items ORDER BY pos")]
        for name, values in ratings.items():
            for item, value in zip(order, values, strict=True):
                if value:
                    store.upsert_rating(c, name, item, value, "")
    return cfg, order


ALICE = ["high", "high", "moderate", "low", "high", "moderate", "high", "low", "moderate", "high"]
BOB = ["high", "moderate", "moderate", "low", "high", "low", "high", "moderate", "high", "high"]


def test_stats_of_a_database(tmp_path: Path) -> None:
    cfg, order = _audit(tmp_path, {"alice": ALICE, "bob": BOB})
    path = run_stats(StatsConfig(db=cfg.db_path()))
    assert path == tmp_path / "a.stats.json"
    result = json.loads(path.read_text(encoding="utf-8"))
    a = [RATINGS.index(x) for x in ALICE]
    b = [RATINGS.index(x) for x in BOB]
    ag = result["agreement"]
    assert ag["doubly_rated"] == 10 and ag["observed_agreement"] == pytest.approx(0.6)
    assert ag["cohen_kappa"] == pytest.approx(cohen_kappa(a, b, 3))
    assert ag["cohen_kappa_quadratic"] == pytest.approx(cohen_kappa(a, b, 3, "quadratic"))
    assert ag["fleiss_kappa"] == pytest.approx(
        fleiss_kappa(np.array([np.bincount([x, y], minlength=3) for x, y in zip(a, b, strict=True)]))
    )
    assert ag["krippendorff_alpha_ordinal"] == pytest.approx(
        krippendorff_alpha([[x, y] for x, y in zip(a, b, strict=True)], 3, "ordinal")
    )
    # alice rows, bob columns, high first: counted by hand from ALICE and BOB.
    assert ag["pair_table"]["counts"] == [[4, 1, 0], [1, 1, 1], [0, 1, 1]]
    # Consensus = the lower rating of each item, against its automatic tier.
    human = [min(x, y, key=RATINGS.index) for x, y in zip(ALICE, BOB, strict=True)]
    assert result["human_distribution"] == dict(
        Counter({"high": 0, "moderate": 0, "low": 0}) + Counter(human)
    )
    auto = {f"ex-{i}": AUTO[i] for i in range(10)}
    table = Counter((h, auto[item]) for h, item in zip(human, order, strict=True))
    vs = result["human_vs_automatic"]
    assert vs["counts"] == [
        [table[(h, m)] for m in ("high", "moderate", "low")] for h in ("high", "moderate", "low")
    ]
    assert vs["n"] == 10 and vs["accuracy"] == pytest.approx(sum(table[(t, t)] for t in RATINGS) / 10)
    assert result["annotators"] == {
        "alice": {"assigned": 10, "rated": 10},
        "bob": {"assigned": 10, "rated": 10},
    }
    assert result["provenance"]["config"]["db"] == str(cfg.db_path())


def test_stats_with_no_doubles_say_undefined(tmp_path: Path, cli: Any) -> None:
    cfg, _ = _audit(tmp_path, {"alice": ALICE, "bob": [""] * 10})
    code, out, _ = cli(["audit", "stats", "--db", str(cfg.db_path()), "--out", str(tmp_path / "s.json")])
    assert code == 0
    assert "Agreement on 0 doubly rated items" in out and "undefined" in out
    assert json.loads((tmp_path / "s.json").read_text())["agreement"]["cohen_kappa"] is None


def test_stats_cli_prints_tables(tmp_path: Path, cli: Any) -> None:
    cfg, _ = _audit(tmp_path, {"alice": ALICE, "bob": BOB})
    code, out, err = cli(["audit", "stats", "--db", str(cfg.db_path())])
    assert code == 0, err
    for text in (
        "Cohen's kappa, quadratic weights",
        "Krippendorff's alpha, ordinal",
        "Fleiss' kappa",
        "automatic",
    ):
        assert text in out
    assert "wrote" in out and (tmp_path / "a.stats.json").is_file()


def test_stats_on_a_missing_database_is_a_user_error(tmp_path: Path, cli: Any) -> None:
    code, _, err = cli(["audit", "stats", "--db", str(tmp_path / "none.sqlite")])
    assert code == 2 and "no such audit database" in err and "vlmadapt audit serve" in err


# ---- export -------------------------------------------------------------------------------------------


def test_export_keeps_consensus_tiers_and_writes_labels(tmp_path: Path) -> None:
    from vlmadapt.quality.run import read_labels
    from vlmadapt.quality.tiers import fit_thresholds

    bob = [*BOB[:9], ""]  # the last item has one rating only: its consensus is that rating
    cfg, order = _audit(tmp_path, {"alice": ALICE, "bob": bob})
    human = {
        item: min((r for r in (x, y) if r), key=RATINGS.index)
        for item, x, y in zip(order, ALICE, bob, strict=True)
    }
    out, labels = tmp_path / "kept.jsonl", tmp_path / "labels.jsonl"
    assert run_export(ExportConfig(db=cfg.db_path(), out=out, keep=["high"], labels=labels)) == out
    kept = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert kept == sorted((i for i, t in human.items() if t == "high"), key=lambda i: int(i.split("-")[1]))
    assert json.loads(out.read_text().splitlines()[0])["source"]["lang"] == "en"  # whole records
    read_back = read_labels(labels)  # what `vlmadapt quality --labels` reads
    assert {r["id"]: r["tier"] for r in read_back} == human and all(
        set(r) == {"id", "tier"} for r in read_back
    )
    checks = {
        i: {"lang_conf": 0.9 if t == "high" else 0.5 if t == "moderate" else 0.1} for i, t in human.items()
    }
    assert fit_thresholds(read_back, checks).kappa == pytest.approx(1.0)

    run_export(ExportConfig(db=cfg.db_path(), out=out, keep=["high", "moderate"]))
    assert len(out.read_text().splitlines()) == sum(t != "low" for t in human.values())
    assert json.loads((tmp_path / "kept.jsonl.provenance.json").read_text())["keep"] == ["high", "moderate"]


def test_export_leaves_unrated_items_out(tmp_path: Path) -> None:
    cfg, order = _audit(tmp_path, {"alice": ["high"] * 5 + [""] * 5, "bob": [""] * 10})
    out = tmp_path / "kept.jsonl"
    run_export(ExportConfig(db=cfg.db_path(), out=out, keep=["high", "moderate", "low"]))
    assert sorted(json.loads(x)["id"] for x in out.read_text().splitlines()) == sorted(order[:5])


def test_export_cli_and_a_moved_data_file(tmp_path: Path, cli: Any) -> None:
    cfg, _ = _audit(tmp_path, {"alice": ALICE, "bob": BOB})
    moved = tmp_path / "moved.jsonl"
    cfg.data.rename(moved)
    args = ["audit", "export", "--db", str(cfg.db_path()), "--out", str(tmp_path / "k.jsonl")]
    code, _, err = cli([*args, "--keep", "high,moderate"])
    assert code == 2 and "is missing; give its new place with --data" in err
    code, out, err = cli(
        [*args, "--keep", "high,moderate", "--data", str(moved), "--labels", str(tmp_path / "l.jsonl")]
    )
    assert code == 0, err
    assert (tmp_path / "l.jsonl").is_file() and "wrote" in out
    code, _, err = cli([*args, "--keep", "great", "--data", str(moved)])
    assert code == 2 and "keep" in err


def test_export_refuses_a_different_data_file(tmp_path: Path) -> None:
    cfg, _ = _audit(tmp_path, {"alice": ALICE, "bob": BOB})
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"id": "zz", "task": "caption", "lang": "ro", "answers": ["x"]}) + "\n")
    with pytest.raises(VlmadaptError, match=r"10 rated items are not in this file"):
        run_export(ExportConfig(db=cfg.db_path(), out=tmp_path / "k.jsonl", data=other))
