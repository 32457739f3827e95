"""Batched generation with a transformers VLM: the family's chat template, left padding, greedy by default.

One function turns a batch of requests into answers. The caller (run.py) handles records, resume, error
rows and out-of-memory splitting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class GenerationConfig(BaseModel):
    """Decoding settings; recorded in every prediction row."""

    model_config = ConfigDict(extra="forbid")

    max_new_tokens: int = Field(default=64, ge=1, description="Longest answer, in tokens.")
    do_sample: bool = Field(default=False, description="Sample instead of greedy decoding.")
    num_beams: int = Field(default=1, ge=1, description="Beam search width.")
    temperature: float | None = Field(default=None, description="Sampling temperature (with do_sample).")
    top_p: float | None = Field(default=None, description="Nucleus sampling mass (with do_sample).")
    repetition_penalty: float | None = Field(default=None, description="Penalty on repeated tokens.")

    def kwargs(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


@dataclass
class Request:
    """One generation request: a user message, an optional image (PIL) and earlier turns for chats."""

    text: str
    image: Any | None = None
    history: list[tuple[str, str]] = field(default_factory=list)


def generate_batch(
    model: Any, processor: Any, family: Any, requests: list[Request], gen: GenerationConfig
) -> tuple[list[str], list[str]]:
    """(answers, prompts) for a batch whose requests either all have an image or all have none."""
    import torch

    from vlmadapt.models import encode, render

    has_image = [r.image is not None for r in requests]
    if any(has_image) and not all(has_image):
        raise ValueError("a batch mixes requests with and without images; group them first")
    prompts = [
        render(
            family,
            processor,
            [*r.history, ("user", r.text)],
            image=r.image is not None,
            add_generation_prompt=True,
        )
        for r in requests
    ]
    tokenizer = processor.tokenizer
    tokenizer.padding_side = "left"  # every prompt ends at the right edge, where generation continues
    images = [r.image for r in requests] if all(has_image) else None
    inputs = encode(family, processor, prompts, images).to(model.device)
    with torch.inference_mode():
        out = model.generate(**inputs, **gen.kwargs(), pad_token_id=tokenizer.pad_token_id)
    new_tokens = out[:, inputs["input_ids"].shape[1] :]  # [B, T_new]
    answers = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    return [a.strip() for a in answers], prompts
