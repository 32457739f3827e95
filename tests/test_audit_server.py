"""The audit server for real: `vlmadapt audit serve` on 127.0.0.1 under concurrent annotators, and the
page in headless Chromium driven by Playwright (keyboard rating, reload and resume, XSS shown as text).

The browser test needs the `playwright` Python package (never `playwright install`: it drives the
system's Debian Chromium at /usr/bin/chromium, or $VLMADAPT_CHROMIUM) and is skipped without them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from vlmadapt.audit import ServeConfig, store
from vlmadapt.audit.app import create_app
from vlmadapt.audit.config import RATINGS
from vlmadapt.audit.sample import prepare

XSS = "<img src=x onerror=alert(1)>"
CHROMIUM = os.environ.get("VLMADAPT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def write_data(path: Path, n: int, with_images: bool = False) -> Path:
    from PIL import Image

    rows = []
    for i in range(n):
        row: dict[str, Any] = {
            "id": f"ex-{i}",
            "task": "caption",
            "lang": "ro",
            "answers": [XSS if i == 3 else f"Un câine maro aleargă pe iarbă ({i})."],
            "source": {"lang": "en", "answers": [f"A brown dog runs on the grass ({i})."]},
            "meta": {"tier": RATINGS[i % 3]},
        }
        if with_images:
            (path.parent / "img").mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (64, 48), (40 * (i % 6), 120, 90)).save(path.parent / "img" / f"{i}.png")
            row["image"] = f"img/{i}.png"
        rows.append(row)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def cli_server(args: list[str], port: int) -> Iterator[subprocess.Popen[str]]:
    """`vlmadapt audit serve ARGS --port PORT` in a subprocess, until the port answers; stopped after."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "vlmadapt.cli", "audit", "serve", *args, "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = proc.stdout.read() if proc.stdout else ""
                    raise AssertionError(f"the server did not start:\n{output}") from None
                time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def stop_and_read(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=15)
    return out


def test_serve_prints_links_once_and_a_restart_keeps_the_audit(tmp_path: Path) -> None:
    import httpx2

    data = write_data(tmp_path / "ex.jsonl", 12)
    port = free_port()
    args = [str(data), "--sample", "8", "--annotators", "alice,bob", "--db", str(tmp_path / "a.sqlite")]
    with cli_server(args, port) as proc:
        out = stop_and_read(proc)
    links = dict(line.strip().split(": ", 1) for line in out.splitlines() if "/login?token=" in line)
    assert sorted(links) == ["alice", "bob"] and "audit of 8 items" in out
    with cli_server(args[:3] + args[5:], port) as proc:  # restart without --annotators
        client = httpx2.Client(base_url=f"http://127.0.0.1:{port}")
        r = client.get(links["alice"].removeprefix(f"http://127.0.0.1:{port}"), follow_redirects=True)
        assert r.status_code == 200 and r.headers["content-security-policy"].startswith("default-src 'none'")
        assert client.get("/api/queue").json()["annotator"] == "alice"  # the login cookie
        out = stop_and_read(proc)
    assert "/login?token=" not in out and "keep the login links" in out


def test_twenty_annotators_rating_concurrently(tmp_path: Path) -> None:
    """20 annotators x 50 items (every item rated by two), all posting at once, plus 10 re-ratings each:
    every (item, annotator) rating is in the database exactly once, with its last value."""
    import httpx2

    names = [f"a{i:02d}" for i in range(20)]
    tokens = {n: f"token-{n}-{'x' * 16}" for n in names}
    token_file = tmp_path / "tokens.txt"
    token_file.write_text("".join(f"{n} {t}\n" for n, t in tokens.items()))
    data = write_data(tmp_path / "ex.jsonl", 500)
    db = tmp_path / "audit.sqlite"
    port = free_port()
    args = [str(data), "--sample", "500", "--stratify", "none", "--double-share", "1.0"]
    args += ["--tokens", str(token_file), "--db", str(db)]
    expected: dict[tuple[str, str], str] = {}
    errors: list[str] = []
    barrier = threading.Barrier(len(names))

    def annotate(name: str) -> None:
        headers = {"Authorization": f"Bearer {tokens[name]}"}
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
            items = [it["id"] for it in client.get("/api/queue").json()["items"]]
            plan = [(item, RATINGS[(k + len(name)) % 3]) for k, item in enumerate(items)]
            plan += [(item, RATINGS[(k + 1) % 3]) for k, item in enumerate(items[:10])]  # change 10
            barrier.wait()
            for item, rating in plan:
                r = client.post("/api/ratings", json={"item_id": item, "rating": rating})
                if r.status_code != 200:
                    errors.append(f"{name} {item}: {r.status_code} {r.text}")
                expected[(item, name)] = rating
            if client.get("/api/queue").json()["rated"] != 50:
                errors.append(f"{name}: queue does not show 50 rated")

    with cli_server(args, port):
        threads = [threading.Thread(target=annotate, args=(n,)) for n in names]
        for t in threads:
            t.start()
        start = time.perf_counter()
        for t in threads:
            t.join(300)
        elapsed = time.perf_counter() - start
    assert not errors, errors[:5]
    assert len(expected) == 1000
    with store.connection(db) as c:
        rows = c.execute("SELECT item_id, annotator, rating FROM ratings").fetchall()
    assert len(rows) == 1000
    assert {(r[0], r[1]): r[2] for r in rows} == expected
    print(f"\n1200 ratings from 20 annotators in {elapsed:.2f} s: {1200 / elapsed:.0f} ratings/s")


