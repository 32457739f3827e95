"""Typed configs loaded from YAML with ``key=value`` overrides (``train.lr=1e-4``).

Each stage defines one pydantic model; defaults live there and nowhere else. Errors name the file and
the dotted key, and happen before any model is loaded.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from vlmadapt.errors import ConfigError

C = TypeVar("C", bound=BaseModel)


def read_yaml(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such recipe file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a recipe must be a mapping of keys to values")
    return data


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`: mappings merge key by key, lists and values replace."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set dotted keys from ``key=value`` strings; values are parsed as YAML scalars (``lr=2e-4``)."""
    data = dict(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} must look like key=value (for example train.lr=1e-4)")
        parts = key.split(".")
        node = data
        for part in parts[:-1]:
            child = node.get(part)
            node[part] = dict(child) if isinstance(child, dict) else {}
            node = node[part]
        value = yaml.safe_load(raw) if raw else ""
        if isinstance(value, str) and _looks_numeric(value):
            value = float(value)  # YAML 1.1 reads "2e-4" as a string
        node[parts[-1]] = value
    return data


def _looks_numeric(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def build_config(model: type[C], data: dict[str, Any], source: str = "config") -> C:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        msg = first["msg"]
        if first["type"] in ("literal_error", "enum"):
            msg = f"{msg}, not {first['input']!r}"
        if first["type"] == "extra_forbidden":
            msg = f"unknown key; known keys here: {', '.join(_known_keys(model, first['loc']))}"
        raise ConfigError(f"{source}: {key}: {msg}") from None


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at `loc`'s parent section, looking through optional sections (`X | None`)."""
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        section = section_model(getattr(field, "annotation", None))
        if section is None:
            return []
        model = section
    return sorted(model.model_fields)


def union_members(annotation: Any) -> tuple[Any, ...]:
    """The members of a union (`X | None` -> X, None), or the annotation alone."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def section_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model of a section annotated `Model` or `Model | None`, else None (a list of
    models is not a section: its items are)."""
    for member in union_members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def load_config(model: type[C], path: Path | str | None = None, overrides: list[str] | None = None) -> C:
    data = read_yaml(path) if path else {}
    data = apply_overrides(data, overrides or [])
    return build_config(model, data, str(path) if path else "config")
