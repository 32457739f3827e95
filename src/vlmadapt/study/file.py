"""A study file: datasets, systems and stage blocks, each block its stage's own config.

```yaml
name: tiny
datasets: {flickr30k: /data/flickr30k}        # named external inputs: `datasets.flickr30k`
systems:                                      # predict settings a predict block pulls in by `system:`
  lora-ro: {model: english, adapter: train.lora-ro}
world: {images: 40, test_images: 10}          # a stage that runs once: one block
train:                                        # a stage with named instances
  lora-ro: {model: {path: english}, data: {train: world.ro.train-qa}}
predict:
  lora-ro-open: {system: lora-ro, data: world.ro.test.open_vqa}
```

A value of an input field (registry.Stage.inputs) that starts with the name of a stage in the study is a
reference: `STAGE[.INSTANCE][.OUTPUT][/path/inside]` (the instance only for stages with instances).
Anything else is a literal path or hub id; write `./train.jsonl` for a file whose name starts like a stage.
Output fields (registry.Stage.derived) are the runner's: a study never types them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from vlmadapt.config import _known_keys, apply_overrides
from vlmadapt.errors import ConfigError
from vlmadapt.study.registry import STAGES, Stage

TOP_KEYS = ("name", "description", "out", "datasets", "systems")
_INSTANCE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Ref:
    """A reference to another stage's output: `node` is "kind" or "kind.instance"."""

    text: str
    node: str
    output: str = ""  # a named output of that stage; "" is what its entry function returned
    sub: str = ""  # a path inside it


