"""`transformers serve` of a local model on 127.0.0.1: the real OpenAI-compatible server that the
translation and synthesis tests talk to, started offline and stopped when the test module ends."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def missing_serving() -> list[str]:
    """The modules of `transformers[serving]` that `transformers serve` needs (as its `is_serve_available`
    checks) and this Python lacks."""
    return [m for m in ("fastapi", "uvicorn", "openai") if importlib.util.find_spec(m) is None]


@contextmanager
def transformers_serve(model: Path, log: Path) -> Iterator[tuple[Any, str]]:
    """(process, base URL) of `transformers serve MODEL`, or (None, "") when it cannot run here. Start it
    early: it boots while other tests run; `wait_served` waits for it."""
    exe = shutil.which("transformers", path=str(Path(sys.executable).parent))
    if exe is None or missing_serving():
        yield None, ""
        return
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "OMP_NUM_THREADS": "1"}
    cmd = [exe, "serve", str(model), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"]
    with log.open("wb") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_served(proc: Any, url: str, log: Path) -> str:
    """The /v1 URL once the server answers /health; a skip when it cannot run here, a failure with its log
    when it dies or is not up within two minutes."""
    import httpx2

    if proc is None:
        missing = missing_serving()
        pytest.skip(
            "`transformers serve` cannot run here: "
            + (f"missing {', '.join(missing)}" if missing else "no `transformers` CLI beside this Python")
            + "; install the dev extras (pip install -e '.[dev]', which pulls transformers[serving])"
        )
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                return f"{url}/v1"
        except httpx2.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"transformers serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.25)
