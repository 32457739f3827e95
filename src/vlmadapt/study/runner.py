"""Run a study: its stages in dependency order, each in a directory keyed by what determines its output.

A stage's directory is `OUT/<stage>/<name>-<key>`, the key a hash of its config (references as written,
output fields as placeholders) and of its inputs' content: the content hash each upstream stage recorded
when it finished, or the size and time of an external file. So an unchanged stage is found done and
skipped, and a change re-runs the stages downstream of it and no others. An external file is known by
its content (sha256, kept in `OUT/.stamps.json` under its size and time, so a file is read again only
when either changes); a folder (images, model weights) by its size and time. The content hash leaves out
what differs between two runs that made the same results (timestamps, logs, provenance, intermediate
checkpoints: `content_hash`), so a stage run again with the same outcome leaves its downstream cached.

A stage is done when `stage.done.json` is there: written last, by atomic rename, with the study file, its
hash, the git revision and the content hash of everything the stage wrote. A directory without it is a
stage that was stopped: it runs again in the same directory, so the stage's own resume (translate and
predict append, train resumes from its checkpoint) picks up where it was.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlmadapt.console import run_log
from vlmadapt.errors import ConfigError, VlmadaptError
from vlmadapt.provenance import git_hash, provenance, write_json
from vlmadapt.study.file import Node, Ref, Study

DONE = "stage.done.json"
STARTED = "stage.json"


@dataclass
class Step:
    """What the runner did (or, in a dry run, would do) with one stage."""

    node: str
    action: str  # "run", "cached", or "blocked" (needed but outside --only / --from)
    reason: str  # new, config changed (keys), input changed (stages), incomplete, waits on, up to date
    dir: Path | None = None  # None while an input is still to be made


@dataclass
class StudyRun:
    study: Study
    out: Path
    steps: list[Step] = field(default_factory=list)

    def ran(self) -> list[str]:
        return [s.node for s in self.steps if s.action == "run"]

    def result(self, node: str) -> Path:
        """The path a bare reference to `node` means (what its entry function returned)."""
        return Path(Layout(self.out, self.study.nodes).path(Ref(node, node)))


def run_study(
    study: Study,
    out: Path | None = None,
    *,
    dry_run: bool = False,
    only: str | None = None,
    start: str | None = None,
    prune: bool = False,
    say: Callable[[str], None] = print,
) -> StudyRun:
    """Run (or, with `dry_run`, plan) the study into `out`; `only` / `start` select stages by name.

    `prune` then deletes this study's stage directories that its current stages no longer use (earlier
    configs, stopped runs of them); with `dry_run` it lists them.
    """
    root = Path(out or study.out or Path("runs") / study.name).resolve()
    selected = _select(study, only, start)
    state = StudyRun(study, root)
    layout = Layout(root, study.nodes, save_stamps=not dry_run)
    ready: set[str] = set()  # stages whose outputs are there: cached, or run just now
    resuming: set[str] = set()  # (dry run) stages that resume, or wait only on stages that resume
    for node in study.nodes.values():
        step = _decide(node, layout, ready, resuming)
        if step.reason.startswith(("incomplete", "waits on")):
            resuming.add(node.id)
        if step.action == "run" and node.id not in selected:
            step.action = "blocked"
            if not dry_run:
                raise VlmadaptError(
                    f"{node.id} is not up to date ({step.reason}) and --only / --from leave it out; "
                    "run it too (or drop --only / --from)"
                )
        state.steps.append(step)
        say(_line(step))
        if step.action == "cached":
            ready.add(node.id)
        elif not dry_run and step.dir is not None:
            _execute(node, step.dir, layout, study)
            ready.add(node.id)
    if prune:
        if only or start or any(s.dir is None for s in state.steps):
            raise ConfigError("--prune needs every stage's directory: run the whole study (no --only/--from)")
        for folder in stale_dirs(state):
            say(f"{'prunable' if dry_run else 'pruned':<8} {folder}")
            if not dry_run:
                shutil.rmtree(folder)
    return state


def stale_dirs(state: StudyRun) -> list[Path]:
    """Stage directories under the study's output that this study made and its current stages do not use.

    A directory counts as this study's when its `stage.json` names the same study file; directories of
    other studies sharing the folder, and anything else, are left alone.
    """
    current = {s.dir.resolve() for s in state.steps if s.dir is not None}
    mine = str(state.study.path.resolve())
    stale = []
    for started in sorted(state.out.glob(f"*/*/{STARTED}")):
        folder = started.parent.resolve()
        if folder in current:
            continue
        try:
            origin = json.loads(started.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if origin.get("study") == mine:
            stale.append(folder)
    return stale


def _line(step: Step) -> str:
    where = f"  {step.dir}" if step.dir else ""
    return f"{step.action:<8} {step.node:<32} {step.reason}{where}"


def _select(study: Study, only: str | None, start: str | None) -> set[str]:
    """The stages that may run: all; `only` (a stage or stage.name); `start` and everything after it."""
    if only and start:
        raise ConfigError("give --only or --from, not both")
    name = only or start
    if not name:
        return set(study.nodes)
    match = {n for n in study.nodes if n == name or n.split(".")[0] == name}
    if not match:
        raise ConfigError(f"no stage {name!r} in {study.path}; its stages: {', '.join(study.nodes)}")
    if only:
        return match
    chosen = set(match)
    for node in study.nodes.values():  # dependency order: downstream stages come after their inputs
        if any(d in chosen for d in node.deps):
            chosen.add(node.id)
    return chosen


# -- keys and reasons ------------------------------------------------------------------------------------


@dataclass
class Layout:
    """Where a study's stages live under `root`, and the completion records found there."""

    root: Path
    nodes: dict[str, Node]
    save_stamps: bool = True  # a dry run hashes external files but writes nothing
    stamps: Stamps = field(init=False)
    _records: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stamps = Stamps(self.root / ".stamps.json", save=self.save_stamps)

    def inputs(self, node: Node) -> dict[str, str]:
        """Reference text -> content hash of the upstream output, or a stamp of an external file."""
        found: dict[str, str] = {}
        for value in node.refs.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, Ref):
                    found[item.text] = self.record(item.node)["content"]
                else:
                    found[item] = self.stamps.stamp(Path(item))
        return found

    def folder(self, node: Node, inputs: dict[str, str] | None = None) -> Path:
        inputs = self.inputs(node) if inputs is None else inputs
        blob = json.dumps({"config": node.config_hash(), "inputs": inputs}, sort_keys=True)
        key = hashlib.sha256(blob.encode()).hexdigest()[:12]
        return self.root / node.stage.name / f"{node.instance}-{key}"

    def record(self, node_id: str) -> dict[str, Any]:
        """The completion record of a stage's current directory (its inputs must be done)."""
        if node_id not in self._records:
            folder = self.folder(self.nodes[node_id])
            marker = folder / DONE
            if not marker.is_file():
                raise VlmadaptError(f"{node_id}: not done yet ({folder})")
            self._records[node_id] = dict(json.loads(marker.read_text(encoding="utf-8")), dir=str(folder))
        return self._records[node_id]

    def path(self, item: Ref | str) -> str:
        """The file or folder a reference means, once its stage is done."""
        if not isinstance(item, Ref):
            return item
        done, node = self.record(item.node), self.nodes[item.node]
        if item.output:
            base = Path(done["dir"]) / node.stage.named_outputs(node.config)[item.output]
        else:
            base = Path(done["dir"]) / done["result"]
        return str(base / item.sub) if item.sub else str(base)


