"""The records one image yields, and the summary of a finished output: counts, yes-ratio, task mix."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vlmadapt.jsonl import iter_jsonl
from vlmadapt.languages import language
from vlmadapt.records import Example, Task
from vlmadapt.synthesize.balance import Absent, object_question
from vlmadapt.synthesize.config import SynthesizeConfig
from vlmadapt.synthesize.items import ImageGroup, Item, Obj, Screened


def image_records(
    screened: Screened, present: Sequence[Obj], absent: Sequence[Absent], cfg: SynthesizeConfig
) -> list[Example]:
    """Generated items first (open VQA, or yes/no), then the present and the absent object questions."""
    group, words = screened.group, language(cfg.target)
    out = [_generated(group, item, screened.attempts, cfg.target) for item in screened.items]
    for j, obj in enumerate(present):
        about = {"kind": "present", "object": obj.text}
        out.append(_yes_no(group, f"yes-{j}", object_question(obj, cfg), words.yes[0], about, cfg.target))
    for j, a in enumerate(absent):
        about = {"kind": "absent", "object": a.obj.text, "sampling": a.sampling}
        out.append(_yes_no(group, f"no-{j}", object_question(a.obj, cfg), words.no[0], about, cfg.target))
    return out


def _meta(group: ImageGroup, synthesis: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"synthesis": {**synthesis, "captions": list(group.caption_ids)}}
    if group.split is not None:
        meta["split"] = group.split  # a QA item stays in its image's split
    return meta


def _generated(group: ImageGroup, item: Item, attempts: int, lang: str) -> Example:
    about: dict[str, Any] = {"kind": "generated", "item": item.index, "attempts": attempts}
    if item.lang_id:
        about["lang_id"] = item.lang_id
    if item.label is not None:
        about["answer"] = item.answer  # the full answer; `answers` holds the bare yes/no word
        word = language(lang).yes[0] if item.label == "yes" else language(lang).no[0]
        return _yes_no(group, f"qa-{item.index}", item.question, word, about, lang)
    return Example(
        id=f"{group.prefix}-qa-{item.index}",
        task=Task.open_vqa,
        lang=lang,
        image=group.image,
        question=item.question,
        answers=[item.answer],
        meta=_meta(group, about),
    )


def _yes_no(
    group: ImageGroup, suffix: str, question: str, answer: str, about: dict[str, Any], lang: str
) -> Example:
    return Example(
        id=f"{group.prefix}-{suffix}",
        task=Task.yes_no,
        lang=lang,
        image=group.image,
        question=question,
        answers=[answer],
        meta=_meta(group, about),
    )


def summarize(
    output: Path, lang: str, screened: Sequence[Screened], reject_reasons: Sequence[str]
) -> dict[str, Any]:
    """Counts over the whole output file (earlier, resumed runs included) and this run's rejects."""
    tasks: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    sampling: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    yes, no = language(lang).yes[0], language(lang).no[0]
    for _, raw in iter_jsonl(output) if output.exists() else []:
        about = raw.get("meta", {}).get("synthesis", {})
        tasks[raw["task"]] += 1
        kinds[about.get("kind", "?")] += 1
        if "sampling" in about:
            sampling[about["sampling"]] += 1
        if raw["task"] == Task.yes_no:
            answers["yes" if raw["answers"] == [yes] else "no" if raw["answers"] == [no] else "other"] += 1
    decided = answers["yes"] + answers["no"]
    return {
        "images": len(screened),
        "images_failed": sum(s.failed is not None for s in screened),
        "records": sum(tasks.values()),
        "tasks": dict(sorted(tasks.items())),
        "kinds": dict(sorted(kinds.items())),
        "sampling": dict(sorted(sampling.items())),
        "yes": answers["yes"],
        "no": answers["no"],
        "yes_ratio": round(answers["yes"] / decided, 4) if decided else None,
        "objects": sum(len(s.objects) for s in screened),
        "objects_dropped": sum(s.objects_dropped for s in screened),
        "rejects": dict(sorted(Counter(r.split(":", 1)[0] for r in reject_reasons).items())),
    }


def render_summary(summary: dict[str, Any]) -> Any:
    """A rich table of the summary, for the CLI."""
    from rich.table import Table

    table = Table(title=f"{summary['records']} QA records from {summary['images']} images", show_header=False)
    ratio = summary["yes_ratio"]
    rows = {
        "tasks": _pairs(summary["tasks"]),
        "made": _pairs(summary["kinds"]),
        "absent sampling": _pairs(summary["sampling"]),
        "yes/no": f"yes {summary['yes']}, no {summary['no']}; yes ratio "
        + ("-" if ratio is None else f"{ratio:.3f}"),
        "images failed": str(summary["images_failed"]),
        "rejected items": _pairs(summary["rejects"]) or "0",
        "requests": f"{summary['requests']} to the model, {summary['cached']} from the cache",
    }
    for name, value in rows.items():
        table.add_row(name, value)
    return table


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())
