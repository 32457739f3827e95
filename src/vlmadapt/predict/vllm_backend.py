"""The vLLM generation backend (``backend: vllm``): the same requests and prompts, served by vLLM.

Prompts are rendered with the family's chat template through the transformers processor exactly as the
transformers backend renders them, so both backends ask the same text; vLLM schedules the batch itself
(no out-of-memory splitting here). A LoRA adapter is applied per request with `LoRARequest`. vllm is an
optional dependency and needs CUDA; both are checked before anything loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmadapt.errors import ConfigError, VlmadaptError
from vlmadapt.predict.generate import GenerationConfig, Request


def check_available() -> None:
    """Raise a VlmadaptError saying what to do when vllm cannot run here."""
    try:
        import vllm  # noqa: F401
    except ImportError:
        raise VlmadaptError(
            "backend vllm: the vllm package is not installed; `pip install vllm` on a CUDA machine, "
            "or use --backend transformers"
        ) from None
    import torch

    if not torch.cuda.is_available():
        raise VlmadaptError(
            "backend vllm: no CUDA device found; vLLM needs a GPU (or use --backend transformers)"
        )


class VllmGenerator:
    """A vLLM engine for one model (and optional adapter); `generate` mirrors generate_batch."""

    def __init__(self, model: str, family: Any, adapter: Path | None = None, dtype: str = "auto") -> None:
        from transformers import AutoProcessor
        from vllm import LLM

        self.family, self.adapter = family, adapter
        self.processor = AutoProcessor.from_pretrained(model)
        self.llm = LLM(
            model=model,
            dtype=dtype,
            enable_lora=adapter is not None,
            limit_mm_per_prompt={"image": 1},
        )

    def generate(self, requests: list[Request], gen: GenerationConfig) -> tuple[list[str], list[str]]:
        from vllm import SamplingParams
        from vllm.lora.request import LoRARequest

        from vlmadapt.models import render

        if gen.num_beams != 1:
            raise ConfigError("generation.num_beams: the vllm backend decodes without beams; set it to 1")
        prompts = [
            render(
                self.family,
                self.processor,
                [*r.history, ("user", r.text)],
                image=r.image is not None,
                add_generation_prompt=True,
            )
            for r in requests
        ]
        inputs: list[Any] = [
            {"prompt": p, **({"multi_modal_data": {"image": r.image}} if r.image is not None else {})}
            for p, r in zip(prompts, requests, strict=True)
        ]
        params = SamplingParams(
            max_tokens=gen.max_new_tokens,
            temperature=(gen.temperature or 1.0) if gen.do_sample else 0.0,
            top_p=gen.top_p or 1.0,
            repetition_penalty=gen.repetition_penalty or 1.0,
        )
        lora = LoRARequest("adapter", 1, str(self.adapter)) if self.adapter is not None else None
        outputs = self.llm.generate(inputs, params, lora_request=lora, use_tqdm=False)
        return [o.outputs[0].text.strip() for o in outputs], prompts
