"""Local transformers backends: a seq2seq MT model, or a causal chat LLM, batched on CPU or GPU.

The seq2seq backend translates only (its language codes come from translate/langcodes.py); the causal
one is prompted exactly as the openai backend prompts a server, so it translates or synthesizes.

Texts are sorted by length before batching so each batch pads little, and results are yielded per batch
with their original indices. Retries (attempt >= 1: a translation whose structure broke, a reply that did
not parse) sample with a fixed seed per attempt.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from vlmadapt.errors import VlmadaptError
from vlmadapt.llm.backends import BackendConfig
from vlmadapt.llm.chat import chat_messages, clean_model_output, decoding, prompt_version


def resolve_device(device: str) -> str:
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    return "mps" if torch.backends.mps.is_available() else "cpu"


def _load(loader: Any, cfg: BackendConfig, kind: str) -> tuple[Any, Any]:
    """(model, tokenizer) from a hub id or local directory; errors name the model and what to check."""
    from transformers import AutoTokenizer

    if not cfg.model:
        raise VlmadaptError(f"backend.model: the {cfg.name} backend needs a model (hub id or local folder)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(cfg.model)
        model = loader.from_pretrained(cfg.model, dtype=cfg.dtype)
    except (OSError, ValueError) as e:
        raise VlmadaptError(f"backend.model: cannot load {cfg.model!r} as a {kind} model: {e}") from None
    return model.to(resolve_device(cfg.device)).eval(), tokenizer


def _by_length(texts: Sequence[str], batch_size: int) -> Iterator[list[int]]:
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def _sampling(cfg: BackendConfig, attempt: int) -> dict[str, Any]:
    import torch

    if attempt == 0:
        if cfg.temperature > 0:
            return {"do_sample": True, "temperature": cfg.temperature}
        return {"do_sample": False}
    torch.manual_seed(attempt)
    return {"do_sample": True, "temperature": cfg.retry_temperature, "num_beams": 1}


class Seq2SeqBackend:
    """Marian/OPUS-MT, NLLB-200, M2M100 or MADLAD-400 through AutoModelForSeq2SeqLM."""

    def __init__(self, cfg: BackendConfig, source: str, target: str) -> None:
        from transformers import AutoModelForSeq2SeqLM

        from vlmadapt.translate.langcodes import language_codes  # MT-only knowledge, kept with translate

        self.cfg, self.source, self.target = cfg, source, target
        self.model, self.tokenizer = _load(AutoModelForSeq2SeqLM, cfg, "seq2seq")
        self.codes = language_codes(
            self.tokenizer, str(cfg.model), source, target, cfg.source_code, cfg.target_code
        )
        if self.codes.src_lang is not None:
            self.tokenizer.src_lang = self.codes.src_lang

    def signature(self) -> dict[str, Any]:
        return {
            "backend": "seq2seq",
            "model": self.cfg.model,
            "source": self.source,
            "target": self.target,
            "codes": [self.codes.prefix, self.codes.src_lang, self.codes.forced_bos_token_id],
            "num_beams": self.cfg.num_beams,
            "max_new_tokens": self.cfg.max_new_tokens,
            "decoding": decoding(self.cfg, 0),
        }

    def translate(self, texts: Sequence[str], attempt: int = 0) -> Iterator[tuple[int, str]]:
        for batch in _by_length(texts, self.cfg.batch_size):
            outputs = self._generate([self.codes.prefix + texts[i] for i in batch], attempt)
            yield from zip(batch, outputs, strict=True)

    def _generate(self, texts: list[str], attempt: int) -> list[str]:
        import torch

        enc = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True).to(self.model.device)
        kwargs: dict[str, Any] = {"num_beams": self.cfg.num_beams, **_sampling(self.cfg, attempt)}
        if self.codes.forced_bos_token_id is not None:
            kwargs["forced_bos_token_id"] = self.codes.forced_bos_token_id
        # Marian's learned positions end at max_position_embeddings; generating past them crashes.
        limit = getattr(self.model.config, "max_position_embeddings", None) or self.cfg.max_new_tokens
        with torch.inference_mode():
            out = self.model.generate(**enc, max_new_tokens=min(self.cfg.max_new_tokens, limit), **kwargs)
        return [t.strip() for t in self.tokenizer.batch_decode(out, skip_special_tokens=True)]

    def close(self) -> None:
        del self.model


class CausalBackend:
    """A chat LLM through AutoModelForCausalLM, prompted exactly as the openai backend prompts a server."""

    def __init__(self, cfg: BackendConfig, source: str, target: str) -> None:
        from transformers import AutoModelForCausalLM

        self.cfg, self.source, self.target = cfg, source, target
        self.model, self.tokenizer = _load(AutoModelForCausalLM, cfg, "causal")
        if not getattr(self.tokenizer, "chat_template", None):
            raise VlmadaptError(f"backend.model: {cfg.model!r} has no chat template; use an instruct model")
        self.tokenizer.padding_side = "left"  # decoder-only models continue from the right edge
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    def signature(self) -> dict[str, Any]:
        return {
            "backend": "causal",
            "model": self.cfg.model,
            "source": self.source,
            "target": self.target,
            "prompt_version": prompt_version(self.cfg),
            "max_new_tokens": self.cfg.max_new_tokens,
            "decoding": decoding(self.cfg, 0),
        }

    def translate(self, texts: Sequence[str], attempt: int = 0) -> Iterator[tuple[int, str]]:
        for batch in _by_length(texts, self.cfg.batch_size):
            outputs = self._generate([texts[i] for i in batch], attempt)
            yield from ((i, clean_model_output(texts[i], o)) for i, o in zip(batch, outputs, strict=True))

    def _generate(self, texts: list[str], attempt: int) -> list[str]:
        import torch

        prompts = [
            self.tokenizer.apply_chat_template(
                chat_messages(self.cfg, self.source, self.target, t),
                add_generation_prompt=True,
                tokenize=False,
            )
            for t in texts
        ]
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = enc.to(self.model.device)
        with torch.inference_mode():
            out = self.model.generate(
                **enc,
                max_new_tokens=self.cfg.max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
                **_sampling(self.cfg, attempt),
            )  # [B, prompt + new]
        new = out[:, enc["input_ids"].shape[1] :]
        return list(self.tokenizer.batch_decode(new, skip_special_tokens=True))

    def close(self) -> None:
        del self.model
