"""What a run will train: LoRA targets, per-group parameter counts, the trainable share, a memory estimate.

Targets are resolved by walking `named_modules()` and keeping the linear layers whose full name lies inside
the requested groups (by default the language model only). PEFT's ``"all-linear"`` and suffix lists such as
``["q_proj", "v_proj"]`` also match the vision towers of Llama-3.2-Vision, LLaVA-NeXT (CLIP) and Qwen2.5-VL,
so PEFT gets the explicit list of full module names instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from vlmadapt.errors import ConfigError

Layout = dict[str, tuple[str, ...]]  # group -> dotted prefixes of module names (vlmadapt.models.Family)
ADAPTERS = "adapters"
OTHER = "other"
_WRAPPERS = ("base_model.model.", "")  # PEFT prefixes every name with base_model.model.
_INFIXES = (".base_layer", ".modules_to_save.default", ".original_module")


def base_name(name: str) -> str:
    """A parameter or module name as the unwrapped model spells it (PEFT wrappers removed)."""
    for prefix in _WRAPPERS:
        if prefix and name.startswith(prefix):
            name = name[len(prefix) :]
    for infix in _INFIXES:
        name = name.replace(infix, "")
    return name


def group_of(name: str, layout: Layout) -> str:
    """The group a parameter or module belongs to: the longest matching prefix wins; LoRA weights are
    `adapters`; anything outside the layout is `other`."""
    if ".lora_" in name or ".vera_" in name:
        return ADAPTERS
    name = base_name(name)
    best, best_len = OTHER, -1
    for group, prefixes in layout.items():
        for p in prefixes:
            if (name == p or name.startswith(p + ".")) and len(p) > best_len:
                best, best_len = group, len(p)
    return best


def _is_linear(module: Any) -> bool:
    import torch

    # bitsandbytes' Linear4bit and Linear8bitLt subclass nn.Linear, so 4-bit models resolve the same way
    return isinstance(module, torch.nn.Linear)


def lora_targets(
    model: Any, layout: Layout, groups: Sequence[str], modules: Sequence[str] | None = None
) -> list[str]:
    """Full names of the linear layers to adapt: those inside `groups`, plus the named `modules`."""
    linear = {name: group_of(name, layout) for name, m in model.named_modules() if _is_linear(m)}
    targets = [name for name, group in linear.items() if group in groups]
    for name in modules or []:
        if name not in linear:
            near = _nearest(name, list(linear))
            hint = f"; linear layers are named like {', '.join(near)}" if near else ""
            raise ConfigError(f"lora.modules: the model has no linear layer named {name!r}{hint}")
        if name not in targets:
            targets.append(name)
    if not targets:
        raise ConfigError(f"lora.groups {groups}: no linear layers found inside them (layout: {layout})")
    return targets


def _nearest(name: str, names: list[str], n: int = 3) -> list[str]:
    """Names most like `name`: the same last part first, then the longest common prefix."""
    leaf = name.rsplit(".", 1)[-1]

    def closeness(candidate: str) -> tuple[bool, int]:
        shared = os.path.commonprefix([candidate, name])  # noqa: RUF071 - dotted names, not paths
        return candidate.rsplit(".", 1)[-1] != leaf, -len(shared)

    return sorted(names, key=closeness)[:n]


def owner_group(name: str, layout: Layout) -> str:
    """Like `group_of`, but a LoRA weight belongs to the group of the layer it adapts (for learning rates)."""
    return group_of(name.split(".lora_", 1)[0], layout)


def prepare_model(
    model: Any, layout: Layout, lora: dict[str, Any] | None, trainable: Sequence[str], targets: list[str]
) -> Any:
    """Freeze the model, then add LoRA adapters on `targets` and/or train the `trainable` groups in full.

    With adapters, the fully trained groups go to PEFT's `modules_to_save`, so the adapter directory
    holds them too. Trainable tensors are kept in fp32 so that optimiser updates are not lost to rounding.
    """
    import torch

    model.requires_grad_(False)
    if lora is None:
        for name, p in model.named_parameters():
            if group_of(name, layout) in trainable:
                p.requires_grad_(True)
    else:
        from peft import LoraConfig, get_peft_model

        saved = [prefix for group in trainable for prefix in layout[group]]
        config = LoraConfig(
            r=lora["r"],
            lora_alpha=lora["alpha"],
            lora_dropout=lora["dropout"],
            target_modules=targets,
            modules_to_save=saved or None,
            bias="none",
        )
        model = get_peft_model(model, config)
    for p in model.parameters():
        if p.requires_grad and p.dtype != torch.float32:
            p.data = p.data.float()
    return model


def meta_model(path: str, model_class: str) -> Any:
    """The model built from its config.json alone on the meta device: shapes, no memory, no weights."""
    import torch
    import transformers

    config = transformers.AutoConfig.from_pretrained(path)
    with torch.device("meta"):
        return getattr(transformers, model_class)._from_config(config)


def param_count(p: Any) -> int:
    """Elements of a parameter; a bitsandbytes 4-bit parameter packs two per byte."""
    shape = getattr(getattr(p, "quant_state", None), "shape", None)
    if shape is not None:
        import math

        return int(math.prod(shape))
    return int(p.numel()) * (2 if type(p).__name__ == "Params4bit" else 1)


@dataclass
class GroupRow:
    group: str
    params: int
    trainable: int
    state: str  # frozen | adapters | trained | partly trained


@dataclass
class Plan:
    """The plan printed before training and saved as plan.json."""

    model: str
    family: str
    groups: list[GroupRow]
    total: int
    trainable: int
    lora: dict[str, Any] | None
    targets: list[str]
    precision: str
    memory: dict[str, int] = field(default_factory=dict)  # bytes
    # PEFT keeps a frozen copy of every module it trains in full (modules_to_save), for unmerging; the
    # copies take memory but are not counted as parameters of the model
    frozen_copies: int = 0

    @property
    def share(self) -> float:
        """Trainable parameters as a percentage of all parameters (adapters included)."""
        return 100.0 * self.trainable / self.total if self.total else 0.0

    def frozen(self) -> list[str]:
        return [g.group for g in self.groups if g.trainable == 0]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["share_percent"] = round(self.share, 4)
        out["frozen_groups"] = self.frozen()
        out["num_targets"] = len(self.targets)
        return out


def build_plan(
    model: Any,
    layout: Layout,
    *,
    name: str,
    family: str,
    lora: dict[str, Any] | None,
    targets: list[str],
    precision: str,
) -> Plan:
    """Count parameters per group of a (PEFT-wrapped, possibly meta-device) model."""
    totals: dict[str, list[int]] = {g: [0, 0] for g in [*layout, ADAPTERS, OTHER]}
    seen: set[int] = set()
    copies = 0
    for pname, p in model.named_parameters(remove_duplicate=False):
        if id(p) in seen:  # tied weights (lm_head = embed_tokens) are one tensor
            continue
        seen.add(id(p))
        n = param_count(p)
        if ".original_module." in pname:
            copies += n
            continue
        row = totals[group_of(pname, layout)]
        row[0] += n
        row[1] += n if p.requires_grad else 0
    rows = [GroupRow(g, n, t, _state(g, n, t)) for g, (n, t) in totals.items() if n]
    return Plan(
        model=name,
        family=family,
        groups=rows,
        total=sum(r.params for r in rows),
        trainable=sum(r.trainable for r in rows),
        lora=lora,
        targets=targets,
        precision=precision,
        frozen_copies=copies,
    )


def _state(group: str, n: int, trainable: int) -> str:
    if group == ADAPTERS:
        return "adapters" if trainable else "frozen"
    if trainable == 0:
        return "frozen"
    return "trained" if trainable == n else "partly trained"


def quantizable_params(model: Any, layout: Layout) -> int:
    """Weights that 4-bit loading quantises: the language model's linear layers (the vision tower, the
    projector and lm_head stay in 16 bits; see qlora.py)."""
    return sum(
        param_count(m.weight)
        for name, m in model.named_modules()
        if _is_linear(m) and group_of(name, layout) == "language_model"
    )


def estimate_memory(plan: Plan, optim: str, quantized: int = 0) -> dict[str, int]:
    """Bytes for weights, adapters, gradients and optimiser state; activations depend on the batch and
    are not included. Trainable tensors are fp32 (4 bytes, AdamW adds two fp32 moments); frozen weights
    take the precision's width, and the `quantized` ones about 4.13 bits (NF4 with double quantisation)."""
    width = {"bf16": 2, "fp16": 2, "fp32": 4}[plan.precision]
    adapters = sum(r.params for r in plan.groups if r.group == ADAPTERS)
    full_trained = plan.trainable - sum(r.trainable for r in plan.groups if r.group == ADAPTERS)
    frozen = plan.total - adapters - full_trained
    frozen += plan.frozen_copies
    weights = int((frozen - quantized) * width + quantized * 4.13 / 8 + full_trained * 4)
    state = 2 if "8bit" in optim else 8
    return {
        "weights": weights,
        "adapters": adapters * 4,
        "gradients": plan.trainable * 4,
        "optimizer": plan.trainable * state,
        "total": weights + adapters * 4 + plan.trainable * (4 + state),
    }


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GiB"


def render_plan(plan: Plan) -> Any:
    """A rich table of the plan (groups, counts, share, memory)."""
    from rich.table import Table

    title = (
        f"{plan.model} ({plan.family}): {plan.trainable:,} of {plan.total:,} parameters trainable "
        f"({plan.share:.3f}%)"
    )
    table = Table(title=title, title_justify="left")
    for col in ("group", "parameters", "trainable", "state"):
        table.add_column(col, justify="right" if col in ("parameters", "trainable") else "left")
    for row in plan.groups:
        table.add_row(row.group, f"{row.params:,}", f"{row.trainable:,}", row.state)
    table.add_section()
    table.add_row("total", f"{plan.total:,}", f"{plan.trainable:,}", f"{plan.share:.3f}% trainable")
    if plan.lora:
        table.caption = (
            f"LoRA r={plan.lora['r']} alpha={plan.lora['alpha']} on {len(plan.targets)} linear "
            f"layers in {', '.join(plan.lora['groups'])}; frozen: {', '.join(plan.frozen())}"
        )
    if plan.memory:
        mem = ", ".join(f"{k} {human_bytes(v)}" for k, v in plan.memory.items())
        table.caption = f"{table.caption or ''}\nmemory ({plan.precision}, before activations): {mem}"
    return table
