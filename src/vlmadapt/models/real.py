"""Real-size architectures: the config.json values of the three models of the Romanian study.

Tests plan them on the meta device (no weights); benchmarks build them with random weights on a GPU. The
token ids are the checkpoints' own; a benchmark that pairs a config with another tokenizer sets them to
that tokenizer's ids (`vlmadapt.bench.models`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vlmadapt.errors import lookup


def qwen2_vl_7b() -> Any:
    """Qwen/Qwen2-VL-7B-Instruct config.json."""
    from transformers import Qwen2VLConfig

    text = {
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "vocab_size": 152064,
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-6,
        "tie_word_embeddings": False,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]},
    }
    vision = {
        "depth": 32,
        "embed_dim": 1280,
        "hidden_size": 3584,
        "mlp_ratio": 4,
        "num_heads": 16,
        "in_chans": 3,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    }
    return Qwen2VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=151655,
        video_token_id=151656,
        vision_start_token_id=151652,
        vision_end_token_id=151653,
        tie_word_embeddings=False,
    )


def llama32_11b_vision() -> Any:
    """meta-llama/Llama-3.2-11B-Vision(-Instruct) config.json."""
    from transformers import MllamaConfig

    text = {
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 40,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "max_position_embeddings": 131072,
        "cross_attention_layers": [3, 8, 13, 18, 23, 28, 33, 38],
        "rms_norm_eps": 1e-5,
    }
    vision = {
        "hidden_size": 1280,
        "intermediate_size": 5120,
        "num_hidden_layers": 32,
        "num_global_layers": 8,
        "attention_heads": 16,
        "image_size": 560,
        "patch_size": 14,
        "max_num_tiles": 4,
        "vision_output_dim": 7680,
        "intermediate_layers_indices": [3, 7, 15, 23, 30],
    }
    return MllamaConfig(text_config=text, vision_config=vision, image_token_index=128256)


def llava16_mistral_7b() -> Any:
    """llava-hf/llava-v1.6-mistral-7b-hf config.json (Mistral-7B-Instruct-v0.2 + CLIP ViT-L/14-336)."""
    from transformers import LlavaNextConfig

    text = {
        "model_type": "mistral",
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 32064,
        "max_position_embeddings": 32768,
        "sliding_window": None,
        "rms_norm_eps": 1e-5,
    }
    vision = {
        "model_type": "clip_vision_model",
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "image_size": 336,
        "patch_size": 14,
        "projection_dim": 768,
        "vocab_size": 32000,
    }
    pinpoints = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]
    return LlavaNextConfig(
        text_config=text,
        vision_config=vision,
        image_grid_pinpoints=pinpoints,
        image_token_index=32000,
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
        tie_word_embeddings=False,
    )


# name -> (family, config factory)
REAL: dict[str, tuple[str, Callable[[], Any]]] = {
    "qwen2_vl_7b": ("qwen2_vl", qwen2_vl_7b),
    "llama32_11b_vision": ("mllama", llama32_11b_vision),
    "llava16_mistral_7b": ("llava_next", llava16_mistral_7b),
}


def real_config(name: str) -> Any:
    """The transformers config of a real-size architecture, or an error listing the known names."""
    return lookup(REAL, name, "real-size architecture")[1]()
