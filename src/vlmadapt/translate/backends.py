"""Translation backends: one registry, one protocol, one typed config.

==========  =====================================================================================
name        what it runs
==========  =====================================================================================
openai      any OpenAI-compatible chat endpoint: vLLM, llama.cpp server, Ollama, TGI, ``transformers
            serve``; bounded concurrent requests, retries with backoff on 429 / 5xx / timeouts
seq2seq     a local transformers MT model (Marian/OPUS-MT, NLLB-200, M2M100, MADLAD-400), batched on
            CPU or GPU, with the language codes each family needs (langcodes.py)
causal      a local transformers causal LLM with a chat template, prompted like the openai backend
phrasebook  exact lookups only (phrasebook.py), no model; a text without an entry is an error
==========  =====================================================================================

A backend turns segments (single lines of text, see protect.py) into translations and yields
``(index, translation)`` as they finish, so the caller can cache each at once. Its `signature()` is
everything that changes a translation besides the text; the cache key is built from it.
Add a backend by adding an entry to `BACKENDS` (a factory taking the config and both languages).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.errors import lookup
from vlmadapt.languages import LANGUAGES

# The French study prompted Llama-3.1-8B-Instruct with a system prompt and the bare text as the user turn.
DEFAULT_SYSTEM_PROMPT = (
    "You are a professional translator. Translate the user's text from {source} to {target}. "
    "Keep placeholders such as <image>, option letters, numbers and URLs exactly as they are. "
    "Reply with the translation only, without quotes, notes or explanations."
)


class BackendConfig(BaseModel):
    """How to reach and run a translation model. Fields a backend does not use are ignored by it."""

    model_config = ConfigDict(extra="forbid")

    name: str = "openai"  # a key of BACKENDS
    model: str | None = None  # served model name (openai) or hub id / local directory (seq2seq, causal)
    # Prompt (openai, causal). {source} / {target} are language names; {text} is the segment.
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    user_template: str = "{text}"
    # Decoding. Structure retries (attempt >= 1) sample with retry_temperature and seed = attempt.
    temperature: float = Field(default=0.0, ge=0)
    retry_temperature: float = Field(default=0.7, gt=0)
    max_new_tokens: int = Field(default=512, ge=1)
    num_beams: int = Field(default=4, ge=1)  # seq2seq
    batch_size: int = Field(default=16, ge=1)  # seq2seq, causal
    # OpenAI-compatible endpoint.
    url: str = "http://127.0.0.1:8000/v1"
    api_key_env: str = "OPENAI_API_KEY"  # name of the environment variable holding the key, if any
    concurrency: int = Field(default=32, ge=1)  # requests in flight
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=6, ge=0)  # per request, on 429 / 5xx / timeouts / dropped connections
    backoff_s: float = Field(default=0.5, ge=0)  # first wait; doubles per retry, with jitter
    backoff_max_s: float = Field(default=30.0, ge=0)
    extra_body: dict[str, Any] = Field(default_factory=dict)  # e.g. {"top_p": 0.9} or server-specific keys
    # Local models.
    device: str = "auto"  # auto | cpu | cuda | cuda:1 | mps
    dtype: str = "auto"  # auto | float32 | bfloat16 | float16
    source_code: str | None = None  # override the model's source language code (e.g. eng_Latn)
    target_code: str | None = None  # override the model's target language code (e.g. ron_Latn)
    # Phrasebook: a text without an entry is an error, or is kept as it is (as MT copies an unknown word).
    missing: Literal["error", "keep"] = "error"


class Backend(Protocol):
    def signature(self) -> dict[str, Any]:
        """Model, languages, prompt version and decoding: everything but the text that sets the output."""
        ...

    def translate(self, texts: Sequence[str], attempt: int = 0) -> Iterator[tuple[int, str]]:
        """(index into `texts`, translation) for every text, in any order."""
        ...

    def close(self) -> None: ...


BackendFactory = Callable[[BackendConfig, str, str], Backend]


def _openai(cfg: BackendConfig, source: str, target: str) -> Backend:
    from vlmadapt.translate.http import OpenAIChatBackend

    return OpenAIChatBackend(cfg, source, target)


def _seq2seq(cfg: BackendConfig, source: str, target: str) -> Backend:
    from vlmadapt.translate.local import Seq2SeqBackend

    return Seq2SeqBackend(cfg, source, target)


def _causal(cfg: BackendConfig, source: str, target: str) -> Backend:
    from vlmadapt.translate.local import CausalBackend

    return CausalBackend(cfg, source, target)


def _phrasebook(cfg: BackendConfig, source: str, target: str) -> Backend:
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


def lang_name(code: str) -> str:
    """The English name of a language for prompts ("Romanian"), from its pack; the code without one."""
    known = LANGUAGES.get(code)
    return known.name if known else code


def chat_messages(cfg: BackendConfig, source: str, target: str, text: str) -> list[dict[str, str]]:
    """System prompt and user turn for one segment."""
    names = {"source": lang_name(source), "target": lang_name(target)}
    messages = []
    if cfg.system_prompt:
        messages.append({"role": "system", "content": cfg.system_prompt.format(**names)})
    messages.append({"role": "user", "content": cfg.user_template.format(text=text, **names)})
    return messages


def prompt_version(cfg: BackendConfig) -> str:
    """A short hash of the prompt text: a changed prompt is a new cache entry, never a stale hit."""
    blob = (cfg.system_prompt + "\x00" + cfg.user_template).encode("utf-8")
    return hashlib.blake2b(blob, digest_size=6).hexdigest()


def decoding(cfg: BackendConfig, attempt: int) -> dict[str, Any]:
    """Sampling settings of one attempt: greedy/beam (or cfg.temperature) first, seeded sampling after."""
    if attempt == 0:
        return {"temperature": cfg.temperature}
    return {"temperature": cfg.retry_temperature, "seed": attempt}
