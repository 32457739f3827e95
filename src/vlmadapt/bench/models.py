"""Benchmark models: a family's architecture with random weights, tiny (CPU) or real-size (GPU).

Tiny models are the test fixtures (`build_tiny`), loaded through `load_model` like any checkpoint. Real-size
ones are built from `vlmadapt.models.real` directly on the device in bf16 (no weights are downloaded or
written), with the family's real image-processor settings and the tiny fixture's tokenizer and chat
template; the config's special-token ids are set to that tokenizer's, the vocabulary keeps its real size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmadapt.errors import ConfigError

SIZES = ("tiny", "real")
# family -> real-size architecture (vlmadapt.models.real)
REAL_ARCH = {"qwen2_vl": "qwen2_vl_7b", "mllama": "llama32_11b_vision", "llava_next": "llava16_mistral_7b"}


def check_size(family: str, size: str) -> None:
    from vlmadapt.models import get_family

    get_family(family)
    if size not in SIZES:
        raise ConfigError(f"--size {size!r}: choose one of {', '.join(SIZES)}")
    if size == "real" and family not in REAL_ARCH:
        raise ConfigError(
            f"--size real: no real-size architecture for {family!r}; known: {', '.join(REAL_ARCH)}"
        )


def tiny_dir(family: str, workdir: Path) -> Path:
    """The tiny fixture of `family` under `workdir`, built on first use."""
    from vlmadapt.models import build_tiny

    out = workdir / f"tiny-{family}"
    if not (out / "config.json").is_file():
        build_tiny(family, out, seed=0)
    return out


def real_image_processor(family: str) -> Any:
    """The image processor of the family's real checkpoint (values of its preprocessor_config.json)."""
    import transformers

    from vlmadapt.models.real import real_config

    if family == "qwen2_vl":  # Qwen2-VL-7B-Instruct: 14 px patches merged 2x2, 3,136 to 12,845,056 pixels
        return transformers.Qwen2VLImageProcessor(
            size={"shortest_edge": 56 * 56, "longest_edge": 28 * 28 * 16384},
            patch_size=14,
            temporal_patch_size=2,
            merge_size=2,
        )
    if family == "mllama":  # Llama-3.2-11B-Vision: up to 4 tiles of 560 px
        return transformers.MllamaImageProcessor(size={"height": 560, "width": 560}, max_image_tiles=4)
    if family == "llava_next":  # llava-v1.6-mistral-7b-hf: CLIP-336 views on the config's grid pinpoints
        pinpoints = real_config(REAL_ARCH[family]).image_grid_pinpoints
        return transformers.LlavaNextImageProcessor(
            size={"shortest_edge": 336},
            crop_size={"height": 336, "width": 336},
            image_grid_pinpoints=pinpoints,
        )
    raise ConfigError(f"no real image processor for {family!r}; known: {', '.join(REAL_ARCH)}")


def bench_processor(family: str, size: str, workdir: Path) -> Any:
    """The family's processor class with the tiny tokenizer; with size real, the real image processor."""
    import transformers

    from vlmadapt.models import get_family

    processor = getattr(transformers, get_family(family).processor_class).from_pretrained(
        tiny_dir(family, workdir)
    )
    if size == "real":
        processor.image_processor = real_image_processor(family)
    return processor


def real_model_config(family: str, tokenizer: Any) -> Any:
    """The real-size config, its special-token ids set to `tokenizer`'s (the vocabulary keeps its size)."""
    from vlmadapt.models import get_family
    from vlmadapt.models.real import real_config

    config = real_config(REAL_ARCH[family])
    ids = tokenizer.convert_tokens_to_ids
    image = ids(get_family(family).image_token)
    if family == "qwen2_vl":
        config.image_token_id = image
        config.video_token_id = ids("<|video_pad|>")
        config.vision_start_token_id = ids("<|vision_start|>")
        config.vision_end_token_id = ids("<|vision_end|>")
    else:  # transformers 5 exposes image_token_index as image_token_id
        config.image_token_id = image
    text = config.get_text_config()
    text.pad_token_id = tokenizer.pad_token_id
    text.bos_token_id = tokenizer.bos_token_id
    text.eos_token_id = tokenizer.eos_token_id
    return config


def bench_model(
    family: str, size: str, device: str, workdir: Path, dtype: str = "auto", attn: str | None = None
) -> tuple[Any, Any]:
    """(model, processor): a fresh random model on `device` (each call builds a new one).

    dtype "auto": bf16 on CUDA, fp32 elsewhere. attn: an attention implementation ("sdpa", "eager",
    "flash_attention_2"); None keeps transformers' default (SDPA).
    """
    import torch
    import transformers

    from vlmadapt.models import get_family, load_model

    check_size(family, size)
    width = torch.bfloat16 if dtype == "auto" and device.startswith("cuda") else _dtype(dtype)
    if size == "tiny":
        model, processor = load_model(tiny_dir(family, workdir), family, dtype=width, device=device)
        if attn is not None:
            model.set_attn_implementation(attn)
        return model, processor
    processor = bench_processor(family, size, workdir)
    config = real_model_config(family, processor.tokenizer)
    kwargs: dict[str, Any] = {"dtype": width}
    if attn is not None:
        kwargs["attn_implementation"] = attn
    with torch.device(device):  # weights are created where they run: no 15-30 GB host copy
        model = getattr(transformers, get_family(family).model_class)._from_config(config, **kwargs)
    tiny = transformers.GenerationConfig.from_pretrained(tiny_dir(family, workdir))
    model.generation_config = tiny
    return model, processor


def _dtype(name: str) -> Any:
    import torch

    widths = {"auto": torch.float32, "fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    if name not in widths:
        raise ConfigError(f"--dtype {name!r}: choose one of {', '.join(widths)}")
    return widths[name]


def count_params(model: Any) -> int:
    """Parameters of the model, each shared tensor once (LoRA adapters included when wrapped)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
