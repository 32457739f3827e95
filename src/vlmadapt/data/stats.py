"""What a records file holds: counts per task, language and split; text lengths; yes/no balance; images.

Question lengths count `question` and, for conversations, the user turns; answer lengths count every
string in `answers` and the assistant turns. Lengths are in whitespace-separated words.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vlmadapt.errors import VlmadaptError
from vlmadapt.images import image_problem, resolve_image
from vlmadapt.jsonl import read_records
from vlmadapt.languages import LANGUAGES, normalize, pack
from vlmadapt.records import Example, Task

NO_SPLIT = "(none)"
_SHOWN_PROBLEMS = 5  # image problems listed by name; all are counted


def dataset_stats(path: Path | str, image_root: Path | str | None = None) -> dict[str, Any]:
    """Counts and lengths of the examples in `path` (.jsonl or .parquet); with `image_root`, image checks."""
    examples: list[Example] = read_records(Path(path))
    images = {ex.image for ex in examples if ex.image is not None}
    stats: dict[str, Any] = {
        "path": str(path),
        "records": len(examples),
        "by_task": _count(ex.task.value for ex in examples),
        "by_lang": _count(ex.lang for ex in examples),
        "by_split": _count(_split(ex) for ex in examples),
        "unique_images": len(images),
        "text_only": sum(ex.image is None for ex in examples),
        "question_words": _lengths(q for ex in examples for q in _questions(ex)),
        "answer_words": _lengths(a for ex in examples for a in _answers(ex)),
        "yes_no": _yes_no([ex for ex in examples if ex.task is Task.yes_no]),
    }
    if image_root is not None:
        stats["images"] = _check_images(sorted(images), Path(image_root))
    return stats


def _count(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def _split(ex: Example) -> str:
    split = ex.meta.get("split")
    return NO_SPLIT if split is None else str(split)


def _questions(ex: Example) -> list[str]:
    user_turns = [t.content for t in ex.turns or [] if t.role == "user"]
    return ([ex.question] if ex.question else []) + user_turns


def _answers(ex: Example) -> list[str]:
    return ex.answers + [t.content for t in ex.turns or [] if t.role == "assistant"]


def _lengths(texts: Iterable[str]) -> dict[str, float] | None:
    """Mean and median length in words; None when there is no text."""
    words = [len(t.split()) for t in texts]
    if not words:
        return None
    return {"mean": statistics.fmean(words), "median": float(statistics.median(words))}


def _yes_no(examples: list[Example]) -> dict[str, Any] | None:
    """How many yes/no answers say yes, no, or neither, in each example's language."""
    if not examples:
        return None
    counts = Counter(_polarity(ex.answers[0], ex.lang) for ex in examples)
    out: dict[str, Any] = {k: counts[k] for k in ("yes", "no", "other")}
    out["yes_ratio"] = counts["yes"] / len(examples)
    return out


def _polarity(answer: str, lang: str) -> str:
    # Languages without a pack are read with the English words.
    table = LANGUAGES[lang] if lang in LANGUAGES else pack("en")
    word = normalize(answer, lang, lowercase=True, strip_punct=True)
    return "yes" if word in table.yes else "no" if word in table.no else "other"


def _check_images(images: list[str], root: Path) -> dict[str, Any]:
    """Counts of unique images that are missing (or outside the root) and that do not open."""
    if not root.is_dir():
        raise VlmadaptError(f"--image-root {root}: no such folder")
    missing: list[str] = []
    unreadable: list[str] = []
    for rel in images:
        problem = image_problem(root, rel)
        if problem is None:
            continue
        try:
            found = resolve_image(root, rel).is_file()
        except VlmadaptError:
            found = False
        (unreadable if found else missing).append(problem)
    return {
        "checked": len(images),
        "missing": len(missing),
        "unreadable": len(unreadable),
        "problems": (missing + unreadable)[:_SHOWN_PROBLEMS],
    }


def render_stats(stats: dict[str, Any]) -> Any:
    """A rich table of `dataset_stats` output."""
    from rich.table import Table
    from rich.text import Text  # plain text: paths and messages may hold "[...]", which is rich markup

    table = Table(title=Text(f"{stats['path']}: {stats['records']} records"), show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for group in ("by_task", "by_lang", "by_split"):
        table.add_row(group.removeprefix("by_"), ", ".join(f"{k} {v}" for k, v in stats[group].items()))
    table.add_row("images", f"{stats['unique_images']} unique, {stats['text_only']} text-only records")
    for key, label in (("question_words", "question words"), ("answer_words", "answer words")):
        lengths = stats[key]
        shown = f"mean {lengths['mean']:.1f}, median {lengths['median']:g}" if lengths else "-"
        table.add_row(label, shown)
    if stats["yes_no"]:
        yn = stats["yes_no"]
        table.add_row(
            "yes/no", f"yes {yn['yes']}, no {yn['no']}, other {yn['other']}; yes ratio {yn['yes_ratio']:.3f}"
        )
    if "images" in stats:
        im = stats["images"]
        table.add_row(
            "image check", f"{im['checked']} checked, {im['missing']} missing, {im['unreadable']} unreadable"
        )
        for problem in im["problems"]:
            table.add_row("", Text(problem))
    return table
