"""Kill a real `vlmadapt translate` process mid-run (twice), resume it, compare with an uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from vlmadapt.jsonl import write_jsonl
from vlmadapt.llm.backends import BackendConfig
from vlmadapt.llm.devserver import DevServer
from vlmadapt.records import Example
from vlmadapt.translate import TranslateConfig, run

N = 240


def _records() -> list[Example]:
    out = []
    for i in range(N):
        if i % 3 == 0:
            out.append(
                Example(
                    id=f"q{i}",
                    task="yes_no",
                    lang="en",
                    question=f"Is there item {i} in the image?",
                    answers=["yes" if i % 2 else "no"],
                )
            )
        elif i % 3 == 1:
            out.append(
                Example(
                    id=f"c{i}",
                    task="caption",
                    lang="en",
                    answers=[f"A dog number {i} runs.", f"Caption {i} here."],
                )
            )
        else:
            out.append(
                Example(
                    id=f"v{i}",
                    task="conversation",
                    lang="en",
                    turns=[
                        {"role": "user", "content": f"<image>\nWhat is object {i}?"},
                        {"role": "assistant", "content": f"It is thing {i}."},
                    ],
                )
            )
    return out


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _command(src: Path, out: Path, url: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vlmadapt.cli",
        "translate",
        str(src),
        "--to",
        "ro",
        "--out",
        str(out),
        "--model",
        "dev",
        "--url",
        url,
        "--concurrency",
        "2",
        "--no-progress",
        "--set",
        "chunk_size=8",
    ]


def _start(src: Path, out: Path, url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(_command(src, out, url), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _kill_after(proc: subprocess.Popen[bytes], out: Path, lines: int, sig: signal.Signals) -> None:
    deadline = time.monotonic() + 60
    while _lines(out) < lines:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.01)
    proc.send_signal(sig)
    proc.wait(timeout=30)


def test_killed_run_resumes_to_the_uninterrupted_output(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "en.jsonl", _records())
    with DevServer(latency_s=0.005) as server:
        ref = tmp_path / "ref" / "ro.jsonl"
        backend = BackendConfig(model="dev", url=server.url, concurrency=2)
        run(
            TranslateConfig(input=src, output=ref, target="ro", backend=backend, chunk_size=8, progress=False)
        )

        out = tmp_path / "killed" / "ro.jsonl"
        _kill_after(_start(src, out, server.url), out, 40, signal.SIGKILL)
        first = _lines(out)
        with out.open("ab") as f:  # as if killed in the middle of writing a line
            f.write(b'{"id": "c')
        _kill_after(_start(src, out, server.url), out, first + 60, signal.SIGTERM)
        assert first < _lines(out) < N
        done = subprocess.run(_command(src, out, server.url), capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()

    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    want = [json.loads(line) for line in ref.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in got] == [r.id for r in _records()]  # every record exactly once, in order
    for g, w in zip(got, want, strict=True):
        assert g == w
    assert out.read_bytes() == ref.read_bytes()
