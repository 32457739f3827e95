"""The OpenAI-compatible client against real local servers that inject 429, 500, dropped and slow answers."""

from __future__ import annotations

import socket
import time

import pytest

from vlmadapt.errors import VlmadaptError
from vlmadapt.llm.backends import BackendConfig, make_backend
from vlmadapt.llm.devserver import DevServer, stand_in
from vlmadapt.llm.http import ChatClient

FAST = {"backoff_s": 0.01, "backoff_max_s": 0.05}


def _cfg(url: str, **kw: object) -> BackendConfig:
    return BackendConfig.model_validate({"name": "openai", "model": "dev", "url": url, **FAST, **kw})


def test_retries_429_500_and_dropped_connections() -> None:
    with DevServer(faults=["429", "500", "drop", "429"]) as server:
        backend = make_backend(_cfg(server.url, concurrency=1), "en", "ro")
        got = dict(backend.translate(["A dog runs.", "Two cats."]))
        backend.close()
    assert got == {0: "A god snur.", 1: "owT stac."}
    assert server.statuses == {"429": 2, "500": 1, "drop": 1, "200": 3}  # 200s: GET /models + 2 answers


def test_slow_answer_times_out_and_is_retried() -> None:
    with DevServer(faults=["slow"], slow_s=1.5) as server:
        backend = make_backend(_cfg(server.url, timeout_s=0.3, concurrency=1), "en", "ro")
        start = time.perf_counter()
        assert dict(backend.translate(["A dog."])) == {0: "A god."}
        backend.close()
    assert time.perf_counter() - start < 1.4  # the retry did not wait for the slow answer


def test_retry_after_is_honoured() -> None:
    with DevServer(faults=["429"], retry_after=0.4) as server:
        client = ChatClient(_cfg(server.url, concurrency=1))
        start = time.perf_counter()
        assert client.complete([{"role": "user", "content": "cat"}], {}) == "tac"
        client.close()
    assert time.perf_counter() - start >= 0.4


def test_gives_up_after_max_retries_naming_the_url() -> None:
    with DevServer(faults=["500"] * 3) as server:
        client = ChatClient(_cfg(server.url, max_retries=2))
        with pytest.raises(
            VlmadaptError, match=r"/v1/chat/completions: gave up after 3 tries; last: HTTP 500"
        ):
            client.complete([{"role": "user", "content": "cat"}], {})
        client.close()


def test_client_errors_are_not_retried() -> None:
    with DevServer() as server:
        client = ChatClient(_cfg(server.url.removesuffix("/v1") + "/nope"))
        with pytest.raises(VlmadaptError, match=r"/nope/chat/completions: HTTP 404: .*no route"):
            client.complete([{"role": "user", "content": "cat"}], {})
        client.close()
    assert server.statuses == {"404": 1}


def test_unreachable_server_names_the_url() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(VlmadaptError, match=rf"cannot reach the OpenAI-compatible server at {url} .*--url"):
        make_backend(_cfg(url), "en", "ro")


def test_concurrency_is_bounded_and_order_is_restored() -> None:
    texts = [f"Sentence number {i} here." for i in range(40)]
    with DevServer(latency_s=0.03) as server:
        backend = make_backend(_cfg(server.url, concurrency=6), "en", "fr")
        got = dict(backend.translate(texts))
        backend.close()
    assert server.max_in_flight == 6
    assert [got[i] for i in range(40)] == [stand_in(t, {}) for t in texts]


def test_request_carries_system_prompt_model_and_decoding() -> None:
    with DevServer() as server:
        cfg = _cfg(server.url, max_new_tokens=64, extra_body={"top_p": 0.9})
        backend = make_backend(cfg, "en", "ro")
        list(backend.translate(["A cat."], attempt=1))
        backend.close()
    body = server.last_body
    assert body is not None
    assert body["model"] == "dev" and body["max_tokens"] == 64 and body["top_p"] == 0.9
    assert body["temperature"] == 0.7 and body["seed"] == 1  # a structure retry samples, seeded
    system, user = body["messages"]
    assert system["role"] == "system" and "from English to Romanian" in system["content"]
    assert user == {"role": "user", "content": "A cat."}
