"""Image paths in records are relative to an image root; these helpers resolve and check them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmadapt.errors import VlmadaptError


def resolve_image(root: Path | str, rel: str) -> Path:
    """`root / rel`, refusing paths that leave the root (``../``, absolute paths, symlinks out)."""
    root = Path(root).resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root):
        raise VlmadaptError(f"image path {rel!r} leaves the image root {root}")
    return path


def image_problem(root: Path | str, rel: str) -> str | None:
    """Why the image cannot be used (missing, unreadable, outside the root), or None."""
    from PIL import Image, UnidentifiedImageError

    try:
        path = resolve_image(root, rel)
    except VlmadaptError as e:
        return str(e)
    if not path.is_file():
        return f"image not found: {path}"
    try:
        with Image.open(path) as im:
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        return f"unreadable image {path}: {e}"
    return None


def load_image(root: Path | str, rel: str) -> Any:
    """The image as RGB `PIL.Image`, or a VlmadaptError naming the path."""
    from PIL import Image

    problem = image_problem(root, rel)
    if problem:
        raise VlmadaptError(problem)
    with Image.open(resolve_image(root, rel)) as im:
        return im.convert("RGB")
