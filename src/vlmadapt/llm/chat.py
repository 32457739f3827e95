"""What the chat backends (openai, causal) share: the messages of one text, the prompt's version, the
decoding of each attempt, and the clean-up of a reply.

The prompt is `BackendConfig.system_prompt` and `user_template`; ``{source}`` / ``{target}`` become
language names and ``{text}`` the text (a translation segment, or a synthesis prompt passed whole).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from vlmadapt.languages import LANGUAGES
from vlmadapt.llm.backends import BackendConfig

_THINK = re.compile(r"<think>.*?</think>\s*", re.DOTALL)
_FENCE = re.compile(r"\A```[^\n]*\n(.*?)\n?```\Z", re.DOTALL)
_QUOTES = {'"': '"', "“": "”", "«": "»", "'": "'"}


def lang_name(code: str) -> str:
    """The English name of a language for prompts ("Romanian"), from its pack; the code without one."""
    known = LANGUAGES.get(code)
    return known.name if known else code


def chat_messages(cfg: BackendConfig, source: str, target: str, text: str) -> list[dict[str, str]]:
    """System prompt and user turn for one text."""
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


def clean_model_output(source: str, text: str) -> str:
    """Strip what chat models wrap around a reply: reasoning blocks, code fences, quotes (each kept when
    the source text itself has it)."""
    text = _THINK.sub("", text).strip()
    fence = _FENCE.match(text)
    if fence and "```" not in source:
        text = fence.group(1).strip()
    if len(text) > 1 and _QUOTES.get(text[0]) == text[-1] and source[:1] != text[0]:
        text = text[1:-1].strip()
    return text
