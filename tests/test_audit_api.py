"""The audit sample and the web API: stratified seeded sample, tokens, ratings, resume, and security.

The API tests go through FastAPI's TestClient against a real SQLite database in `tmp_path`.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from vlmadapt.audit import ServeConfig, store
from vlmadapt.audit.app import CSP, create_app, resolve_image
from vlmadapt.audit.sample import assign, prepare, read_tokens, stratified
from vlmadapt.errors import VlmadaptError

XSS = "<img src=x onerror=alert(1)>"
ALICE, BOB = "alice-token-0123456789", "bob-token-0123456789ab"
TIERS = ["high"] * 6 + ["moderate"] * 3 + ["low"]  # 60 / 30 / 10 per ten records


def make_data(root: Path, n: int = 40, tiers_in_meta: bool = True) -> Path:
    """`n` translated captions / questions with images, automatic tiers 60/30/10; record 3 carries XSS."""
    from PIL import Image

    (root / "img").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        Image.new("RGB", (8, 6), (i * 5 % 255, 80, 120)).save(root / "img" / f"{i}.png")
        text = XSS if i == 3 else f"un câine numărul {i}"
        row: dict[str, Any] = {"id": f"ex-{i}", "image": f"img/{i}.png", "lang": "ro", "meta": {}}
        if i % 2:
            row |= {"task": "open_vqa", "question": f"Ce culoare are {i}?", "answers": [text]}
            row["source"] = {"lang": "en", "question": f"What colour is {i}?", "answers": [f"dog number {i}"]}
        else:
            row |= {"task": "caption", "answers": [text], "source": {"lang": "en", "answers": [f"a dog {i}"]}}
        if tiers_in_meta:
            row["meta"]["tier"] = TIERS[i % 10]
        rows.append(row)
    path = root / "examples.ro.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_tokens(path: Path, tokens: dict[str, str]) -> Path:
    path.write_text("# name token\n" + "".join(f"{n} {t}\n" for n, t in tokens.items()), encoding="utf-8")
    return path


def serve_config(tmp_path: Path, **kw: Any) -> ServeConfig:
    data = kw.pop("data", None) or make_data(tmp_path)
    tokens = kw.pop("tokens", None) or write_tokens(tmp_path / "tokens.txt", {"alice": ALICE, "bob": BOB})
    return ServeConfig(data=data, tokens=tokens, db=tmp_path / "audit.sqlite", **kw)


@pytest.fixture
def client(tmp_path: Path) -> Any:
    from fastapi.testclient import TestClient

    cfg = serve_config(tmp_path, sample=20, double_share=0.5)
    prepare(cfg)
    with TestClient(create_app(cfg.db_path(), cfg.image_root())) as c:
        c.cfg = cfg
        yield c


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- sample -------------------------------------------------------------------------------------------


def test_stratified_sample_is_proportional_and_seeded() -> None:
    strata = [TIERS[i % 10] for i in range(100)]
    picked = stratified(strata, 20, random.Random(1))
    assert Counter(strata[i] for i in picked) == {"high": 12, "moderate": 6, "low": 2}
    assert len(set(picked)) == 20
    assert picked == stratified(strata, 20, random.Random(1))
    assert picked != stratified(strata, 20, random.Random(2))
    assert sorted(stratified(strata, 500, random.Random(1))) == list(range(100))  # all, when fewer


def test_largest_remainder_fills_the_sample() -> None:
    strata = ["a"] * 5 + ["b"] * 5 + ["c"] * 5
    assert Counter(strata[i] for i in stratified(strata, 7, random.Random(0))) == {"a": 3, "b": 2, "c": 2}


def test_assign_doubles_a_share_and_balances_load() -> None:
    ids = [f"i{k}" for k in range(100)]
    queues = assign(ids, ["a", "b", "c"], 0.2, random.Random(0))
    per_item = Counter(i for q in queues.values() for i in q)
    assert Counter(per_item.values()) == {1: 80, 2: 20}
    assert all(len(q) == len(set(q)) for q in queues.values())
    sizes = [len(q) for q in queues.values()]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == 120
    pairs = Counter(
        tuple(sorted(n for n, q in queues.items() if i in q)) for i, c in per_item.items() if c == 2
    )
    assert set(pairs) == {("a", "b"), ("a", "c"), ("b", "c")}  # every two people share some items
    assert assign(ids, ["solo"], 0.5, random.Random(0)) == {"solo": ids}  # one person: no doubles


def test_prepare_stores_the_sample_and_a_restart_keeps_it(tmp_path: Path) -> None:
    cfg = ServeConfig(data=make_data(tmp_path), sample=10, annotators=["alice", "bob"], db=tmp_path / "a.db")
    tokens = prepare(cfg)
    assert sorted(tokens) == ["alice", "bob"] and all(len(t) >= 30 for t in tokens.values())
    with store.connection(cfg.db_path()) as c:
        first = [r[0] for r in c.execute("SELECT item_id FROM items ORDER BY pos")]
        assert store.annotator_for(c, tokens["alice"]) == "alice"
        hashes = [r[0] for r in c.execute("SELECT token_hash FROM annotators")]
    assert tokens["alice"] not in hashes  # only hashes are stored
    assert prepare(cfg.model_copy(update={"annotators": []})) == {}  # restart: no new tokens
    with store.connection(cfg.db_path()) as c:
        assert [r[0] for r in c.execute("SELECT item_id FROM items ORDER BY pos")] == first
        assert store.annotator_for(c, tokens["alice"]) == "alice"
    with pytest.raises(VlmadaptError, match=r"sample=10"):
        prepare(cfg.model_copy(update={"sample": 11}))
    with pytest.raises(VlmadaptError, match="annotators are fixed"):
        prepare(cfg.model_copy(update={"annotators": ["alice", "carol"]}))


def test_stratify_by_tier_needs_tiers_or_a_quality_file(tmp_path: Path) -> None:
    data = make_data(tmp_path, n=20, tiers_in_meta=False)
    cfg = ServeConfig(data=data, annotators=["a"], db=tmp_path / "x.db")
    with pytest.raises(VlmadaptError, match=r"record 'ex-0' has no automatic tier.*--quality"):
        prepare(cfg)
    quality = tmp_path / "q.jsonl"
    quality.write_text(
        "".join(json.dumps({"id": f"ex-{i}", "tier": TIERS[i % 10]}) + "\n" for i in range(20))
    )
    prepare(cfg.model_copy(update={"quality": quality, "sample": 10, "db": tmp_path / "y.db"}))
    with store.connection(tmp_path / "y.db") as c:
        tiers = Counter(r[0] for r in c.execute("SELECT auto_tier FROM items"))
    assert tiers == {"high": 6, "moderate": 3, "low": 1}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "ex-0", "tier": "great"}\n')
    with pytest.raises(VlmadaptError, match=r"bad.jsonl:1: expected a `vlmadapt quality` row"):
        prepare(cfg.model_copy(update={"quality": bad}))


def test_stratify_by_task_or_meta_key(tmp_path: Path) -> None:
    cfg = ServeConfig(
        data=make_data(tmp_path), annotators=["a"], sample=10, stratify="task", db=tmp_path / "t.db"
    )
    prepare(cfg)
    with store.connection(cfg.db_path()) as c:
        assert Counter(r[0] for r in c.execute("SELECT stratum FROM items")) == {"caption": 5, "open_vqa": 5}
    with pytest.raises(VlmadaptError, match=r"--stratify 'colour': use tier, task"):
        prepare(cfg.model_copy(update={"stratify": "colour", "db": tmp_path / "u.db"}))


def test_tokens_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("alice short\n")
    with pytest.raises(VlmadaptError, match=r"t.txt:1: the token of 'alice' is too short"):
        read_tokens(path)
    path.write_text("# x\nalice 0123456789abcdefgh extra\n")
    with pytest.raises(VlmadaptError, match=r"t.txt:2: expected `name token`"):
        read_tokens(path)


def test_qa_records_show_the_pair(tmp_path: Path) -> None:
    from vlmadapt.audit.sample import payload
    from vlmadapt.records import Example

    ex = Example(
        id="img1-qa-0",
        task="yes_no",
        lang="ro",
        image="a.jpg",
        question="Este un câine?",
        answers=["da"],
        meta={"synthesis": {"kind": "generated", "answer": "Da, un câine stă pe iarbă."}},
    )
    shown = payload(ex, "yes_no", None)
    assert shown["kind"] == "qa"
    assert [(f["field"], f["text"]) for f in shown["fields"]] == [
        ("question", "Este un câine?"),
        ("answer", "da"),
        ("full answer", "Da, un câine stă pe iarbă."),
    ]


# ---- API ----------------------------------------------------------------------------------------------


def test_every_api_call_needs_a_token(client: Any) -> None:
    item = client.get("/api/queue", headers=auth(ALICE)).json()["items"][0]["id"]
    image = client.get(f"/api/item?id={item}", headers=auth(ALICE)).json()["image"]
    for method, url, body in (
        ("GET", "/api/queue", None),
        ("GET", f"/api/item?id={item}", None),
        ("POST", "/api/ratings", {"item_id": item, "rating": "high"}),
        ("GET", f"/images/{image}", None),
    ):
        for headers in ({}, auth("not-a-token-at-all"), {"Authorization": ALICE}):
            r = client.request(method, url, json=body, headers=headers)
            assert r.status_code == 401, (method, url, headers)
    assert client.get(f"/images/{image}", headers=auth(ALICE)).status_code == 200
    with store.connection(client.cfg.db_path()) as c:
        assert store.counts(c)["ratings"] == 0  # no anonymous write got through


def test_login_link_sets_a_cookie_that_authenticates(client: Any) -> None:
    assert client.get("/login?token=wrong").status_code == 401
    r = client.get(f"/login?token={BOB}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/api/queue").json()["annotator"] == "bob"  # the client keeps the cookie
    client.get("/logout")
    assert client.get("/api/queue").status_code == 401


def test_rating_is_upserted_and_progress_and_resume_follow(client: Any) -> None:
    queue = client.get("/api/queue", headers=auth(ALICE)).json()
    ids = [it["id"] for it in queue["items"]]
    assert queue["rated"] == 0 and queue["first_unrated"] == 0 and queue["total"] == len(ids) >= 5

    def rate(item: str, rating: str, comment: str = "") -> Any:
        body = {"item_id": item, "rating": rating, "comment": comment}
        return client.post("/api/ratings", json=body, headers=auth(ALICE))

    assert rate(ids[0], "high").json() == {"ok": True, "rated": 1, "total": len(ids)}
    assert rate(ids[2], "low").json()["rated"] == 2
    assert client.get("/api/queue", headers=auth(ALICE)).json()["first_unrated"] == 1  # resume at the gap
    assert rate(ids[0], "moderate", "word order").json()["rated"] == 2  # again: replaced, not added
    queue = client.get("/api/queue", headers=auth(ALICE)).json()
    assert queue["items"][0] == {"id": ids[0], "rating": "moderate", "comment": "word order"}
    with store.connection(client.cfg.db_path()) as c:
        rows = c.execute("SELECT item_id, rating FROM ratings WHERE annotator = 'alice'").fetchall()
    assert sorted(map(tuple, rows)) == sorted([(ids[0], "moderate"), (ids[2], "low")])


def test_invalid_ratings_are_refused(client: Any) -> None:
    item = client.get("/api/queue", headers=auth(ALICE)).json()["items"][0]["id"]
    for body in (
        {"item_id": item, "rating": "great"},
        {"item_id": item, "rating": 1},
        {"item_id": item},
        {"item_id": item, "rating": "high", "annotator": "bob"},
        {"item_id": item, "rating": "high", "comment": "x" * 5000},
    ):
        assert client.post("/api/ratings", json=body, headers=auth(ALICE)).status_code == 422, body
    with store.connection(client.cfg.db_path()) as c:
        assert store.counts(c)["ratings"] == 0


def test_an_annotator_sees_and_rates_only_their_items(client: Any) -> None:
    alice = {it["id"] for it in client.get("/api/queue", headers=auth(ALICE)).json()["items"]}
    bob = {it["id"] for it in client.get("/api/queue", headers=auth(BOB)).json()["items"]}
    only_bob = sorted(bob - alice)[0]
    assert alice & bob  # double_share 0.5: some items are rated by both
    assert client.get(f"/api/item?id={only_bob}", headers=auth(ALICE)).status_code == 404
    body = {"item_id": only_bob, "rating": "low"}
    assert client.post("/api/ratings", json=body, headers=auth(ALICE)).status_code == 404
    assert (
        client.post("/api/ratings", json={**body, "item_id": "no-such"}, headers=auth(ALICE)).status_code
        == 404
    )


def test_xss_payload_is_data_and_the_page_never_parses_it(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from vlmadapt.audit import page

    cfg = serve_config(tmp_path, sample=40, annotators=[], double_share=0.0)
    prepare(cfg)
    with TestClient(create_app(cfg.db_path(), cfg.image_root())) as c:
        ids = [it["id"] for it in c.get("/api/queue", headers=auth(ALICE)).json()["items"]]
        token = ALICE if "ex-3" in ids else BOB
        r = c.get("/api/item?id=ex-3", headers=auth(token))
        assert r.headers["content-type"] == "application/json"
        assert "auto_tier" not in r.json() and "stratum" not in r.json()  # the rater is not anchored
        fields = {f["field"]: f for f in r.json()["fields"]}
        assert fields["answer"]["text"] == XSS  # returned as a JSON string, unchanged
        home = c.get("/")
    assert XSS not in home.text and "onerror" not in home.text
    assert "<script>" not in page.INDEX and "onclick" not in page.INDEX and "style=" not in page.INDEX
    assert (
        "innerHTML" not in page.SCRIPT
        and "insertAdjacentHTML" not in page.SCRIPT
        and "eval(" not in page.SCRIPT
    )
    assert "textContent" in page.SCRIPT


def test_security_headers_on_every_response(client: Any) -> None:
    for url in ("/", "/static/app.js", "/api/queue", "/images/img/0.png", "/login?token=x"):
        r = client.get(url, headers=auth(ALICE))
        assert r.headers["content-security-policy"] == CSP, url
        assert r.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP and "default-src 'none'" in CSP


@pytest.mark.parametrize(
    "url",
    [
        "/images/../../etc/passwd",
        "/images/%2e%2e/%2e%2e/etc/passwd",
        "/images/img/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/images/..%2f..%2f..%2fetc%2fpasswd",
        "/images/%2Fetc%2Fpasswd",
        "/images//etc/passwd",
        "/images/img%5c..%5c..%5cetc%5cpasswd",
        "/images/img/0.png%00.txt",
        "/images/img/missing.png",
        "/images/examples.ro.jsonl",  # inside the root, but not an item's image
    ],
)
def test_image_traversal_is_refused(client: Any, url: str) -> None:
    r = client.get(url, headers=auth(ALICE))
    assert r.status_code in (403, 404), (url, r.status_code)
    assert b"root:" not in r.content


def test_symlink_out_of_the_image_root_is_refused(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    outside = tmp_path / "secret.png"
    outside.write_bytes(b"secret")
    data = make_data(tmp_path / "data", n=4)
    (tmp_path / "data" / "img" / "0.png").unlink()
    (tmp_path / "data" / "img" / "0.png").symlink_to(outside)  # an item's own image, linking out
    cfg = serve_config(tmp_path, data=data, sample=4, double_share=0.0)
    prepare(cfg)
    with TestClient(create_app(cfg.db_path(), cfg.image_root())) as c:
        served = {
            it["id"]: c.get(f"/images/img/{it['id'].split('-')[1]}.png", headers=auth(tok)).status_code
            for tok in (ALICE, BOB)
            for it in c.get("/api/queue", headers=auth(tok)).json()["items"]
        }
    assert served == {"ex-0": 404, "ex-1": 200, "ex-2": 200, "ex-3": 200}


def test_resolve_image_rules(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.png").write_bytes(b"x")
    (tmp_path / "out.png").write_bytes(b"o")
    (root / "link.png").symlink_to(tmp_path / "out.png")
    (root / "inner.png").symlink_to(root / "a" / "x.png")
    (root / "dirlink").symlink_to(tmp_path)
    assert resolve_image(root, "a/x.png") == (root / "a" / "x.png").resolve()
    assert resolve_image(root, "inner.png") == (root / "a" / "x.png").resolve()  # a link that stays inside
    for name in (
        "../out.png",
        "a/../../out.png",
        "/etc/passwd",
        str(tmp_path / "out.png"),
        "link.png",
        "dirlink/out.png",
        "a",
        "",
        "a\\x.png",
        "a/x.png\x00",
        "C:/x.png",
    ):
        assert resolve_image(root, name) is None, name


def test_a_cross_site_form_post_is_refused(client: Any) -> None:
    """A form on another site can post text/plain with the cookie attached (were it not SameSite=Strict);
    the API reads JSON bodies only, so such a post is a 422 and writes nothing."""
    item = client.get("/api/queue", headers=auth(ALICE)).json()["items"][0]["id"]
    client.get(f"/login?token={ALICE}")
    body = json.dumps({"item_id": item, "rating": "low"})
    r = client.post("/api/ratings", content=body, headers={"content-type": "text/plain"})
    assert r.status_code == 422
    with store.connection(client.cfg.db_path()) as c:
        assert store.counts(c)["ratings"] == 0


def test_serve_cli_errors_before_listening(tmp_path: Path, cli: Any) -> None:
    data = make_data(tmp_path, n=10, tiers_in_meta=False)
    code, _, err = cli(["audit", "serve", str(data), "--annotators", "alice", "--port", "1"])
    assert code == 2 and "has no automatic tier" in err
    code, _, err = cli(["audit", "serve", str(data), "--double-share", "1.5", "--port", "1"])
    assert code == 2 and "double_share" in err
    code, _, err = cli(["audit", "serve", str(data), "--stratify", "task", "--port", "1"])
    assert code == 2 and "needs annotators" in err