def _decide(node: Node, layout: Layout, ready: set[str], resuming: set[str]) -> Step:
    pending = [d for d in node.deps if d not in ready]
    if pending:
        return Step(node.id, "run", _stale_reason(node, layout.root, None, pending, resuming))
    inputs = layout.inputs(node)
    folder = layout.folder(node, inputs)
    if (folder / DONE).is_file():
        return Step(node.id, "cached", "up to date", folder)
    if folder.is_dir():
        return Step(node.id, "run", "incomplete: resumes in the same directory", folder)
    return Step(node.id, "run", _stale_reason(node, layout.root, inputs, [], resuming), folder)


def _stale_reason(
    node: Node, root: Path, inputs: dict[str, str] | None, pending: list[str], resuming: set[str]
) -> str:
    """Why a stage with no finished directory for its key must run, found by comparing with its last run."""
    before = _last_done(node, root)
    if before is None:
        return "new"
    changed = _diff(before.get("config", {}), node.config_dump())
    if changed:
        return "config changed: " + ", ".join(changed[:4]) + (" ..." if len(changed) > 4 else "")
    if pending and all(p in resuming for p in pending):
        # A stage that resumes usually writes what it wrote before (content_hash leaves out timestamps).
        return "waits on " + ", ".join(pending) + ": runs only if its output changes"
    if pending:
        return "input changed: " + ", ".join(pending) + " will run"
    moved = sorted(k for k, v in (inputs or {}).items() if before.get("inputs", {}).get(k) != v)
    return "input changed: " + (", ".join(moved) or "upstream outputs")


def _last_done(node: Node, root: Path) -> dict[str, Any] | None:
    markers = sorted(
        (root / node.stage.name).glob(f"{node.instance}-*/{DONE}"), key=lambda p: p.stat().st_mtime
    )
    return json.loads(markers[-1].read_text(encoding="utf-8")) if markers else None


