"""Tiny random VLMs for offline tests and demos: each family's real config and processor, shrunk.

`build_tiny(family, out_dir)` trains an English byte-level BPE tokenizer with the family's special tokens
and chat template, builds the family's real processor (real image processor class, configured so an image
becomes a few dozen tokens at most), instantiates the real model class from its real config class with
small sizes and seeded random weights, and saves both with `save_pretrained`. The directory then loads
through `load_model` exactly like a 7B checkpoint. Each takes about a second on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmadapt.models import templates
from vlmadapt.models.families import get_family
from vlmadapt.models.tokenizer import TokenizerSpec, train_tokenizer

# The language model of every tiny fixture: 2 layers of width 64, 4 query heads (head_dim 16), 2 KV heads.
TEXT = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 2048,
}
VISION_WIDTH = 32


@dataclass(frozen=True)
class Sizes:
    """Widths and depths of a tiny model. Heads stay 16 wide (Qwen's M-RoPE sections and Mistral's
    head_dim assume it), so `hidden` must be a multiple of 16."""

    hidden: int = TEXT["hidden_size"]
    intermediate: int = TEXT["intermediate_size"]
    layers: int = TEXT["num_hidden_layers"]
    kv_heads: int = TEXT["num_key_value_heads"]
    vision_width: int = VISION_WIDTH

    def text(self) -> dict[str, Any]:
        return {
            **TEXT,
            "hidden_size": self.hidden,
            "intermediate_size": self.intermediate,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.hidden // 16,
            "num_key_value_heads": self.kv_heads,
        }


PATCH = 14  # the real patch size of every family's ViT; the processors compute token counts from it

QWEN_SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
# Llama 3's first special tokens in their real order; <|image|> comes last, at id text vocab_size, as in
# Llama-3.2-Vision (its embedding table has 8 rows beyond vocab_size; lm_head cannot emit them).
MLLAMA_SPECIALS = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|finetune_right_pad_id|>",
    "<|reserved_special_token_2|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|eot_id|>",
    "<|python_tag|>",
    "<|image|>",
)
# Generation also stops at these (Qwen2-VL-Instruct: <|im_end|> and <|endoftext|>; Llama 3.2: three ids).
END_OF_TEXT = ("<|endoftext|>", "<|end_of_text|>", "<|eom_id|>")
MISTRAL_LEADING = ("<unk>", "<s>", "</s>")
# Appended after the vocabulary; <image> and <pad> are there in llava-hf checkpoints too.
LLAVA_TRAILING = ("[INST]", "[/INST]", "<image>", "<pad>")


def build_tiny(
    family: str,
    out_dir: Path | str,
    seed: int = 0,
    *,
    sizes: Sizes | None = None,
    corpus: Iterable[str] = (),
) -> Path:
    """Build, save and return the directory of a tiny random `family` model with its processor.

    `sizes` overrides the fixture's widths (the demo's model is larger); `corpus` adds English text to the
    tokenizer's training corpus.
    """
    import torch
    import transformers

    from vlmadapt.models.corpus import english_corpus

    if sizes is not None and sizes.hidden % 16:
        raise ValueError(f"Sizes.hidden must be a multiple of 16 (heads are 16 wide), got {sizes.hidden}")
    fam = get_family(family)
    spec, make = _TINY[fam.name]
    tokenizer = train_tokenizer(spec(), [*english_corpus(), *corpus])
    config, processor = make(tokenizer, sizes or Sizes())
    torch.manual_seed(seed)
    model = getattr(transformers, fam.model_class)(config)
    _open_gates(model)
    model.generation_config = _generation_config(tokenizer, fam.end_of_turn)
    out = Path(out_dir)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def _open_gates(model: Any) -> None:
    """Set scalar gates (Mllama's tanh-gated cross-attention and positional embeddings) to 0.5.

    transformers initialises them to 0, as for pretraining from scratch, so an untrained model ignores the
    image completely and no gradient reaches its cross-attention weights; a real checkpoint's gates are
    open. The fixture mimics the checkpoint, so the image changes the output as it does in the real model.
    """
    import torch

    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.rsplit(".", 1)[-1].endswith("gate") and param.numel() == 1:
                param.fill_(0.5)


def _generation_config(tokenizer: Any, end_of_turn: str) -> Any:
    """Greedy decoding that stops at the end of the assistant turn or at the end of text."""
    from transformers import GenerationConfig

    vocab = tokenizer.get_vocab()
    stops = dict.fromkeys(vocab[t] for t in (end_of_turn, tokenizer.eos_token, *END_OF_TEXT) if t in vocab)
    return GenerationConfig(
        bos_token_id=tokenizer.bos_token_id if tokenizer.bos_token else tokenizer.pad_token_id,
        eos_token_id=list(stops) if len(stops) > 1 else next(iter(stops)),
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
    )


def _special_ids(tokenizer: Any) -> dict[str, int | None]:
    return {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }


# Qwen2-VL and Qwen2.5-VL ----------------------------------------------------------------------------------


def _qwen_tokenizer() -> TokenizerSpec:
    # Qwen2-VL-Instruct: no BOS, <|im_end|> ends a turn, <|endoftext|> pads.
    return TokenizerSpec(
        leading=(),
        trailing=QWEN_SPECIALS,
        chat_template=templates.QWEN2_VL,
        roles={"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    )


def _qwen_processor(tokenizer: Any, processor_class: str) -> Any:
    import transformers
    from transformers import Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    # Images are resized to 56x56 .. 112x112 pixels (min_pixels / max_pixels in the hub configs): 2x2 to
    # 4x4 merged patches, i.e. 4 to 16 image tokens.
    kwargs: dict[str, Any] = {
        "size": {"shortest_edge": 56 * 56, "longest_edge": 112 * 112},
        "patch_size": PATCH,
        "temporal_patch_size": 2,
        "merge_size": 2,
    }
    image = Qwen2VLImageProcessor(**kwargs)
    video = Qwen2VLVideoProcessor(**kwargs)
    return getattr(transformers, processor_class)(
        image_processor=image, tokenizer=tokenizer, video_processor=video, chat_template=templates.QWEN2_VL
    )


def _qwen_ids(tokenizer: Any) -> dict[str, Any]:
    ids = tokenizer.convert_tokens_to_ids
    return {
        "image_token_id": ids("<|image_pad|>"),
        "video_token_id": ids("<|video_pad|>"),
        "vision_start_token_id": ids("<|vision_start|>"),
        "vision_end_token_id": ids("<|vision_end|>"),
    }


def _qwen_text(tokenizer: Any, sizes: Sizes) -> dict[str, Any]:
    # M-RoPE splits head_dim / 2 = 8 rotary frequencies into (temporal, height, width) sections.
    rope = {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]}
    return {**sizes.text(), "vocab_size": len(tokenizer), "rope_parameters": rope, **_special_ids(tokenizer)}


def _qwen2_vl(tokenizer: Any, sizes: Sizes) -> tuple[Any, Any]:
    from transformers import Qwen2VLConfig

    vision = {
        "depth": 2,
        "embed_dim": sizes.vision_width,
        "hidden_size": sizes.hidden,
        "num_heads": 2,
        "mlp_ratio": 2,
        "patch_size": PATCH,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    }
    config = Qwen2VLConfig(
        text_config=_qwen_text(tokenizer, sizes), vision_config=vision, **_qwen_ids(tokenizer)
    )
    return config, _qwen_processor(tokenizer, "Qwen2VLProcessor")


def _qwen2_5_vl(tokenizer: Any, sizes: Sizes) -> tuple[Any, Any]:
    from transformers import Qwen2_5_VLConfig

    # Block 0 attends within 56-pixel windows (2x2 merged patches), block 1 globally, as in the real ViT.
    vision = {
        "depth": 2,
        "hidden_size": sizes.vision_width,
        "out_hidden_size": sizes.hidden,
        "intermediate_size": 2 * sizes.vision_width,
        "num_heads": 2,
        "patch_size": PATCH,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 56,
        "fullatt_block_indexes": [1],
    }
    config = Qwen2_5_VLConfig(
        text_config=_qwen_text(tokenizer, sizes), vision_config=vision, **_qwen_ids(tokenizer)
    )
    return config, _qwen_processor(tokenizer, "Qwen2_5_VLProcessor")


# Llama-3.2-Vision -----------------------------------------------------------------------------------------


def _mllama_tokenizer() -> TokenizerSpec:
    return TokenizerSpec(
        leading=(),
        trailing=MLLAMA_SPECIALS,
        chat_template=templates.MLLAMA,
        prepend_bos=True,
        roles={
            "bos_token": "<|begin_of_text|>",
            "eos_token": "<|eot_id|>",
            "pad_token": "<|finetune_right_pad_id|>",
        },
    )


def _mllama(tokenizer: Any, sizes: Sizes) -> tuple[Any, Any]:
    from transformers import MllamaConfig, MllamaImageProcessor, MllamaProcessor

    image_token_id = tokenizer.convert_tokens_to_ids("<|image|>")
    # 3 layers, the middle one cross-attends to the image (the 11B model has 8 of 40).
    text = {
        **sizes.text(),
        "num_hidden_layers": sizes.layers + 1,
        "cross_attention_layers": [1],
        "vocab_size": image_token_id,
        **_special_ids(tokenizer),
    }
    # 28-pixel tiles of 2x2 patches, up to 4 tiles (the real default aspect ratios); the vision output
    # concatenates the final layer with one intermediate layer (the real model: with 5), hence 2 x width.
    vision = {
        "hidden_size": sizes.vision_width,
        "intermediate_size": 2 * sizes.vision_width,
        "num_hidden_layers": 2,
        "num_global_layers": 1,
        "attention_heads": 2,
        "image_size": 28,
        "patch_size": PATCH,
        "max_num_tiles": 4,
        "intermediate_layers_indices": [0],
        "vision_output_dim": 2 * sizes.vision_width,
    }
    config = MllamaConfig(text_config=text, vision_config=vision, image_token_index=image_token_id)
    image = MllamaImageProcessor(size={"height": 28, "width": 28}, max_image_tiles=4)
    return config, MllamaProcessor(image_processor=image, tokenizer=tokenizer, chat_template=templates.MLLAMA)


# LLaVA-NeXT (CLIP + Mistral) and LLaVA (SigLIP + Mistral) ------------------------------------------------


def _mistral_tokenizer(chat_template: str) -> Callable[[], TokenizerSpec]:
    def spec() -> TokenizerSpec:
        return TokenizerSpec(
            leading=MISTRAL_LEADING,
            trailing=LLAVA_TRAILING,
            chat_template=chat_template,
            prepend_bos=True,
            roles={"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"},
        )

    return spec


def _mistral_text(tokenizer: Any, sizes: Sizes) -> dict[str, Any]:
    return {
        **sizes.text(),
        "model_type": "mistral",
        "vocab_size": len(tokenizer),
        "head_dim": 16,
        "sliding_window": None,
        **_special_ids(tokenizer),
    }


def _llava_next(tokenizer: Any, sizes: Sizes) -> tuple[Any, Any]:
    from transformers import LlavaNextConfig, LlavaNextImageProcessor, LlavaNextProcessor

    # 28-pixel CLIP views of 2x2 patches; any-resolution grids of up to 2x2 views: at most 24 image tokens.
    pinpoints = [[28, 56], [56, 28], [56, 56]]
    vision = {
        "model_type": "clip_vision_model",
        "hidden_size": sizes.vision_width,
        "intermediate_size": 2 * sizes.vision_width,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 28,
        "patch_size": PATCH,
        "projection_dim": sizes.vision_width,
    }
    config = LlavaNextConfig(
        text_config=_mistral_text(tokenizer, sizes),
        vision_config=vision,
        image_grid_pinpoints=pinpoints,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        image_seq_length=4,
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",  # as llava-v1.6-mistral-7b-hf
    )
    image = LlavaNextImageProcessor(
        size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28}, image_grid_pinpoints=pinpoints
    )
    processor = LlavaNextProcessor(
        image_processor=image,
        tokenizer=tokenizer,
        patch_size=PATCH,
        vision_feature_select_strategy="default",
        chat_template=templates.LLAVA_NEXT_MISTRAL,
        image_token="<image>",
        num_additional_image_tokens=1,
    )
    return config, processor


def _llava(tokenizer: Any, sizes: Sizes) -> tuple[Any, Any]:
    from transformers import LlavaConfig, LlavaProcessor, SiglipImageProcessor

    # SigLIP has no CLS token and LLaVA uses its last layer without the pooling head: 56 px -> 16 tokens.
    vision = {
        "model_type": "siglip_vision_model",
        "hidden_size": sizes.vision_width,
        "intermediate_size": 2 * sizes.vision_width,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 56,
        "patch_size": PATCH,
        "vision_use_head": False,
    }
    config = LlavaConfig(
        text_config=_mistral_text(tokenizer, sizes),
        vision_config=vision,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        image_seq_length=16,
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
    )
    image = SiglipImageProcessor(size={"height": 56, "width": 56})
    processor = LlavaProcessor(
        image_processor=image,
        tokenizer=tokenizer,
        patch_size=PATCH,
        vision_feature_select_strategy="full",
        chat_template=templates.LLAVA_MISTRAL,
        image_token="<image>",
        num_additional_image_tokens=0,
    )
    return config, processor


# family -> (tokenizer spec, (tokenizer -> (model config, processor)))
_TINY: dict[str, tuple[Callable[[], TokenizerSpec], Callable[[Any, Sizes], tuple[Any, Any]]]] = {
    "qwen2_vl": (_qwen_tokenizer, _qwen2_vl),
    "qwen2_5_vl": (_qwen_tokenizer, _qwen2_5_vl),
    "mllama": (_mllama_tokenizer, _mllama),
    "llava_next": (_mistral_tokenizer(templates.LLAVA_NEXT_MISTRAL), _llava_next),
    "llava": (_mistral_tokenizer(templates.LLAVA_MISTRAL), _llava),
}
