"""The OpenAI-compatible chat client and backend: vLLM, llama.cpp server, Ollama, TGI, `transformers serve`.

`ChatClient` posts to ``{url}/chat/completions`` from a bounded thread pool (``concurrency`` requests in
flight) over one pooled HTTP/1.1 client (httpx2, the client transformers and huggingface_hub already
use). 429, 5xx, timeouts and dropped connections are retried with exponential backoff and jitter,
honouring ``Retry-After``; other 4xx answers stop the run with the server's message. The `openai`
backend (translate, synthesize, the quality round trip, translate-test) sends one request per text
through it; the quality judge uses the client directly, with its own messages.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import httpx2

from vlmadapt.errors import VlmadaptError
from vlmadapt.llm.backends import BackendConfig
from vlmadapt.llm.chat import chat_messages, clean_model_output, decoding, prompt_version

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
Messages = list[dict[str, str]]


@dataclass(frozen=True)
class _Retry:
    reason: str
    wait_s: float = 0.0


class ChatClient:
    """Chat completions from one endpoint, with bounded concurrency and retries."""

    def __init__(self, cfg: BackendConfig) -> None:
        self.cfg = cfg
        self.base = cfg.url.rstrip("/")
        self.endpoint = f"{self.base}/chat/completions"
        headers = {}
        key = os.environ.get(cfg.api_key_env) if cfg.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        limits = httpx2.Limits(max_connections=cfg.concurrency, max_keepalive_connections=cfg.concurrency)
        self._http = httpx2.Client(timeout=cfg.timeout_s, limits=limits, headers=headers)
        self._pool = ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="chat")

    def check_reachable(self) -> None:
        """Fail fast, naming the URL, when nothing listens there (any HTTP answer counts as reachable)."""
        try:
            self._http.get(f"{self.base}/models", timeout=min(self.cfg.timeout_s, 10.0))
        except httpx2.TransportError as e:
            raise VlmadaptError(
                f"cannot reach the OpenAI-compatible server at {self.base} ({type(e).__name__}: {e}); "
                "start it, or set backend.url (--url) to where it listens"
            ) from None

    def complete(self, messages: Messages, params: dict[str, Any]) -> str:
        """The assistant's reply to `messages`, retrying transient failures."""
        body = {"model": self.cfg.model or "default", "messages": messages, **self.cfg.extra_body, **params}
        tries = self.cfg.max_retries + 1
        for attempt in range(tries):
            result = self._try(body)
            if isinstance(result, str):
                return result
            if attempt + 1 == tries:
                raise VlmadaptError(
                    f"{self.endpoint}: gave up after {tries} tries; last: {result.reason}. "
                    "Check the server's log, or raise backend.max_retries / backend.timeout_s"
                )
            backoff = min(self.cfg.backoff_max_s, self.cfg.backoff_s * 2**attempt)
            time.sleep(max(result.wait_s, backoff * random.uniform(0.5, 1.0)))
        raise AssertionError("unreachable")

    def _try(self, body: dict[str, Any]) -> str | _Retry:
        """The reply text, or why to retry (and how long the server asked us to wait)."""
        try:
            resp = self._http.post(self.endpoint, json=body)
        except httpx2.TimeoutException:
            return _Retry(f"no answer within {self.cfg.timeout_s} s")
        except httpx2.TransportError as e:
            return _Retry(f"{type(e).__name__}: {e}")
        if resp.status_code == 200:
            return _reply_text(resp, self.endpoint)
        if resp.status_code in RETRY_STATUS:
            return _Retry(f"HTTP {resp.status_code}", _retry_after(resp))
        raise VlmadaptError(f"{self.endpoint}: HTTP {resp.status_code}: {resp.text[:500]}")

    def complete_many(self, requests: Iterable[tuple[Messages, dict[str, Any]]]) -> Iterator[tuple[int, str]]:
        """(index, reply) for every request as each finishes, with at most `concurrency` in flight."""
        pending: dict[Future[str], int] = {}
        todo = iter(enumerate(requests))
        try:
            while True:
                for i, (messages, params) in todo:
                    pending[self._pool.submit(self.complete, messages, params)] = i
                    if len(pending) >= self.cfg.concurrency:
                        break
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield pending.pop(fut), fut.result()
        finally:
            for fut in pending:
                fut.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()


def _reply_text(resp: httpx2.Response, endpoint: str) -> str:
    try:
        content = resp.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise VlmadaptError(
            f"{endpoint}: not an OpenAI chat completion: {resp.text[:300]!r}; is this the /v1 base URL?"
        ) from None
    if not isinstance(content, str):
        raise VlmadaptError(f"{endpoint}: the reply has no text content: {resp.text[:300]!r}")
    return content


def _retry_after(resp: httpx2.Response) -> float:
    """Seconds the server asked us to wait (capped at 10 minutes), or 0."""
    value = resp.headers.get("retry-after")
    try:
        return min(float(value), 600.0) if value else 0.0
    except ValueError:
        return 0.0  # an HTTP date: fall back to our own backoff


class OpenAIChatBackend:
    """Texts (segments, prompts) answered one request each by a chat model behind an OpenAI-compatible
    endpoint."""

    def __init__(self, cfg: BackendConfig, source: str, target: str) -> None:
        if not cfg.model:
            raise VlmadaptError("backend.model: the openai backend needs the served model name (--model)")
        self.cfg, self.source, self.target = cfg, source, target
        self.client = ChatClient(cfg)
        self.client.check_reachable()

    def signature(self) -> dict[str, Any]:
        return {
            "backend": "openai",
            "model": self.cfg.model,
            "source": self.source,
            "target": self.target,
            "prompt_version": prompt_version(self.cfg),
            "max_new_tokens": self.cfg.max_new_tokens,
            "extra_body": self.cfg.extra_body,
            "decoding": decoding(self.cfg, 0),
        }

    def translate(self, texts: Sequence[str], attempt: int = 0) -> Iterator[tuple[int, str]]:
        params = {"max_tokens": self.cfg.max_new_tokens, **decoding(self.cfg, attempt)}
        requests = ((chat_messages(self.cfg, self.source, self.target, t), params) for t in texts)
        for i, reply in self.client.complete_many(requests):
            yield i, clean_model_output(texts[i], reply)

    def close(self) -> None:
        self.client.close()
