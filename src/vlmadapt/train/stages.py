"""LLaVA-style assembly and staged recipes (the French study).

`assemble` builds a `LlavaForConditionalGeneration` from a causal language model (e.g. Mistral-7B-Instruct)
and a vision encoder (e.g. SigLIP-SO400M-384) with a fresh two-layer MLP projector, as LLaVA-1.5 does.
A staged recipe then runs its stages in order, each starting from the model the previous one wrote:
projector alignment (only the projector trains), LoRA finetuning, or the double finetune (vision and
projector first, then language-model LoRA with the encoder's learning rate near zero).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmadapt.errors import ConfigError
from vlmadapt.train.config import AssembleSpec, TrainConfig


def run_stages(stages: list[TrainConfig], callbacks: list[Any] | None = None) -> Path:
    """Run the stages in order; a stage whose outputs are complete is skipped (resume)."""
    from rich.console import Console

    from vlmadapt.train.run import train

    console = Console(stderr=True)
    previous: str | None = None
    out = stages[0].output_dir
    for i, stage in enumerate(stages):
        last = i == len(stages) - 1
        if previous is not None:
            stage = stage.model_copy(update={"model": stage.model.model_copy(update={"path": previous})})
        if stage.lora is not None and not last:
            stage = stage.model_copy(update={"merge": True})  # the next stage starts from full weights
        out = stage.output_dir
        if _finished(stage):
            console.print(f"stage {i + 1} ({stage.name}) already finished in {out}; skipping")
        else:
            console.print(f"[bold]stage {i + 1} of {len(stages)}: {stage.name}[/]")
            train(stage, callbacks)
        previous = str(out / "merged") if stage.lora is not None else str(out)
    return out


def _finished(stage: TrainConfig) -> bool:
    out = stage.output_dir
    done = (out / "metrics.json").is_file()
    return done and (not stage.merge or (out / "merged" / "config.json").is_file())


def _configs(spec: AssembleSpec) -> tuple[Any, Any]:
    """(language model config, vision encoder config) from their config.json files."""
    from transformers import AutoConfig

    text = AutoConfig.from_pretrained(spec.language_model)
    vision = AutoConfig.from_pretrained(spec.vision_encoder)
    vision = getattr(vision, "vision_config", vision)  # a full SigLIP/CLIP checkpoint: keep the vision half
    if not hasattr(vision, "patch_size") or not hasattr(vision, "image_size"):
        raise ConfigError(
            f"assemble.vision_encoder: {spec.vision_encoder} is not a ViT-style vision encoder "
            f"(model_type {vision.model_type!r}); use e.g. a SigLIP or CLIP checkpoint"
        )
    return text, vision


def llava_config(spec: AssembleSpec, text: Any, vision: Any, image_token_id: int) -> Any:
    """The LlavaConfig joining the two: LLaVA-1.5's 2-layer GELU MLP projector and feature layer."""
    from transformers import LlavaConfig

    return LlavaConfig(
        text_config=text,
        vision_config=vision,
        image_token_index=image_token_id,
        projector_hidden_act=spec.projector_hidden_act,
        vision_feature_layer=spec.vision_feature_layer,
        vision_feature_select_strategy=spec.vision_feature_select_strategy,
        image_seq_length=(vision.image_size // vision.patch_size) ** 2,
        tie_word_embeddings=getattr(text, "tie_word_embeddings", False),
    )


def _tokenizer(spec: AssembleSpec) -> Any:
    """The language model's tokenizer with the image token (added when missing) and a pad token."""
    from tokenizers import AddedToken
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(spec.language_model)
    if spec.image_token not in tok.get_vocab():
        tok.add_tokens([AddedToken(spec.image_token, special=True, normalized=False)], special_tokens=True)
    if tok.pad_token is None:  # Mistral has none; padding is masked, so any existing token will do
        tok.pad_token = tok.unk_token or tok.eos_token
    return tok


def assembled_meta_model(spec: AssembleSpec) -> Any:
    """The assembled model's shapes on the meta device, from the two config.json files (for plans)."""
    import torch
    from transformers import LlavaForConditionalGeneration

    text, vision = _configs(spec)
    try:
        vocab = len(_tokenizer(spec))
    except (OSError, ValueError):  # a config-only directory: the image token will be appended
        vocab = text.vocab_size + 1
    text.vocab_size = max(vocab, text.vocab_size)
    with torch.device("meta"):
        return LlavaForConditionalGeneration._from_config(llava_config(spec, text, vision, vocab - 1))


def assemble(spec: AssembleSpec, dest: Path, seed: int = 0) -> Path:
    """Build and save the LLaVA-style model and its processor; only the projector is new (seeded)."""
    import torch
    from transformers import AutoModelForCausalLM, LlavaForConditionalGeneration

    text, vision_config = _configs(spec)
    tokenizer = _tokenizer(spec)
    lm = AutoModelForCausalLM.from_pretrained(spec.language_model)
    config = llava_config(spec, text, vision_config, tokenizer.convert_tokens_to_ids(spec.image_token))
    with torch.device("meta"):  # the shell only: its parts are replaced by the loaded modules below
        model = LlavaForConditionalGeneration._from_config(config, dtype=lm.dtype)
    model.model.language_model = lm.model
    model.lm_head = lm.lm_head
    model.model.vision_tower = type(model.model.vision_tower).from_pretrained(
        spec.vision_encoder, dtype=lm.dtype
    )
    torch.manual_seed(seed)
    model.model.multi_modal_projector = type(model.model.multi_modal_projector)(config).to(lm.dtype)
    model.resize_token_embeddings(len(tokenizer))  # the image token's row, when it was added
    model.generation_config = lm.generation_config
    still_meta = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if still_meta:
        raise RuntimeError(f"assembly left tensors without weights: {still_meta[:5]}")
    dest.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(dest)
    _processor(spec, tokenizer, vision_config).save_pretrained(dest)
    return dest


def _processor(spec: AssembleSpec, tokenizer: Any, vision: Any) -> Any:
    from transformers import AutoImageProcessor, LlavaProcessor

    from vlmadapt.models.templates import LLAVA_MISTRAL

    template = spec.chat_template or _image_template(tokenizer, spec.image_token) or LLAVA_MISTRAL
    cls_token = 1 if "clip" in vision.model_type else 0  # CLIP adds a CLS token; SigLIP has none
    return LlavaProcessor(
        image_processor=AutoImageProcessor.from_pretrained(spec.vision_encoder),
        tokenizer=tokenizer,
        patch_size=vision.patch_size,
        vision_feature_select_strategy=spec.vision_feature_select_strategy,
        chat_template=template,
        image_token=spec.image_token,
        num_additional_image_tokens=cls_token,
    )


def _image_template(tokenizer: Any, image_token: str) -> str | None:
    """The language model's own chat template if it renders an image entry, else None."""
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        return None
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "x"}]}]
    try:
        text = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False)
    except Exception:  # templates that only take string content raise all kinds of errors
        return None
    return template if image_token in str(text) else None