@dataclass
class Node:
    """One stage instance of a study, validated with placeholders for the paths not known before it runs."""

    id: str  # "world", "train.lora-ro"
    stage: Stage
    instance: str
    block: dict[str, Any]  # the study's block (systems merged), references as written
    config: BaseModel  # validated with references as written and "@out/FILE" for the outputs
    refs: dict[str, Ref | list[Ref | str] | str] = field(default_factory=dict)  # input field -> value

    @property
    def deps(self) -> list[str]:
        found: list[str] = []
        for value in self.refs.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, Ref) and item.node not in found:
                    found.append(item.node)
        return found

    def config_dump(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    def config_hash(self) -> str:
        blob = json.dumps({"stage": self.stage.name, "config": self.config_dump()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Study:
    path: Path
    sha256: str  # of the study file as read
    overrides: list[str]
    name: str
    out: Path | None
    datasets: dict[str, str]
    nodes: dict[str, Node]  # in dependency order


class Lines:
    """file:line of every key in a YAML file, for errors that point at the line to fix."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.at: dict[tuple[str, ...], int] = {}
        with contextlib.suppress(yaml.YAMLError):  # safe_load reports it
            self._walk(yaml.compose(text), ())

    def _walk(self, node: Any, where: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = (*where, str(key.value))
                self.at[here] = key.start_mark.line + 1
                self._walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.at[(*where, str(i))] = item.start_mark.line + 1
                self._walk(item, (*where, str(i)))

    def error(self, where: tuple[str, ...], message: str) -> ConfigError:
        """`FILE:LINE: dotted.key: message`, the line of the nearest key that the file has."""
        for n in range(len(where), 0, -1):
            if where[:n] in self.at:
                return ConfigError(f"{self.path}:{self.at[where[:n]]}: {'.'.join(where)}: {message}")
        return ConfigError(f"{self.path}: {'.'.join(where) or '(top level)'}: {message}")


def load_study(path: Path | str, overrides: list[str] | None = None) -> Study:
    """Read, override and validate a study: every block against its stage's config, every reference."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such study file")
    text = path.read_text(encoding="utf-8")
    lines = Lines(path, text)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a study must be a mapping of keys to values")
    data = apply_overrides(data, overrides or [])
    for key in data:
        if key not in TOP_KEYS and key not in STAGES:
            known = ", ".join([*TOP_KEYS, *STAGES])
            raise lines.error((str(key),), f"unknown key; a study has: {known}")
    systems = _mapping(data, "systems", lines)
    nodes = {n.id: n for n in _nodes(data, systems, lines)}
    datasets = {str(k): str(v) for k, v in _mapping(data, "datasets", lines).items()}
    for node in nodes.values():
        _link(node, nodes, datasets, lines)
        if node.stage.name == "evaluate" and "system" not in node.block:
            node.block["system"] = _system_of(node, nodes)
            node.config = _validate(node.stage, _placeholders(node.stage, node.block), (), lines)
    return Study(
        path=path,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        overrides=list(overrides or []),
        name=str(data.get("name") or path.stem),
        out=Path(data["out"]) if data.get("out") else None,
        datasets=datasets,
        nodes={i: nodes[i] for i in _order(nodes, lines)},
    )


def _mapping(data: dict[str, Any], key: str, lines: Lines) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise lines.error((key,), "must be a mapping")
    return value


def _nodes(data: dict[str, Any], systems: dict[str, Any], lines: Lines) -> list[Node]:
    nodes = []
    for kind, stage in STAGES.items():
        if kind not in data:
            continue
        blocks = _mapping(data, kind, lines)
        if not stage.many:
            nodes.append(_node(stage, kind, blocks, (kind,), systems, lines))
            continue
        if not blocks:
            raise lines.error((kind,), "give at least one named block, e.g. `NAME: {...}`")
        for instance, block in blocks.items():
            if not _INSTANCE.fullmatch(str(instance)):
                raise lines.error((kind, str(instance)), "a name of letters, digits, '-' and '_' (no dots)")
            if not isinstance(block, dict):
                raise lines.error((kind, str(instance)), f"must be a mapping of {kind} config keys")
            nodes.append(_node(stage, str(instance), block, (kind, str(instance)), systems, lines))
    return nodes


def _node(
    stage: Stage,
    instance: str,
    block: dict[str, Any],
    where: tuple[str, ...],
    systems: dict[str, Any],
    lines: Lines,
) -> Node:
    block = dict(block)
    if stage.name == "predict" and "system" in block:
        name = block.pop("system")
        if name not in systems:
            raise lines.error(
                (*where, "system"), f"unknown system {name!r}; the study's: {', '.join(systems)}"
            )
        block = {**systems[name], **block, "_system": name}
    for key in stage.derived:
        if key in block:
            raise lines.error(
                (*where, key), "the runner derives this from the stage's output directory; remove it"
            )
    node_id = stage.name if not stage.many else f"{stage.name}.{instance}"
    return Node(node_id, stage, instance, block, _validate(stage, _placeholders(stage, block), where, lines))


def _placeholders(stage: Stage, block: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in block.items() if k != "_system"}
    for key, rel in stage.derived.items():
        data[key] = f"@out/{rel}" if rel else "@out"
    return data


def _validate(stage: Stage, data: dict[str, Any], where: tuple[str, ...], lines: Lines) -> BaseModel:
    model = stage.model()
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = tuple(str(p) for p in first["loc"])
        msg = first["msg"]
        if first["type"] == "extra_forbidden":
            known = [k for k in _known_keys(model, first["loc"]) if k not in stage.derived or len(loc) > 1]
            msg = f"unknown key; known keys here: {', '.join(known)}"
        raise lines.error((*where, *loc), msg) from None


def get_path(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _link(node: Node, nodes: dict[str, Node], datasets: dict[str, str], lines: Lines) -> None:
    """Find the references in the node's input fields and check that each names an output that exists."""
    where = tuple(node.id.split("."))
    for dotted in node.stage.inputs:
        value = get_path(node.block, dotted)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        parsed = [_parse(str(v), nodes, datasets, lines, (*where, *dotted.split("."))) for v in items]
        node.refs[dotted] = parsed if isinstance(value, list) else parsed[0]


def _parse(
    text: str, nodes: dict[str, Node], datasets: dict[str, str], lines: Lines, where: tuple[str, ...]
) -> Ref | str:
    head, _, sub = text.partition("/")
    parts = head.split(".")
    if parts[0] == "datasets" and len(parts) > 1:
        name = ".".join(parts[1:])
        if name not in datasets:
            raise lines.error(
                where, f"{text!r}: no dataset {name!r}; the study's: {', '.join(datasets) or 'none'}"
            )
        return datasets[name] + (f"/{sub}" if sub else "")
    stage = STAGES.get(parts[0])
    if stage is None or not any(n.split(".")[0] == parts[0] for n in nodes):
        return text  # a literal path or hub id
    if stage.many:
        if len(parts) < 2 or f"{parts[0]}.{parts[1]}" not in nodes:
            known = [n for n in nodes if n.startswith(f"{parts[0]}.")]
            raise lines.error(where, f"{text!r}: no such {parts[0]} block; the study's: {', '.join(known)}")
        node_id, output = f"{parts[0]}.{parts[1]}", ".".join(parts[2:])
    else:
        node_id, output = parts[0], ".".join(parts[1:])
    named = nodes[node_id].stage.named_outputs(nodes[node_id].config)
    if output and output not in named:
        raise lines.error(
            where, f"{text!r}: {node_id} has no output {output!r}; it has: {', '.join(named) or 'none'}"
        )
    return Ref(text, node_id, output, sub)


def _system_of(evaluation: Node, nodes: dict[str, Node]) -> str:
    """An evaluate block's default system name: its predict block's `system`, else its own name."""
    ref = evaluation.refs.get("predictions")
    if isinstance(ref, Ref) and nodes[ref.node].block.get("_system"):
        return str(nodes[ref.node].block["_system"])
    return evaluation.instance


def _order(nodes: dict[str, Node], lines: Lines) -> list[str]:
    """Dependency order; among stages free to go, the registry's order, then the file's."""
    done: list[str] = []
    waiting = list(nodes)
    while waiting:
        ready = [n for n in waiting if all(d in done for d in nodes[n].deps)]
        if not ready:
            raise lines.error(
                tuple(waiting[0].split(".")), f"a cycle of references among {', '.join(waiting)}"
            )
        done.append(ready[0])
        waiting.remove(ready[0])
    return done
