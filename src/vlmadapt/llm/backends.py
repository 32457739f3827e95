"""Model backends: one registry, one protocol, one typed config, shared by every stage that asks a model.

==========  =====================================================================================
name        what it runs
==========  =====================================================================================
openai      any OpenAI-compatible chat endpoint: vLLM, llama.cpp server, Ollama, TGI, ``transformers
            serve``; bounded concurrent requests, retries with backoff on 429 / 5xx / timeouts (http.py)
seq2seq     a local transformers MT model (Marian/OPUS-MT, NLLB-200, M2M100, MADLAD-400), batched on
            CPU or GPU, with the language codes each family needs (translate/langcodes.py)
causal      a local transformers causal LLM with a chat template, prompted like the openai backend
phrasebook  exact lookups only (translate/phrasebook.py), no model; a text without an entry is an error
==========  =====================================================================================

A backend turns texts (a translation segment, a synthesis prompt) into replies and yields
``(index, reply)`` as they finish, so the caller can cache each at once. Its `signature()` is everything
that changes a reply besides the text; the cache key is built from it (cache.py). Translation uses all
four; synthesize only those that write free text (openai, causal); the quality round trip and
translate-test go through the translation engine. Add a backend by adding an entry to `BACKENDS` (a
factory taking the config and both languages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.errors import lookup

# The default prompt is the translator's: the French study prompted Llama-3.1-8B-Instruct with a system
# prompt and the bare text as the user turn. Other stages set their own (synthesize: prompts.py).
DEFAULT_SYSTEM_PROMPT = (
    "You are a professional translator. Translate the user's text from {source} to {target}. "
    "Keep placeholders such as <image>, option letters, numbers and URLs exactly as they are. "
    "Reply with the translation only, without quotes, notes or explanations."
)


class BackendConfig(BaseModel):
    """How to reach and run a model. Fields a backend does not use are ignored by it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        default="openai", description="Backend: openai, seq2seq, causal, phrasebook (a key of BACKENDS)."
    )
    model: str | None = Field(
        default=None, description="Served model name (openai) or hub id / local directory (seq2seq, causal)."
    )
    # Prompt (openai, causal). {source} / {target} are language names; {text} is the segment.
    system_prompt: str = Field(default=DEFAULT_SYSTEM_PROMPT, description="System prompt.")
    user_template: str = Field(default="{text}", description="User message; {text} is the segment.")
    # Decoding. Structure retries (attempt >= 1) sample with retry_temperature and seed = attempt.
    temperature: float = Field(default=0.0, ge=0, description="Sampling temperature.")
    retry_temperature: float = Field(default=0.7, gt=0, description="Temperature of structure retries.")
    max_new_tokens: int = Field(default=512, ge=1, description="Longest reply, in tokens.")
    num_beams: int = Field(default=4, ge=1, description="Beams (seq2seq).")
    batch_size: int = Field(default=16, ge=1, description="Segments per batch (seq2seq, causal).")
    # OpenAI-compatible endpoint.
    url: str = Field(default="http://127.0.0.1:8000/v1", description="OpenAI-compatible base URL.")
    api_key_env: str = Field(
        default="OPENAI_API_KEY", description="Name of the environment variable holding the key, if any."
    )
    concurrency: int = Field(default=32, ge=1, description="Requests in flight (openai).")
    timeout_s: float = Field(default=120.0, gt=0, description="Seconds before a request times out.")
    max_retries: int = Field(
        default=6, ge=0, description="Retries per request, on 429 / 5xx / timeouts / dropped connections."
    )
    backoff_s: float = Field(
        default=0.5,
        ge=0,
        description="First wait before a retry, in seconds; doubles per retry, with jitter.",
    )
    backoff_max_s: float = Field(default=30.0, ge=0, description="Longest wait between retries.")
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description='Extra request keys, e.g. {"top_p": 0.9} or server-specific ones.'
    )
    # Local models.
    device: str = Field(default="auto", description="auto, cpu, cuda, cuda:1, mps (local backends).")
    dtype: str = Field(default="auto", description="auto, float32, bfloat16 or float16 (local backends).")
    source_code: str | None = Field(
        default=None, description="Override the model's source language code (e.g. eng_Latn)."
    )
    target_code: str | None = Field(
        default=None, description="Override the model's target language code (e.g. ron_Latn)."
    )
    # Phrasebook: a text without an entry is an error, or is kept as it is (as MT copies an unknown word).
    missing: Literal["error", "keep"] = Field(
        default="error", description="Phrasebook: a text without an entry is an error, or kept as it is."
    )


class Backend(Protocol):
    def signature(self) -> dict[str, Any]:
        """Model, languages, prompt version and decoding: everything but the text that sets the output."""
        ...

    def translate(self, texts: Sequence[str], attempt: int = 0) -> Iterator[tuple[int, str]]:
        """(index into `texts`, reply) for every text, in any order: a translation, or a generated answer
        when the text is a prompt (synthesize)."""
        ...

    def close(self) -> None: ...


BackendFactory = Callable[[BackendConfig, str, str], Backend]


def _openai(cfg: BackendConfig, source: str, target: str) -> Backend:
    from vlmadapt.llm.http import OpenAIChatBackend

    return OpenAIChatBackend(cfg, source, target)


def _seq2seq(cfg: BackendConfig, source: str, target: str) -> Backend:
    from vlmadapt.llm.local import Seq2SeqBackend

    return Seq2SeqBackend(cfg, source, target)


def _causal(cfg: BackendConfig, source: str, target: str) -> Backend:
    from vlmadapt.llm.local import CausalBackend

    return CausalBackend(cfg, source, target)


def _phrasebook(cfg: BackendConfig, source: str, target: str) -> Backend:
    # Translation-only: the phrasebook lives with the translate stage, imported only when named.
    from vlmadapt.translate.phrasebook import PhrasebookBackend

    return PhrasebookBackend(source, target, keep_missing=cfg.missing == "keep")


BACKENDS: dict[str, BackendFactory] = {
    "openai": _openai,
    "seq2seq": _seq2seq,
    "causal": _causal,
    "phrasebook": _phrasebook,
}


def make_backend(cfg: BackendConfig, source: str, target: str) -> Backend:
    """The backend named by `cfg.name`; an unknown name lists the known ones."""
    return lookup(BACKENDS, cfg.name, "translation backend")(cfg, source, target)
