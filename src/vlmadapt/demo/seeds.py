"""`vlmadapt demo --seeds 0,1,2`: the demo once per training seed, and its headline figures' mean and spread.

The README's demo table comes from this. A figure of one run is one draw: another seed (or another CPU,
whose kernels round differently, or another thread count) trains another model. What a reader can
expect on their machine is the mean over seeds, give or take the spread (max - min) shown beside it.

Each seed's demo is an ordinary demo folder, `OUT/seed-S` (the toy world is the same for all: its own
seed, `world_seed`, stays fixed, as a benchmark would); a second call reuses them as a second demo does.
With `jobs` > 1 the seeds run side by side as `vlmadapt demo` processes, the cores shared out between
them (`OMP_NUM_THREADS`); the figures do not depend on it beyond what a seed does.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from vlmadapt.demo.config import DemoConfig
from vlmadapt.errors import VlmadaptError

# The headline: what the README's table shows, per system (task, metric, column title).
HEADLINE = (("open_vqa", "exact_match", "open VQA exact match"), ("pope", "accuracy", "yes/no accuracy"))
SPREAD_GOAL = 2.0  # points: the most a headline figure may move between seeds


def run_seeds(cfg: DemoConfig, say: Any = print) -> Path:
    """Run the demo for each of `cfg.seeds` into `cfg.out`/seed-S; write and return `cfg.out`/seeds.md."""
    outs = {s: cfg.out / f"seed-{s}" for s in cfg.seeds}
    if cfg.jobs > 1:
        threads = max(1, (os.cpu_count() or 1) // cfg.jobs)
        with ThreadPoolExecutor(cfg.jobs) as pool:
            codes = list(pool.map(lambda s: _subprocess(cfg, s, outs[s], threads), cfg.seeds))
        failed = [s for s, code in zip(cfg.seeds, codes, strict=True) if code != 0]
        if failed:
            raise VlmadaptError(f"the demo of seed {failed[0]} failed: see {outs[failed[0]] / 'console.txt'}")
    else:
        from vlmadapt.demo.run import run

        for seed in cfg.seeds:
            say(f"seed {seed}: {outs[seed]}")
            run(cfg.model_copy(update={"seed": seed, "out": outs[seed], "seeds": []}))
    table = seed_table({s: figures(o) for s, o in outs.items()})
    path = cfg.out / "seeds.md"
    path.write_text(table + "\n", encoding="utf-8")
    return path


def _subprocess(cfg: DemoConfig, seed: int, out: Path, threads: int) -> int:
    fields = cfg.model_dump(exclude_defaults=True, exclude={"seeds", "jobs", "out", "seed"}, mode="json")
    sets = [f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in fields.items()]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    out.mkdir(parents=True, exist_ok=True)
    with (out / "console.txt").open("w", encoding="utf-8") as console:
        argv = [sys.executable, "-m", "vlmadapt.cli", "demo", "--out", str(out), f"seed={seed}", *sets]
        return subprocess.run(argv, env=env, stdout=console, stderr=subprocess.STDOUT, check=False).returncode


def figures(out: Path) -> dict[str, dict[str, float]]:
    """{system: {task: score}} of the headline metrics in one demo folder (its current evaluate runs), in
    percent as scores.json holds them."""
    found: dict[str, dict[str, float]] = {}
    for done in sorted(out.glob("evaluate/*/stage.done.json")):
        scores = json.loads((done.parent / "scores.json").read_text(encoding="utf-8"))
        for task, metric, _ in HEADLINE:
            if scores.get("scorer") == task and metric in scores["metrics"]:
                found.setdefault(str(scores["system"]), {})[task] = float(scores["metrics"][metric]["score"])
    if not found:
        raise VlmadaptError(f"{out}: no finished evaluate runs; run the demo there first")
    return found


def seed_table(by_seed: dict[int, dict[str, dict[str, float]]]) -> str:
    """Markdown: per system and headline figure, each seed's value, the mean and the spread (max - min)."""
    seeds = sorted(by_seed)
    found = {s for f in by_seed.values() for s in f}
    first = [s for s in ("english-en", "english-direct", "translate-test") if s in found]  # the baselines
    systems = first + sorted(found - set(first))
    head = ["system"]
    for _, _, title in HEADLINE:
        head += [f"{title}, seeds {' / '.join(map(str, seeds))}", "mean", "spread"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    # each system's figure in every seed, where every seed has it
    values = {
        (system, task): [by_seed[s][system][task] for s in seeds]
        for system in systems
        for task, _, _ in HEADLINE
        if all(task in by_seed[s].get(system, {}) for s in seeds)
    }
    for system in systems:
        row = [system]
        for task, _, _ in HEADLINE:
            vals = values.get((system, task))
            if vals is None:
                row += ["-", "-", "-"]
                continue
            row += [
                " / ".join(f"{v:.1f}" for v in vals),
                f"{statistics.mean(vals):.1f}",
                f"{max(vals) - min(vals):.1f}",
            ]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for task, _, title in HEADLINE:
        orders = {tuple(sorted(f, key=lambda s: -f[s].get(task, -1.0))) for f in by_seed.values()}
        spread = max((max(v) - min(v) for (_, t), v in values.items() if t == task), default=0.0)
        lines.append(
            f"{title}: widest spread {spread:.1f} points (goal: at most {SPREAD_GOAL:g}); "
            + (
                "the same order of systems in every seed"
                if len(orders) == 1
                else "the order of systems changes"
            )
        )
    return "\n".join(lines)
