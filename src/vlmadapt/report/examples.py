"""A sample of examples for the report: question, image thumbnail, references and every system's answer.

Examples where the systems score differently on the task's first metric come first (they show what the
numbers mean); the rest follow in a seeded random order.
"""

from __future__ import annotations

import base64
import io
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlmadapt.evaluate.runs import EvalRun
from vlmadapt.report.load import load_references
from vlmadapt.report.tables import TaskGroup

THUMBNAIL_PX = 224
MAX_CHARS = 600  # longer answers are cut, with an ellipsis


@dataclass
class Answer:
    system: str
    text: str | None  # None: no prediction (error or missing)
    status: str
    score: float | None  # this sample's score on the task's first metric
    reading: str = ""  # how the scorer read it ("no · leading", "B · phrase")


@dataclass
class ExampleView:
    id: str
    question: str | None
    references: list[str]
    choices: list[str] = field(default_factory=list)
    image: str | None = None  # path relative to the image root
    image_uri: str | None = None  # base64 JPEG thumbnail
    image_note: str = ""
    answers: list[Answer] = field(default_factory=list)


def sample_examples(group: TaskGroup, k: int, seed: int, image_root: Path | None) -> list[ExampleView]:
    """Up to k examples every system of the group answered, disagreements first."""
    if k <= 0 or not group.runs:
        return []
    by_run = [{str(r.get("id")): r for r in run.rows} for run in group.runs]
    common = [i for i in by_run[0] if all(i in rows for rows in by_run[1:])]
    metric = group.primary.name if group.primary else None
    rng = random.Random(seed)
    rng.shuffle(common)
    common.sort(key=lambda i: len({_score(rows[i], metric) for rows in by_run}) <= 1)
    chosen = common[:k]
    refs = load_references(group.runs[0])
    root = image_root or _root(group.runs[0])
    return [_view(i, group.runs, by_run, refs.get(i), metric, root) for i in chosen]


def _root(run: EvalRun) -> Path | None:
    root = run.scores.get("image_root")
    return Path(root) if root else None


def _score(row: dict[str, Any], metric: str | None) -> float | None:
    value = (row.get("scores") or {}).get(metric) if metric else None
    return None if value is None else float(value)


def _view(
    ex_id: str,
    runs: list[EvalRun],
    by_run: list[dict[str, dict[str, Any]]],
    example: Any,
    metric: str | None,
    root: Path | None,
) -> ExampleView:
    first = by_run[0][ex_id]
    view = ExampleView(
        id=ex_id,
        question=getattr(example, "question", None),
        references=[str(x) for x in first.get("references") or []],
        choices=list(getattr(example, "choices", None) or []),
        image=getattr(example, "image", None),
    )
    if view.image and root is not None:
        view.image_uri, view.image_note = thumbnail(root, view.image)
    for run, rows in zip(runs, by_run, strict=True):
        row = rows[ex_id]
        text = row.get("prediction")
        view.answers.append(
            Answer(
                run.system,
                None if text is None else _cut(str(text)),
                str(row.get("status", "ok")),
                _score(row, metric),
                _reading(row.get("details") or {}),
            )
        )
    return view


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def _reading(details: dict[str, Any]) -> str:
    """How the scorer read the answer, from its per-sample details (evaluate/scorers.py)."""
    if "rule" in details:
        value, rule = details.get("letter") or details.get("parsed"), details["rule"]
        if value is None:
            return "unparsed" if rule == "unparsed" else f"unparsed · {rule}"
        return f"{value} · {rule}"
    if "normalized" in details:
        return f"normalised: {details['normalized']!s} ({details.get('matches', 0)} matches)"
    return ""


def thumbnail(root: Path, rel: str) -> tuple[str | None, str]:
    """(data URI of a JPEG thumbnail, "") or (None, why not)."""
    from PIL import Image, UnidentifiedImageError

    from vlmadapt.errors import VlmadaptError
    from vlmadapt.images import resolve_image

    try:
        path = resolve_image(root, rel)
        with Image.open(path) as src:
            im = src.convert("RGB")
        im.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=82)
    except (VlmadaptError, OSError, UnidentifiedImageError) as e:
        return None, f"no image: {e}"
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), ""
