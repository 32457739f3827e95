"""`vlmadapt export`: merge a LoRA adapter into its base model and save a plain transformers checkpoint.

The merged directory loads with `from_pretrained` (and `vlmadapt predict --model`) without PEFT. The base is
loaded unquantised even when the adapter was trained with QLoRA: merging into 4-bit weights would round
the update away.
"""

from __future__ import annotations

import json
from pathlib import Path

from vlmadapt.errors import ConfigError


def base_of(adapter: Path) -> str:
    """The base model an adapter was trained on, as its adapter_config.json records it."""
    config = adapter / "adapter_config.json"
    if not config.is_file():
        raise ConfigError(f"{adapter}: no adapter_config.json; pass the directory `vlmadapt train` wrote")
    base = json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not base:
        raise ConfigError(f"{config}: no base_model_name_or_path; pass the base model with --base")
    return str(base)


def merge(adapter: Path | str, dest: Path | str, base: str | None = None, dtype: str = "auto") -> Path:
    """Load `base` (default: the adapter's recorded base), apply the adapter, merge, save to `dest`."""
    from peft import PeftModel

    from vlmadapt.models import load_model
    from vlmadapt.provenance import provenance

    adapter, dest = Path(adapter), Path(dest)
    base = base or base_of(adapter)
    model, processor = load_model(base, dtype=dtype)
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    dest.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(dest)
    if (adapter / "processor_config.json").is_file() or (adapter / "tokenizer_config.json").is_file():
        processor = type(processor).from_pretrained(str(adapter))  # the processor training saved
    processor.save_pretrained(dest)
    record = provenance({"adapter": str(adapter), "base": base, "dtype": dtype})
    (dest / "export.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return dest
