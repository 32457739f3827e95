"""How much the translate pipeline costs on top of the model, and how much concurrency buys over HTTP.

1. Overhead: 25,000 seeded records (POPE-style questions, captions, LLaVA-style conversations) through
   `vlmadapt.translate.run` with a backend of fixed latency per batch (registered in BACKENDS, as a user
   would add one). Overhead per record = (wall time - time inside the backend) / records; target <= 2 ms.
   Baseline in the same run: reading and writing the same records with vlmadapt.jsonl (the I/O floor).
2. Cached re-run: the same records into a new output with the warm cache; target <= 10 s. Baselines:
   the uncached run and the I/O floor.
3. HTTP concurrency: the openai backend against a local fixed-latency OpenAI-compatible server
   (llm/devserver.py), one request at a time versus 32 in flight; target >= 20x the throughput.

    .venv/bin/python benchmarks/translate_overhead.py [--records 25000] [--latency-ms 10] [--http-ms 100]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vlmadapt.jsonl import read_records, write_jsonl
from vlmadapt.llm.backends import BACKENDS, BackendConfig, make_backend
from vlmadapt.llm.devserver import stand_in
from vlmadapt.records import Example
from vlmadapt.translate import TranslateConfig, run

OBJECTS = ("dog", "cat", "person", "car", "bicycle", "snowboard", "kite", "umbrella", "bench", "bottle")
WORDS = (
    *("a", "the", "man", "woman", "child", "dog", "cat", "runs", "sits", "stands", "holds", "wears", "red"),
    *("blue", "green", "small", "large", "old", "young", "near", "on", "in", "under", "beside", "street"),
    *("park", "beach", "water", "grass", "table", "window", "door", "hat", "shirt", "jacket", "ball", "bag"),
)
INSTRUCTION = "Answer the question using a single word or phrase."


def synthetic(n: int, seed: int = 0) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            q = f"Is there a {rng.choice(OBJECTS)} in the image?"
            answer = rng.choice(["yes", "no"])
            rec = {"id": f"q{i}", "task": "yes_no", "lang": "en", "question": q, "answers": [answer]}
            out.append(Example.model_validate(rec))
        elif kind == 1:
            caps = [
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize() + "."
                for _ in "ab"
            ]
            out.append(
                Example.model_validate({"id": f"c{i}", "task": "caption", "lang": "en", "answers": caps})
            )
        else:
            ask = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 8))).capitalize() + "?"
            say = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 10))).capitalize() + "."
            turns = [
                {"role": "user", "content": f"<image>\n{ask}\n{INSTRUCTION}"},
                {"role": "assistant", "content": say},
            ]
            out.append(
                Example.model_validate({"id": f"v{i}", "task": "conversation", "lang": "en", "turns": turns})
            )
    return out


class FixedLatency:
    """A backend that takes `latency_s` per batch of `batch_size` texts, and records the time spent."""

    spent = 0.0  # seconds inside translate(), summed over instances

    def __init__(self, latency_s: float, batch_size: int) -> None:
        self.latency, self.batch_size = latency_s, batch_size

    def signature(self) -> dict[str, Any]:
        return {"backend": "fixed-latency", "latency": self.latency}

    def translate(self, texts: Sequence[str], attempt: int = 0) -> Iterator[tuple[int, str]]:
        for start in range(0, len(texts), self.batch_size):
            t0 = time.perf_counter()
            time.sleep(self.latency)
            out = [
                (i, stand_in(texts[i], {})) for i in range(start, min(start + self.batch_size, len(texts)))
            ]
            FixedLatency.spent += time.perf_counter() - t0
            yield from out

    def close(self) -> None:
        pass


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def io_floor(src: Path, dest: Path) -> float:
    def both() -> None:
        write_jsonl(dest, read_records(src))

    return timed(both)[1]


def pipeline(n: int, latency_ms: float, tmp: Path) -> None:
    records = synthetic(n)
    src = write_jsonl(tmp / "en.jsonl", records)
    floor = io_floor(src, tmp / "copy.jsonl")
    BACKENDS["fixed-latency"] = lambda cfg, source, target: FixedLatency(latency_ms / 1000, cfg.batch_size)
    backend = BackendConfig(name="fixed-latency", batch_size=64)
    cfg = TranslateConfig(input=src, output=tmp / "ro.jsonl", target="ro", backend=backend, progress=False)
    _, wall = timed(run, cfg)
    inside = FixedLatency.spent
    overhead = (wall - inside) / n * 1000
    per_floor = floor / n * 1000
    print(f"records: {n:,}; I/O floor (read + write the records): {floor:.2f} s = {per_floor:.3f} ms/record")
    print(
        f"uncached run: {wall:.2f} s, {inside:.2f} s inside the backend ({latency_ms:g} ms per batch of 64); "
        f"pipeline overhead {overhead:.3f} ms/record (target <= 2 ms) = "
        f"{overhead / per_floor:.1f}x the I/O floor"
    )
    FixedLatency.spent = 0.0
    _, cached = timed(run, cfg.model_copy(update={"output": tmp / "ro2.jsonl"}))
    same = (tmp / "ro.jsonl").read_bytes() == (tmp / "ro2.jsonl").read_bytes()
    print(
        f"cached re-run: {cached:.2f} s (target <= 10 s), backend time {FixedLatency.spent:.2f} s; "
        f"{wall / cached:.1f}x faster than uncached, {cached / floor:.1f}x the I/O floor; "
        f"identical output: {same}"
    )


@contextmanager
def server_process(latency_ms: float) -> Iterator[str]:
    """The dev server in its own process (as a real server is: no shared GIL with the client); its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "vlmadapt.llm.devserver",
        "--port",
        str(port),
        "--latency-ms",
        str(latency_ms),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "serving on URL" once it listens
        yield line.rsplit(" ", 1)[-1].strip()
    finally:
        proc.terminate()
        proc.wait()


def http(n_seq: int, n_par: int, latency_ms: float) -> None:
    with server_process(latency_ms) as url:
        rates = {}
        for concurrency, n in ((1, n_seq), (32, n_par)):
            cfg = BackendConfig(name="openai", model="dev", url=url, concurrency=concurrency)
            backend = make_backend(cfg, "en", "ro")
            texts = [f"Sentence {i} for the server." for i in range(n)]
            _, wall = timed(lambda b=backend, t=texts: list(b.translate(t)))
            backend.close()
            rates[concurrency] = n / wall
            print(
                f"http, {concurrency:>2} in flight: {n} requests in {wall:.2f} s = {n / wall:,.1f} requests/s"
            )
        print(
            f"http: 32 in flight is {rates[32] / rates[1]:.1f}x one at a time (target >= 20x; "
            f"ideal {32:.0f}x at {latency_ms:g} ms latency)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=25_000)
    parser.add_argument("--latency-ms", type=float, default=10.0, help="fixed backend latency per batch")
    # An LLM answers a translation request in 0.1-2 s; 100 ms keeps the run short and the ratio honest.
    parser.add_argument("--http-ms", type=float, default=100.0, help="local server latency per request")
    parser.add_argument("--http-requests", type=int, default=48, help="requests one at a time (x20 at 32)")
    args = parser.parse_args()
    machine = f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs"
    print(f"machine: {machine}, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        pipeline(args.records, args.latency_ms, Path(tmp))
    http(args.http_requests, args.http_requests * 20, args.http_ms)


if __name__ == "__main__":
    main()
