"""A small OpenAI-compatible chat server for tests, benchmarks and dry runs of every stage that asks a
model (translate, synthesize, the quality judge, translate-test). It is not a translator.

``POST /v1/chat/completions`` answers after a fixed latency with a deterministic stand-in for a
translation of the last user message: every word is looked up in a word table, and words not in it are
written backwards (digits, placeholders and URLs stay as they are), so outputs depend on inputs and keep
their structure. Faults are injected in order, one per request, from ``faults``: ``"429"`` and ``"500"``
answer with that status, ``"slow"`` waits ``slow_s`` before answering (past a client's timeout),
``"drop"`` closes the connection without an answer. `reply` fixes the answer (a judge's, say);
`respond` computes it from the request body (scripted replies: per prompt, per retry seed).
Standard library only, so it starts in milliseconds.

    with DevServer(latency_s=0.05, faults=["429", "500"]) as server:
        ...  # backend.url = server.url
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_TOKEN = re.compile(r"(<[^<>\s]+>|\{\w+\}|https?://\S+)|([^\W\d_]+)")


def stand_in(text: str, words: dict[str, str]) -> str:
    """The dev server's deterministic 'translation' of `text`."""

    def swap(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1)
        word = m.group(2)
        return words.get(word, words.get(word.lower(), word[::-1]))

    return _TOKEN.sub(swap, text)


class DevServer:
    """A threaded HTTP server on 127.0.0.1 (a free port unless given); use as a context manager."""

    def __init__(
        self,
        latency_s: float = 0.0,
        words: dict[str, str] | None = None,
        faults: Iterable[str] = (),
        slow_s: float = 2.0,
        retry_after: float | None = None,
        reply: str | None = None,
        respond: Callable[[dict[str, Any]], str] | None = None,
        port: int = 0,
    ) -> None:
        self.latency_s, self.words, self.slow_s, self.retry_after = (
            latency_s,
            words or {},
            slow_s,
            retry_after,
        )
        self.reply = reply  # a fixed answer to every request instead of the stand-in translation
        self.respond = respond  # request body -> answer; called in the server's threads
        self.in_flight = 0
        self.max_in_flight = 0
        self.completions = 0  # chat completions answered
        self._faults = list(faults)
        self._lock = threading.Lock()
        self.statuses: Counter[str] = Counter()
        self.last_body: dict[str, Any] | None = None
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def next_fault(self) -> str | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def count(self, status: str) -> None:
        with self._lock:
            if status == "completion":
                self.completions += 1
            else:
                self.statuses[status] += 1

    def enter(self, delta: int) -> None:
        with self._lock:
            self.in_flight += delta
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def start(self) -> DevServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(server: DevServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
        disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs (40 ms a request)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/") in ("/v1/models", "/health"):
                self._send(200, {"object": "list", "data": [{"id": "dev", "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            fault = server.next_fault()
            if fault == "drop":
                server.count("drop")
                self.close_connection = True
                self.connection.close()
                return
            server.enter(1)
            time.sleep(server.slow_s if fault == "slow" else server.latency_s)
            server.enter(-1)
            if fault in ("429", "500"):
                headers = {"Retry-After": str(server.retry_after)} if server.retry_after is not None else {}
                self._send(int(fault), {"error": {"message": f"injected {fault}"}}, headers)
                return
            server.last_body = body
            server.count("completion")
            self._send(200, _completion(body, _answer(server, body)))

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            server.count(str(status))
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a "slow" fault past its timeout)

    return Handler


def _answer(server: DevServer, body: dict[str, Any]) -> str:
    if server.respond is not None:
        return server.respond(body)
    return server.reply if server.reply is not None else stand_in(_last_user(body), server.words)


def _last_user(body: dict[str, Any]) -> str:
    users = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
    return str(users[-1]) if users else ""


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "dev",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "dev"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m vlmadapt.llm.devserver --port 8000 --latency-ms 50``: serve until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(
        description="A stand-in OpenAI-compatible chat server (not a translator)."
    )
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    server = DevServer(latency_s=args.latency_ms / 1000, port=args.port).start()
    print(f"serving on {server.url}", flush=True)
    try:
        server._thread.join()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