def _diff(a: Any, b: Any, where: str = "") -> list[str]:
    """The dotted keys whose values differ between two config dumps."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [d for k in keys for d in _diff(a.get(k), b.get(k), f"{where}.{k}" if where else str(k))]
    return [] if a == b else [where or "(config)"]


def _stamp(path: Path) -> str:
    """A folder (images, 7B weights: hashing them on every run would not pay): its size and modification
    time; a hub id or a path that is not here stays "absent", its text being in the config hash already."""
    try:
        st = path.stat()
    except OSError:
        return "absent"
    return f"{'dir' if path.is_dir() else 'file'}:{st.st_size}:{st.st_mtime_ns}"


class Stamps:
    """External files by content: sha256, computed once per (size, mtime) and kept in a JSON file.

    A touched file (same bytes, new time) is hashed again and keeps its key; an edited one is hashed again
    and gets a new key, unless its size and time were put back as they were (then the kept hash is used).
    """

    def __init__(self, path: Path, *, save: bool = True) -> None:
        self.path, self.save = path, save
        try:
            self.known: dict[str, list[Any]] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.known = {}

    def stamp(self, path: Path) -> str:
        if not path.is_file():
            return _stamp(path)
        st = path.stat()
        key, seen = str(path.resolve()), [st.st_size, st.st_mtime_ns]
        entry = self.known.get(key)
        if entry is None or entry[:2] != seen:
            entry = self.known[key] = [*seen, _feed(hashlib.sha256(), path).hexdigest()]
            if self.save:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_json(self.path, self.known)
        return f"sha256:{entry[2]}"


# -- running one stage -----------------------------------------------------------------------------------


def _execute(node: Node, folder: Path, layout: Layout, study: Study) -> None:
    cfg = node.stage.model().model_validate(_resolved(node, layout, folder))
    origin = {
        "stage": node.stage.name,
        "name": node.instance,
        "study": str(study.path.resolve()),
        "study_sha256": study.sha256,
        "overrides": study.overrides,
        "git": git_hash(),
        "config": node.config_dump(),
        "inputs": layout.inputs(node),
    }
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / STARTED, {**origin, "resolved": cfg.model_dump(mode="json")})
    try:
        with run_log(folder / "stage.log"):  # the libraries' bars and warnings, for stages without a log
            result = node.stage.run(cfg)
    except VlmadaptError as e:
        raise VlmadaptError(
            f"stage {node.id} failed: {e}\n(earlier stages' outputs are kept under {layout.root}; fix this "
            f"and run again: finished stages are skipped and {node.id} resumes in {folder})"
        ) from e
    relative = Path(result).resolve().relative_to(folder.resolve())
    # The record goes last, atomically (write_json renames): a directory without it is a stopped stage.
    write_json(
        folder / DONE,
        {**provenance(), **origin, "result": relative.as_posix(), "content": content_hash(folder)},
    )


def _resolved(node: Node, layout: Layout, folder: Path) -> dict[str, Any]:
    """The node's block with real paths: references to upstream outputs, derived outputs in `folder`."""
    data = json.loads(json.dumps({k: v for k, v in node.block.items() if k != "_system"}, default=str))
    for dotted, value in node.refs.items():
        items = [layout.path(v) for v in (value if isinstance(value, list) else [value])]
        _set(data, dotted, items if isinstance(value, list) else items[0])
    for key, rel in node.stage.derived.items():
        data[key] = str(folder / rel) if rel else str(folder)
    return data


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


# What a stage writes that does not change its results: left out of its content hash, so a stage run again
# (after a kill, or with an equivalent config) that writes the same results leaves its downstream cached.
_RECORDS = (DONE, STARTED)
_LOGS = re.compile(r"(.*\.log|log(\.rank\d+)?\.txt)")
_VOLATILE = frozenset({"created", "elapsed", "versions", "git", "python", "machine"})  # provenance keys


def content_hash(folder: Path) -> str:
    """sha256 over the results a stage wrote (path and bytes), without what differs from run to run.

    Left out: the runner's records, provenance (`*.provenance.json`, train's `provenance.json`), logs
    (`*.log`, `log.txt`) and a training run's intermediate `checkpoint-*` directories. scores.json counts
    without its timestamps and versions, a training run's metrics.json as its data counts and per-step
    log (its summary holds the runtime, and a resume that finds the run finished reports a loss of 0),
    adapter_config.json with its target modules sorted (PEFT saves a set, in the string hash's order).
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if _skipped(rel):
            continue
        digest.update(rel.encode() + b"\0")
        canonical = _canonical(path)
        if canonical is not None:
            digest.update(canonical)
        else:
            _feed(digest, path)
    return digest.hexdigest()


def _feed(digest: Any, path: Path) -> Any:
    """`digest` updated with the bytes of `path`, read a megabyte at a time."""
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest


def _skipped(rel: str) -> bool:
    *dirs, name = rel.split("/")
    if rel in _RECORDS or any(d.startswith("checkpoint-") for d in dirs):
        return True
    return name == "provenance.json" or name.endswith(".provenance.json") or bool(_LOGS.fullmatch(name))


def _canonical(path: Path) -> bytes | None:
    """The bytes to hash for a JSON file whose raw bytes vary between equal runs; None: hash it as it is."""
    if path.name not in ("scores.json", "metrics.json", "adapter_config.json"):
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if path.name == "scores.json":
        data = _without(data, _VOLATILE)
    elif path.name == "metrics.json" and "log_history" in data:
        steps = [e for e in data["log_history"] if isinstance(e, dict) and "train_runtime" not in e]
        data = {k: v for k, v in data.items() if k != "train"} | {"log_history": steps}
    elif isinstance(data.get("target_modules"), list):
        data = {**data, "target_modules": sorted(map(str, data["target_modules"]))}
    return json.dumps(data, sort_keys=True).encode()


def _without(value: Any, keys: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(v, keys) for v in value]
    return value
