"""Asking a generating backend (vlmadapt.llm) through the reply cache, with bounded retries.

Only backends that write free text can synthesize: `openai` (any OpenAI-compatible server) and `causal`
(a local chat LLM). HTTP retries, concurrency, batching and seeded retry sampling are the backends' own;
this adds the cache (one row per prompt and attempt, keyed by the backend's signature, as translation
does) and the attempt loop: a reply that does not parse is asked again with attempt 1, 2, ... up to
`max_attempts`, and then reported as invalid, never retried forever.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from vlmadapt.errors import ConfigError
from vlmadapt.llm.backends import BACKENDS, Backend, BackendConfig, make_backend
from vlmadapt.llm.cache import ResponseCache, cache_key, signature_digest
from vlmadapt.llm.progress import Tracker
from vlmadapt.synthesize.schema import Invalid, json_schema

GENERATING = ("causal", "openai")  # the backends that write free text

T = TypeVar("T")


@dataclass(frozen=True)
class Answer(Generic[T]):
    value: T | None  # None: every attempt was invalid
    attempts: int
    raw: str  # the last reply
    error: str | None = None  # why the last reply was invalid


def generating_backend(cfg: BackendConfig, lang: str, section: str, response_format: str) -> Backend:
    """A backend that writes free text; seq2seq or phrasebook (or an unknown name) gets an error naming
    the ones that can."""
    if cfg.name not in GENERATING:
        kind = "cannot write free text" if cfg.name in BACKENDS else "is not a backend"
        raise ConfigError(
            f"{section}.name: {cfg.name!r} {kind}; synthesize needs an LLM backend: {', '.join(GENERATING)}"
        )
    if response_format != "none":
        if cfg.name != "openai":
            raise ConfigError(
                f"response_format={response_format}: needs the openai backend, not {cfg.name!r}"
            )
        cfg = cfg.model_copy(update={"extra_body": {**cfg.extra_body, **_response_format(response_format)}})
    return make_backend(cfg, lang, lang)


def _response_format(kind: str) -> dict[str, object]:
    if kind == "json_object":
        return {"response_format": {"type": "json_object"}}
    schema = {"name": "qa", "schema": json_schema(), "strict": True}
    return {"response_format": {"type": "json_schema", "json_schema": schema}}


class LLM:
    """One backend with the cache: prompts in, parsed replies out; counts requests and cache hits."""

    def __init__(self, backend: Backend, cache: ResponseCache, tracker: Tracker) -> None:
        self.backend, self.cache, self.tracker = backend, cache, tracker
        self.digest = signature_digest(backend.signature())
        self.requests = 0
        self.cached = 0

    def ask(
        self, prompts: Sequence[str], parse: Callable[[str], T | Invalid], max_attempts: int
    ) -> list[Answer[T]]:
        """One answer per prompt (identical prompts are asked once), each after at most `max_attempts`."""
        done: dict[str, Answer[T]] = {}
        todo = list(dict.fromkeys(prompts))
        for attempt in range(max_attempts):
            if not todo:
                break
            replies = self.replies(todo, attempt)
            failed = []
            for prompt in todo:
                parsed = parse(replies[prompt])
                if isinstance(parsed, Invalid):
                    done[prompt] = Answer(None, attempt + 1, replies[prompt], parsed.reason)
                    failed.append(prompt)
                else:
                    done[prompt] = Answer(parsed, attempt + 1, replies[prompt])
            todo = failed
        return [done[p] for p in prompts]

    def replies(self, prompts: Sequence[str], attempt: int) -> dict[str, str]:
        """Raw replies: from the cache, else from the backend (each cached the moment it arrives)."""
        keys = {p: cache_key(self.digest, p, attempt) for p in prompts}
        hits = self.cache.get_many(keys.values())
        out = {p: hits[k] for p, k in keys.items() if k in hits}
        self.cached += len(out)
        missing = [p for p in prompts if p not in out]
        if not missing:
            return out
        self.tracker.add_total(len(missing))
        for i, reply in self.backend.translate(missing, attempt):
            out[missing[i]] = reply
            self.cache.put(keys[missing[i]], reply)
            # Committed one by one: a reply costs seconds of model time, a WAL commit without fsync
            # microseconds, and a killed run then loses only the requests in flight.
            self.cache.commit()
            self.requests += 1
            self.tracker.advance(1)
        lost = [p for p in missing if p not in out]
        if lost:
            raise RuntimeError(f"the backend returned no reply for {len(lost)} prompts")
        return out
