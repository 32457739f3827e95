"""The audit web app (FastAPI): a page to rate items, a small JSON API behind it, and the images.

Every `/api` call and every image needs an annotator's token, as ``Authorization: Bearer TOKEN`` or
the cookie that ``/login?token=TOKEN`` sets (HttpOnly, SameSite=Strict) before redirecting to the page.
Texts reach the page only as JSON and are put in the page with ``textContent`` (see page.py), and a
strict Content-Security-Policy forbids inline scripts, so a translation that contains markup stays text.
Images are served only from under the image root: no ``..``, no absolute path, no symlink leading out.
"""

# No `from __future__ import annotations` here: FastAPI reads the route signatures at runtime, and their
# dependency types are local to create_app.
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.audit import page, store
from vlmadapt.audit.config import Rating, ServeConfig

COOKIE = "vlmadapt_audit"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # the login link carries the token: never send it on
    "Cache-Control": "no-store",
}


class RatingIn(BaseModel):
    """One rating posted by the page; anything else (a fourth value, an unknown key) is a 422."""

    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1, max_length=512)
    rating: Rating
    comment: str = Field(default="", max_length=4000)


def resolve_image(root: Path, name: str) -> Path | None:
    """The file `name` names under `root`, or None if it is not a plain relative path to a file there.

    Refused: absolute paths, ``..`` anywhere, backslashes and NUL, and any path whose real location
    (symlinks followed) is outside the real root.
    """
    if not name or "\\" in name or "\x00" in name:
        return None
    rel = PurePosixPath(name)
    if rel.is_absolute() or any(part in ("..", "") for part in rel.parts) or ":" in rel.parts[0]:
        return None
    try:
        real_root = root.resolve(strict=True)
        target = (real_root / rel).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return None
    if not target.is_relative_to(real_root) or not target.is_file():
        return None
    return target


def create_app(db: Path, images: Path) -> Any:
    """The ASGI app over an audit database made by `sample.prepare`, serving images from `images`."""
    from fastapi import Depends, FastAPI, HTTPException, Query, Request
    from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse, Response

    app = FastAPI(title="vlmadapt audit", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Any]) -> Any:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    def conn() -> Iterator[sqlite3.Connection]:
        with store.connection(db) as c:  # one connection per request, closed when it ends
            yield c

    Conn = Annotated[sqlite3.Connection, Depends(conn)]

    def annotator(request: Request, c: Conn) -> str:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(COOKIE)
        name = store.annotator_for(c, token) if token else None
        if name is None:
            raise HTTPException(401, "log in with the link `vlmadapt audit serve` printed for you")
        return name

    Who = Annotated[str, Depends(annotator)]

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return Response(page.INDEX, media_type="text/html; charset=utf-8")

    @app.get("/static/app.js", include_in_schema=False)
    def script() -> Response:
        return Response(page.SCRIPT, media_type="text/javascript; charset=utf-8")

    @app.get("/static/app.css", include_in_schema=False)
    def style() -> Response:
        return Response(page.STYLE, media_type="text/css; charset=utf-8")

    @app.get("/login", include_in_schema=False)
    def login(c: Conn, token: Annotated[str, Query(max_length=256)] = "") -> Response:
        if not token or store.annotator_for(c, token) is None:
            return PlainTextResponse("unknown token: use the link `vlmadapt audit serve` printed", 401)
        response = RedirectResponse("/", status_code=303)  # drops the token from the address bar
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=30 * 24 * 3600)
        return response

    @app.get("/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.get("/api/queue")
    def get_queue(c: Conn, who: Who) -> dict[str, Any]:
        """This annotator's items in order, with ratings so far, and where to continue."""
        items = store.queue(c, who)
        rated = sum(it["rating"] is not None for it in items)
        first = next((i for i, it in enumerate(items) if it["rating"] is None), None)
        return {"annotator": who, "total": len(items), "rated": rated, "first_unrated": first, "items": items}

    @app.get("/api/item")
    def get_item(c: Conn, who: Who, id: Annotated[str, Query(max_length=512)]) -> dict[str, Any]:
        found = store.assigned_payload(c, who, id)
        if found is None:
            raise HTTPException(404, f"item {id!r} is not in your queue")
        # The automatic tier (and the stratum, often the same) would anchor the rater: never shown.
        return {k: v for k, v in found.items() if k not in ("stratum", "auto_tier")}

    @app.post("/api/ratings")
    def post_rating(c: Conn, who: Who, body: RatingIn) -> dict[str, Any]:
        if not store.is_assigned(c, who, body.item_id):
            raise HTTPException(404, f"item {body.item_id!r} is not in your queue")
        store.upsert_rating(c, who, body.item_id, body.rating, body.comment)
        items = store.queue(c, who)
        return {"ok": True, "rated": sum(it["rating"] is not None for it in items), "total": len(items)}

    @app.get("/images/{name:path}")
    def image(c: Conn, who: Who, name: str) -> Response:
        path = resolve_image(images, name)
        listed = c.execute(
            "SELECT 1 FROM items WHERE json_extract(payload, '$.image') = ?", (name,)
        ).fetchone()
        if path is None or listed is None:
            raise HTTPException(404, "no such image")
        return FileResponse(path)

    return app


def run(cfg: ServeConfig, announce: Callable[[str], None] = print) -> None:
    """Prepare (or reopen) the audit, print each annotator's login link, then serve until interrupted."""
    import uvicorn

    from vlmadapt.audit.sample import prepare

    tokens = prepare(cfg)
    base = f"http://{cfg.host}:{cfg.port}"
    with store.connection(cfg.db_path()) as c:
        names, count = store.annotator_names(c), store.counts(c)
        images = [r[0] for r in c.execute("SELECT json_extract(payload, '$.image') FROM items") if r[0]]
    announce(f"audit of {count['items']} items in {cfg.db_path()}; annotators: {', '.join(names)}")
    missing = [name for name in images if resolve_image(cfg.image_root(), name) is None]
    if missing:
        announce(
            f"warning: {len(missing)} of {len(images)} images are not under {cfg.image_root()} "
            f"(first: {missing[0]}); pass --images with the image folder"
        )
    if cfg.tokens:
        announce(f"login: {base}/login?token=TOKEN, with each annotator's token from {cfg.tokens}")
    elif tokens:
        announce("login links (shown once; the database keeps only hashes of the tokens):")
        for name, token in tokens.items():
            announce(f"  {name}: {base}/login?token={token}")
    else:
        announce("annotators keep the login links printed at the first start")
    if cfg.host not in ("127.0.0.1", "localhost", "::1"):
        announce(f"warning: listening on {cfg.host} over plain HTTP; put a TLS proxy in front of it")
    uvicorn.run(
        create_app(cfg.db_path(), cfg.image_root()), host=cfg.host, port=cfg.port, log_level="warning"
    )
