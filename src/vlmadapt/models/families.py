"""The VLM families vlmadapt supports: one entry each, in one dict.

A `Family` names the transformers classes and says where each part of the model lives in the module tree
(as dotted prefixes of `named_parameters()` names, checked against transformers 5.23 by instantiating each
model), which special token marks an image in the text and which one ends an assistant turn.
Training resolves LoRA targets inside `language_model` only; `param_groups` counts parameters per part.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmadapt.errors import lookup


@dataclass(frozen=True)
class Family:
    """One VLM family: its classes, module layout and chat conventions."""

    name: str
    model_class: str  # transformers class name, e.g. "Qwen2VLForConditionalGeneration"
    processor_class: str
    description: str
    # Module layout: dotted prefixes of parameter names. The longest matching prefix wins, so a projector
    # nested inside the vision tower (Qwen2-VL's `visual.merger`) is counted as projector.
    vision: tuple[str, ...]
    projector: tuple[str, ...]
    language_model: tuple[str, ...]
    lm_head: tuple[str, ...]
    image_token: str  # the placeholder the chat template writes for one image
    end_of_turn: str  # what the chat template writes after an assistant message; training supervises it
    nested_images: bool = False  # the processor wants one list of images per sample (Mllama)
    system_with_image: bool = True  # the chat template accepts a system message next to an image

    @property
    def model_type(self) -> str:
        """The `model_type` in a checkpoint's config.json (the same as the family name for every family)."""
        return self.name

    def layout(self) -> dict[str, tuple[str, ...]]:
        """Group name -> prefixes, in the order `param_groups` reports them."""
        return {
            "vision": self.vision,
            "projector": self.projector,
            "language_model": self.language_model,
            "lm_head": self.lm_head,
        }


FAMILIES: dict[str, Family] = {
    "qwen2_vl": Family(
        name="qwen2_vl",
        model_class="Qwen2VLForConditionalGeneration",
        processor_class="Qwen2VLProcessor",
        description="Qwen2-VL (e.g. Qwen/Qwen2-VL-7B-Instruct): ViT with dynamic resolution, M-RoPE",
        vision=("model.visual",),
        projector=("model.visual.merger",),
        language_model=("model.language_model",),
        lm_head=("lm_head",),
        image_token="<|image_pad|>",
        end_of_turn="<|im_end|>",
    ),
    "qwen2_5_vl": Family(
        name="qwen2_5_vl",
        model_class="Qwen2_5_VLForConditionalGeneration",
        processor_class="Qwen2_5_VLProcessor",
        description="Qwen2.5-VL (e.g. Qwen/Qwen2.5-VL-7B-Instruct): window-attention ViT, M-RoPE",
        vision=("model.visual",),
        projector=("model.visual.merger",),
        language_model=("model.language_model",),
        lm_head=("lm_head",),
        image_token="<|image_pad|>",
        end_of_turn="<|im_end|>",
    ),
    "mllama": Family(
        name="mllama",
        model_class="MllamaForConditionalGeneration",
        processor_class="MllamaProcessor",
        description="Llama-3.2-Vision (e.g. meta-llama/Llama-3.2-11B-Vision-Instruct): cross-attention",
        vision=("model.vision_model",),
        projector=("model.multi_modal_projector",),
        language_model=("model.language_model",),
        lm_head=("lm_head",),
        image_token="<|image|>",
        end_of_turn="<|eot_id|>",
        nested_images=True,
        # Its template raises "Prompting with images is incompatible with system messages".
        system_with_image=False,
    ),
    "llava_next": Family(
        name="llava_next",
        model_class="LlavaNextForConditionalGeneration",
        processor_class="LlavaNextProcessor",
        description="LLaVA-1.6 / LLaVA-NeXT (e.g. llava-hf/llava-v1.6-mistral-7b-hf): CLIP, any-res tiles",
        vision=("model.vision_tower",),
        projector=("model.multi_modal_projector", "model.image_newline"),
        language_model=("model.language_model",),
        lm_head=("lm_head",),
        image_token="<image>",
        end_of_turn="</s>",
    ),
    "llava": Family(
        name="llava",
        model_class="LlavaForConditionalGeneration",
        processor_class="LlavaProcessor",
        description="LLaVA-1.5-style assembled VLM (e.g. Mistral-7B-Instruct + SigLIP-SO400M): MLP projector",
        vision=("model.vision_tower",),
        projector=("model.multi_modal_projector",),
        language_model=("model.language_model",),
        lm_head=("lm_head",),
        image_token="<image>",
        end_of_turn="</s>",
    ),
}


def get_family(name: str) -> Family:
    """`FAMILIES[name]`, or an error that lists the known families."""
    return lookup(FAMILIES, name, "VLM family")
