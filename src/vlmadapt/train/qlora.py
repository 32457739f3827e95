"""QLoRA: the language model in 4 bits (NF4, bitsandbytes), LoRA adapters in fp32 on top.

The Romanian study trains LLaVA-1.6-Mistral-7B this way. Only the language model is quantised: the
vision tower, the projector and lm_head stay in 16 bits (`llm_int8_skip_modules`), because quantising
the small vision and projection layers costs accuracy and saves little memory.
bitsandbytes' 4-bit kernels need CUDA, so on a machine without it this stops with a clear error
before anything is loaded.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from vlmadapt.errors import ConfigError

Layout = dict[str, tuple[str, ...]]


def require_cuda() -> None:
    """Raise a ConfigError unless CUDA and bitsandbytes are both available."""
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(
            "model.quantization: '4bit' (QLoRA) needs a CUDA GPU for bitsandbytes' 4-bit "
            "kernels, and this machine has none; set model.quantization=none to train in "
            "16/32 bits, or run on a GPU"
        )
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError(
            "model.quantization: '4bit' needs the bitsandbytes package: pip install bitsandbytes"
        )


def skip_modules(layout: Layout) -> list[str]:
    """Module prefixes that stay unquantised: everything outside the language model."""
    return [p for group, prefixes in layout.items() if group != "language_model" for p in prefixes]


def quantization_config(layout: Layout, compute_dtype: Any) -> Any:
    """The BitsAndBytesConfig of the study's QLoRA arm (NF4, double quantisation, bf16 compute)."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",  # QLoRA (Dettmers et al. 2023): NF4 + double quantisation
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
        llm_int8_skip_modules=skip_modules(layout),
    )


def device_map() -> dict[str, int]:
    """Each process puts the whole quantised model on its own GPU (data parallel QLoRA)."""
    from accelerate import PartialState

    return {"": PartialState().local_process_index}


def prepare(model: Any, gradient_checkpointing: bool) -> Any:
    """PEFT's preparation of a k-bit model: norms in fp32, input gradients for checkpointing."""
    from peft import prepare_model_for_kbit_training

    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