# ---- the page in a real browser -------------------------------------------------------------------------


@contextmanager
def thread_server(app: Any) -> Iterator[str]:
    """A real uvicorn server for `app` on 127.0.0.1 in a thread; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_rating_with_the_keyboard_in_a_browser(tmp_path: Path) -> None:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="needs `pip install playwright` (no browser download)"
    )
    if not Path(CHROMIUM).is_file():
        pytest.skip(
            f"no Chromium at {CHROMIUM} (Debian: apt-get install -y chromium; or set VLMADAPT_CHROMIUM)"
        )
    expect = sync_api.expect
    token = "alice-browser-token-0123456789"
    (tmp_path / "tokens.txt").write_text(f"alice {token}\n")
    cfg = ServeConfig(
        data=write_data(tmp_path / "ex.jsonl", 6, with_images=True),
        sample=6,
        stratify="none",
        tokens=tmp_path / "tokens.txt",
        db=tmp_path / "audit.sqlite",
    )
    prepare(cfg)
    with store.connection(cfg.db_path()) as c:
        order = [it["id"] for it in store.queue(c, "alice")]
    dialogs: list[str] = []
    console: list[str] = []
    with thread_server(create_app(cfg.db_path(), cfg.image_root())) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: console.append(m.text))
        position, rated = page.locator("#position"), page.locator("#progress-text")

        page.goto(f"{base}/")  # not logged in yet
        expect(page.locator("#login")).to_be_visible()
        page.goto(f"{base}/login?token={token}")
        assert page.url == f"{base}/"  # the token left the address bar
        expect(position).to_have_text("item 1 of 6")
        expect(rated).to_have_text("0 of 6 rated")
        for key, after in (("1", 2), ("m", 3), ("3", 4)):
            page.keyboard.press(key)
            expect(position).to_have_text(f"item {after} of 6")
        expect(rated).to_have_text("3 of 6 rated")
        page.keyboard.press("k")
        expect(position).to_have_text("item 3 of 6")
        expect(page.locator('[data-rating="low"]')).to_have_attribute("aria-pressed", "true")
        page.keyboard.press("c")
        page.keyboard.type("odd word order")
        page.keyboard.press("Escape")  # leaving the box saves the comment with the rating
        page.keyboard.press("j")
        expect(position).to_have_text("item 4 of 6")

        page.reload()  # continue where I left off: the first unrated item, ratings kept
        expect(position).to_have_text("item 4 of 6")
        expect(rated).to_have_text("3 of 6 rated")
        page.keyboard.press("ArrowLeft")
        expect(position).to_have_text("item 3 of 6")
        expect(page.locator("#comment")).to_have_value("odd word order")
        # The image came through /images with the login cookie. (wait_for_function would eval a string,
        # which the page's CSP forbids: a locator assertion polls without eval.)
        expect(page.locator("#image")).to_have_js_property("naturalWidth", 64)

        target = order.index("ex-3") + 1
        page.keyboard.press("u")
        expect(position).to_have_text("item 4 of 6")
        for _ in range(abs(target - 4)):
            page.keyboard.press("ArrowRight" if target > 4 else "ArrowLeft")
        expect(position).to_have_text(f"item {target} of 6")
        expect(page.locator("#fields td").nth(1)).to_have_text(XSS)  # the payload, as characters
        assert page.locator("#fields img").count() == 0 and page.locator("img").count() == 1
        page.screenshot(path=str(tmp_path / "audit.png"))
        browser.close()
    with store.connection(cfg.db_path()) as c:
        rows = {r[0]: (r[1], r[2]) for r in c.execute("SELECT item_id, rating, comment FROM ratings")}
    assert rows == {
        order[0]: ("high", ""),
        order[1]: ("moderate", ""),
        order[2]: ("low", "odd word order"),
    }
    assert dialogs == []  # alert(1) never ran
    assert not [m for m in console if "Content Security Policy" in m], console
