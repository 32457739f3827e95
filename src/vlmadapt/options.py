"""Command-line options generated from a stage's pydantic config: the config is the one list of settings.

`config_command` turns a config model into a typer command. Every stage command then reads its settings
the same way, later sources winning:

    --config FILE            a YAML file of the config's keys (the block a study gives the stage)
    --<field> VALUE          one option per field, named after it (`--max-new-tokens` for max_new_tokens,
                             `--backend-model` for backend.model), its help the field's description
    key=value                overrides of any key, nested ones too (`backend.temperature=0.2`)

Options are generated for scalar fields, lists of scalars (repeat the option, or separate with commas)
and the scalar fields of a section one level down; a setting with no option (a mapping, a list of
sections) is still reached with `key=value` or `--config`. No option has a default of its own: an option
not given leaves the field to the config file or the model's default, which the help shows. A command may
name a few fields positionally (`translate SRC`) and give a field a shorter extra name (`--to` for target).
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import typer
import typer.core
import typer.main
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from vlmadapt.config import apply_overrides, build_config, deep_merge, read_yaml, section_model, union_members
from vlmadapt.errors import ConfigError

SCALARS = (str, int, float, bool, Path)
# `key=value` as an override, not a path: a dotted identifier, then `=`.
OVERRIDE = re.compile(r"^[A-Za-z_][\w-]*(\.[\w-]+)*=")


@dataclass(frozen=True)
class Setting:
    """One generated option or argument: the config path it sets, and how typer parses it."""

    path: str  # dotted config key: `backend.model`
    param: str  # the Python parameter name typer sees
    kind: type  # str, int, float, bool, Path
    many: bool  # a list of `kind`
    field: FieldInfo


def settings(model: type[BaseModel], depth: int = 1, prefix: str = "") -> list[Setting]:
    """The fields of `model` an option can set: scalars and lists of scalars, sections `depth` levels down."""
    out: list[Setting] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        section = section_model(field.annotation)
        if section is not None:
            if depth > 0:
                out += settings(section, depth - 1, f"{path}.")
            continue
        parsed = _scalar(field.annotation)
        if parsed is not None:
            kind, many = parsed
            out.append(Setting(path, path.replace(".", "__"), kind, many, field))
    return out


def _scalar(annotation: Any) -> tuple[type, bool] | None:
    """(type typer parses, is a list) of a field an option can hold, or None."""
    members = [m for m in union_members(annotation) if m is not type(None)]
    if len(members) != 1:
        return None
    member = members[0]
    if get_origin(member) is list:
        inner = _scalar(get_args(member)[0]) if get_args(member) else None
        return (inner[0], True) if inner and not inner[1] else None
    if get_origin(member) is typing.Literal:
        return str, False
    if isinstance(member, type) and issubclass(member, enum.Enum):
        return str, False
    if member in SCALARS:
        return member, False
    return None


def _flag(path: str) -> str:
    return "--" + path.replace("_", "-").replace(".", "-")


def _help(setting: Setting) -> str:
    """The field's description, its choices and its default (the model's, shown, never repeated here)."""
    field, parts = setting.field, [setting.field.description or ""]
    literal = [m for m in union_members(field.annotation) if get_origin(m) is typing.Literal]
    enums = [m for m in union_members(field.annotation) if isinstance(m, type) and issubclass(m, enum.Enum)]
    choices = [str(c) for m in literal for c in get_args(m)] + [str(e.value) for m in enums for e in m]
    if choices:
        parts.append("One of " + ", ".join(choices) + ".")
    if setting.many:
        parts.append("Repeatable" + ("" if setting.kind is Path else ", or comma-separated") + ".")
    default = field.get_default(call_default_factory=True) if not field.is_required() else PydanticUndefined
    if default is PydanticUndefined:
        parts.append("Required.")
    elif default not in (None, [], "") and not isinstance(default, BaseModel):
        shown = default.value if isinstance(default, enum.Enum) else default
        if isinstance(shown, list):
            shown = ",".join(str(x) for x in shown)
        parts.append(f"(default: {shown})")
    return " ".join(p for p in parts if p)


def _parameter(setting: Setting, names: list[str], positional: bool) -> inspect.Parameter:
    # A list reads strings (split at commas, then validated by the model): `--seeds 0,1,2` is three ints.
    kind: Any = (list[Path] if setting.kind is Path else list[str]) if setting.many else setting.kind
    info: Any
    if positional:
        metavar = setting.path.upper() + ("... [KEY=VALUE]..." if setting.many else "")
        text = _help(setting) + (
            " Overrides of any config key (key=value) may follow." if setting.many else ""
        )
        info = typer.Argument(help=text, metavar=metavar, show_default=False)
    elif setting.kind is bool:
        positive = names
        negative = ["--no-" + n.removeprefix("--") for n in names]
        info = typer.Option(f"{'/'.join([positive[0], negative[0]])}", *positive[1:], help=_help(setting))
    else:
        info = typer.Option(*names, help=_help(setting), show_default=False)
    return inspect.Parameter(
        setting.param,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=None,
        annotation=Annotated[kind | None, info],
    )


def _value(setting: Setting, raw: Any) -> Any:
    if setting.many and setting.kind is not Path:
        return [part.strip() for item in raw for part in str(item).split(",") if part.strip()]
    return list(raw) if setting.many else raw


def _nest(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """{"backend.model": "x"} -> {"backend": {"model": "x"}}."""
    out: dict[str, Any] = {}
    for path, value in pairs:
        node = out
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


@dataclass
class Spec:
    """A command generated from a config: everything `config_command` was given, the model not loaded."""

    name: str
    model: str  # "module:Class", imported when the command runs or prints its help
    function: Callable[..., None]
    arguments: tuple[str, ...]
    aliases: Mapping[str, str]
    depth: int
    config_argument: bool
    build: Callable[[type[BaseModel], dict[str, Any], str], BaseModel] | None


class Commands(typer.Typer):
    """A typer app whose config commands are built when used: `vlmadapt --help` imports no stage.

    The stages' modules import scorers, language identifiers and ML libraries; a command's options need
    its config model only, and only when that command runs or prints its own help.
    """

    def __init__(self, *, order: list[str] | None = None, **kwargs: Any) -> None:
        self.specs: dict[str, Spec] = {}
        group = type("CommandsGroup", (_Group,), {"specs": self.specs, "order": order or []})
        kwargs.setdefault("callback", _group)  # a group even when every command is a config command
        super().__init__(cls=group, **kwargs)

    def config_command(
        self,
        name: str,
        model: str,
        *,
        arguments: tuple[str, ...] = (),
        aliases: Mapping[str, str] | None = None,
        depth: int = 1,
        config_argument: bool = False,
        build: Callable[[type[BaseModel], dict[str, Any], str], BaseModel] | None = None,
    ) -> Callable[[Callable[..., None]], Callable[..., None]]:
        """Register the decorated `function(cfg, **own_options)` as command `name`, options from `model`.

        `arguments` are fields read positionally, in order (a list field takes the rest, beside the
        `key=value` overrides); `aliases` maps an extra option name to a field (`{"to": "target"}` for
        `--to`); `depth` is how many section levels get options; `config_argument` takes the config file
        as the first positional argument (`train RECIPE`). `build(model, data, source)` validates
        (default: `build_config`). The function's own typer-annotated parameters are options beside the
        generated ones; its docstring is the command's help.
        """

        def decorate(function: Callable[..., None]) -> Callable[..., None]:
            self.specs[name] = Spec(
                name, model, function, arguments, aliases or {}, depth, config_argument, build
            )
            return function

        return decorate


def _group() -> None:
    pass


class _Group(typer.core.TyperGroup):
    specs: dict[str, Spec]
    order: list[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for spec in self.specs.values():
            self.add_command(_Deferred(spec))

    def list_commands(self, ctx: Any) -> list[str]:
        """In `order` (the pipeline's), then the rest as registered."""
        names = super().list_commands(ctx)
        rank = {name: i for i, name in enumerate(self.order)}
        return sorted(names, key=lambda n: rank.get(n, len(rank)))


class _Deferred(typer.core.TyperCommand):
    """Stands in for a config command in listings; builds the real one when it is invoked (or --help)."""

    def __init__(self, spec: Spec) -> None:
        doc = inspect.getdoc(spec.function) or ""
        super().__init__(spec.name, help=doc, short_help=doc.split("\n\n")[0].replace("\n", " "))
        self.spec = spec
        self.real: typer.core.TyperCommand | None = None

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        if self.real is None:
            self.real = build_command(self.spec)
        return self.real.make_context(info_name, args, parent, **extra)


def build_command(spec: Spec) -> Any:
    """The typer command of `spec`: its model's options, --config, key=value, and the function's own."""
    module, _, attr = spec.model.partition(":")
    model: type[BaseModel] = getattr(importlib.import_module(module), attr)
    arguments = spec.arguments
    extra: dict[str, list[str]] = {}
    for alias, path in spec.aliases.items():
        extra.setdefault(path, []).append("--" + alias)
    table = settings(model, spec.depth)
    by_path = {s.path: s for s in table}
    for path in [*arguments, *extra]:
        if path not in by_path:
            raise ValueError(f"{spec.name}: {path!r} is not an option-settable field of {model.__name__}")
    ordered = [by_path[a] for a in arguments] + [s for s in table if s.path not in arguments]
    generated = [_parameter(s, [*extra.get(s.path, []), _flag(s.path)], s.path in arguments) for s in ordered]
    config_help = f"YAML file of {model.__name__} keys; options and key=value win over it."
    config = inspect.Parameter(
        "config",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=None,
        annotation=Annotated[
            Path | None,
            typer.Argument(help=config_help, metavar="CONFIG", show_default=False)
            if spec.config_argument
            else typer.Option("--config", help=config_help, show_default=False),
        ],
    )
    sets = inspect.Parameter(
        "set_",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=None,
        annotation=Annotated[list[str] | None, typer.Option("--set", hidden=True)],
    )
    variadic = any(by_path[a].many for a in arguments)
    overrides = inspect.Parameter(
        "overrides",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=None,
        annotation=Annotated[
            list[str] | None,
            typer.Argument(
                metavar="[KEY=VALUE]...",
                help="Overrides of any config key, nested ones too: section.key=value.",
                show_default=False,
            ),
        ],
    )
    own = [  # the function's own options; its first parameter, the config, may name a TYPE_CHECKING import
        p.replace(annotation=eval(p.annotation, spec.function.__globals__))
        if isinstance(p.annotation, str)
        else p
        for p in list(inspect.signature(spec.function).parameters.values())[1:]
    ]
    head = [config] if spec.config_argument else []
    tail = [] if spec.config_argument else [config]
    params = [*head, *generated, *tail, sets, *([] if variadic else [overrides]), *own]
    validate = spec.build or (lambda m, d, src: build_config(m, d, src))

    def command(**kwargs: Any) -> None:
        file = kwargs.pop("config")
        keys = [*(kwargs.pop("set_") or [])]
        trailing = [str(t) for t in kwargs.pop("overrides", None) or []]
        given = [(s.path, kwargs.pop(s.param)) for s in table]
        given = [(path, _value(by_path[path], raw)) for path, raw in given if raw is not None]
        # Click fills the positional fields first: `evaluate --config F backend.x=1` puts the override in
        # PREDICTIONS. Put the command line's positional tokens back in order and deal them out again.
        tokens = [
            str(t) for path, v in given if path in arguments for t in (v if isinstance(v, list) else [v])
        ]
        tokens += trailing
        keys += [t for t in tokens if _is_override(t)]
        given = [(path, v) for path, v in given if path not in arguments]
        given += _deal([t for t in tokens if not _is_override(t)], [by_path[a] for a in arguments])
        data = apply_overrides(deep_merge(read_yaml(file) if file else {}, _nest(given)), keys)
        source = str(file or spec.name)
        _check_required(model, data, source, extra, arguments)
        spec.function(validate(model, data, source), **kwargs)

    command.__doc__ = spec.function.__doc__
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    app = typer.Typer(rich_markup_mode="rich", pretty_exceptions_enable=False, add_completion=False)
    app.command(spec.name)(command)
    return typer.main.get_command(app)


def _deal(tokens: list[str], fields: list[Setting]) -> list[tuple[str, Any]]:
    """Positional tokens to the positional fields, in order; a list field takes the rest."""
    out: list[tuple[str, Any]] = []
    for s in fields:
        if not tokens:
            break
        if s.many:
            out.append((s.path, [Path(t) if s.kind is Path else t for t in tokens]))
            return out
        out.append((s.path, tokens.pop(0)))
    if tokens:
        raise ConfigError(f"unexpected argument(s) {' '.join(tokens)}: overrides look like key=value")
    return out


def _is_override(token: str) -> bool:
    """`key=value`: a dotted name, then `=` (`runs/a=b` is a path)."""
    return bool(OVERRIDE.match(token))


def _check_required(
    model: type[BaseModel],
    data: dict[str, Any],
    source: str,
    extra: Mapping[str, list[str]],
    arguments: tuple[str, ...],
) -> None:
    """A required field that nothing set: say every way to set it."""
    for field_name, field in model.model_fields.items():
        if field.is_required() and field_name not in data:
            if field_name in arguments:
                ways = f"the {field_name.upper()} argument"
            else:
                ways = " or ".join([*extra.get(field_name, []), _flag(field_name)])
            raise ConfigError(
                f"{source}: {field_name} is required: give {ways}, {field_name}=VALUE, "
                "or put it in --config FILE"
            )
