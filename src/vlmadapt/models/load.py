"""Load a VLM and its processor from a local directory or a hub id; count parameters per model part.

One path for every checkpoint: the tiny fixtures of the tests and a user's 7B model both go through
`load_model`. The family comes from config.json's `model_type` unless given; remote code stays off
unless asked for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vlmadapt.errors import ConfigError, VlmadaptError
from vlmadapt.models.families import FAMILIES, Family, get_family

DTYPES = ("auto", "float32", "bfloat16", "float16")
GROUPS = ("vision", "projector", "language_model", "lm_head", "other")


NEEDED = (
    "config.json, the weights (*.safetensors) and the processor files (tokenizer.json, "
    "tokenizer_config.json and processor_config.json or preprocessor_config.json)"
)


def _fetch_hint(path_or_id: str) -> str:
    return (
        f"{path_or_id!r} is not a local directory and could not be fetched from the Hugging Face Hub "
        f"(offline, unknown id, or files missing); pass a local directory holding {NEEDED}"
    )


def _missing_hint(path_or_id: str, error: Exception) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if Path(path_or_id).exists():
        return f"{path_or_id}: a file is missing or unreadable ({first}); the directory needs {NEEDED}"
    return f"{_fetch_hint(path_or_id)} ({first})"


def read_config(path_or_id: str | Path) -> dict[str, Any]:
    """The checkpoint's config.json as a dict, from a local directory or the hub (cache first)."""
    path = Path(path_or_id)
    if path.exists():
        if not (path / "config.json").is_file():
            raise VlmadaptError(f"{path}: no config.json here; pass the directory save_pretrained wrote")
        return dict(json.loads((path / "config.json").read_text(encoding="utf-8")))
    from transformers.utils import cached_file

    try:
        config_file = cached_file(str(path_or_id), "config.json")
    except (OSError, ValueError) as e:  # offline, unknown repo, or an id that is not a valid repo name
        raise VlmadaptError(_fetch_hint(str(path_or_id))) from e
    if config_file is None:
        raise VlmadaptError(_fetch_hint(str(path_or_id)))
    return dict(json.loads(Path(config_file).read_text(encoding="utf-8")))


def detect_family(path_or_id: str | Path) -> str:
    """The family name of a checkpoint, from config.json's `model_type`."""
    model_type = read_config(path_or_id).get("model_type")
    for family in FAMILIES.values():
        if family.model_type == model_type:
            return family.name
    raise VlmadaptError(
        f"{path_or_id}: config.json has model_type {model_type!r}, which vlmadapt does not support; "
        f"supported model types: {', '.join(f.model_type for f in FAMILIES.values())}"
    )


def load_model(
    path_or_id: str | Path,
    family: str | None = None,
    *,
    dtype: Any = None,
    device_map: Any = None,
    device: str | None = None,
    trust_remote_code: bool = False,
    quantization_config: Any = None,
) -> tuple[Any, Any]:
    """(model, processor) of a checkpoint, with the family's transformers classes.

    dtype: a torch dtype, or "auto" (the dtype config.json records; transformers 5's default, also for
    None), "float32", "bfloat16", "float16".
    device_map: passed to `from_pretrained` (e.g. "auto" to spread over GPUs, needed for 4-bit).
    device: when device_map is not given: "auto" (CUDA when there is one, else CPU), "cpu", "cuda:0".
    """
    import transformers

    fam = _resolve_family(path_or_id, family)
    kwargs: dict[str, Any] = {"dtype": _dtype(dtype), "trust_remote_code": trust_remote_code}
    if device_map is None and device is not None:
        device_map = _device(device)
    if device_map is not None:
        kwargs["device_map"] = device_map
    if quantization_config is not None:
        kwargs["quantization_config"] = quantization_config
    source = str(path_or_id)
    try:  # a tokenizer without its files raises ValueError ("Couldn't instantiate the backend tokenizer")
        processor = getattr(transformers, fam.processor_class).from_pretrained(
            source, trust_remote_code=trust_remote_code
        )
    except (OSError, ValueError) as e:
        raise VlmadaptError(_missing_hint(source, e)) from e
    try:
        model = getattr(transformers, fam.model_class).from_pretrained(source, **kwargs)
    except OSError as e:  # no weights file, locally or on the hub
        raise VlmadaptError(_missing_hint(source, e)) from e
    _check_image_token(model, processor, fam, source)
    return model, processor


def _check_image_token(model: Any, processor: Any, family: Family, source: str) -> None:
    """The tokenizer and config.json agree on the image token id (a missing tokenizer.json gives 0)."""
    in_tokenizer = processor.tokenizer.convert_tokens_to_ids(family.image_token)
    in_config = getattr(model.config, "image_token_id", None)
    if in_tokenizer != in_config:
        raise VlmadaptError(
            f"{source}: the tokenizer maps {family.image_token} to id {in_tokenizer} but config.json says "
            f"image_token_id {in_config}; the tokenizer files (tokenizer.json, tokenizer_config.json) are "
            "missing or belong to another model"
        )


def _resolve_family(path_or_id: str | Path, family: str | None) -> Family:
    detected = detect_family(path_or_id)  # also checks that config.json can be read
    if family is None:
        return FAMILIES[detected]
    fam = get_family(family)
    if fam.name != detected:
        raise ConfigError(
            f"family: {family!r} was given, but {path_or_id}/config.json is a {detected!r} model; "
            f"pass family={detected!r} or leave it out"
        )
    return fam


def _dtype(dtype: Any) -> Any:
    import torch

    if dtype is None:
        return "auto"
    if isinstance(dtype, torch.dtype) or dtype == "auto":
        return dtype
    if dtype not in DTYPES:
        raise ConfigError(f"dtype: {dtype!r} is not one of {', '.join(DTYPES)}")
    return getattr(torch, dtype)


def _device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _unwrap(model: Any) -> Any:
    """The transformers model under a PEFT wrapper (LoRA layers stay inside it, under their module)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def group_of(name: str, family: Family) -> str:
    """The part of the model a parameter or module name belongs to: the longest matching layout prefix."""
    best, best_len = "other", -1
    for group, prefixes in family.layout().items():
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = group, len(prefix)
    return best


def _numel(param: Any) -> int:
    # bitsandbytes 4-bit weights are packed two per byte; their quant_state keeps the real shape.
    shape = getattr(getattr(param, "quant_state", None), "shape", None)
    if shape is not None:
        count = 1
        for dim in shape:
            count *= int(dim)
        return count
    return int(param.numel())


def param_groups(model: Any, family: Family | str, *, trainable_only: bool = False) -> dict[str, int]:
    """Parameter counts per part (vision, projector, language_model, lm_head, other).

    Weights shared between modules (tied embeddings) count once, where `named_parameters` first lists
    them; "other" should be 0 for a correct layout.
    """
    fam = get_family(family) if isinstance(family, str) else family
    counts = dict.fromkeys(GROUPS, 0)
    for name, param in _unwrap(model).named_parameters():
        if trainable_only and not param.requires_grad:
            continue
        counts[group_of(name, fam)] += _numel(param)
    return counts


def language_model(model: Any, family: Family | str) -> Any:
    """The language-model module (decoder layers and embeddings, without lm_head): where LoRA goes."""
    fam = get_family(family) if isinstance(family, str) else family
    return _unwrap(model).get_submodule(fam.language_model[0])
