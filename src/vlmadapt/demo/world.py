"""The demo's data: the toy world's splits per task, a phrasebook for translate-test, and noisy MT.

`phrasebook` reads the world's parallel records the way a translation memory would: each target-language
question with its English source, and each English answer with the target-language answer it most often
translates to. Word by word, out of context, as an MT system sees a one-word answer, so "red" comes back
as "roșu" even for a feminine noun ("o stea roșie"): translate-test's known loss on agreement.

`add_mt_noise` stands in for a machine translation of the training set that was not audited: a share of
the records keeps its English answer (left untranslated) or gets another record's answer of the same
kind (a fluent mistranslation), the two error types the French study's audit found most often.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from pathlib import Path

from vlmadapt.jsonl import read_records, write_jsonl
from vlmadapt.records import Example, Task


def split_by_task(records: Path, out_dir: Path, split: str) -> dict[Task, Path]:
    """One reference file per task for `split`, beside the images (so image paths stay relative)."""
    by_task: dict[Task, list[Example]] = defaultdict(list)
    for ex in read_records(records, Example):
        if ex.meta.get("split") == split:
            by_task[ex.task].append(ex)
    return {
        task: write_jsonl(out_dir / f"{split}.{task.value}.{records.stem}.jsonl", rows)
        for task, rows in sorted(by_task.items(), key=lambda kv: kv[0].value)
    }


def phrasebook(target_records: Path, lang: str, out: Path) -> Path:
    """A two-way phrasebook (sections `<lang>-en` and `en-<lang>`) from the world's parallel records."""
    questions: dict[str, str] = {}
    answers: dict[str, Counter[str]] = defaultdict(Counter)
    for ex in read_records(target_records, Example):
        if ex.source is None:
            continue
        if ex.question and ex.source.question:
            questions[ex.question] = ex.source.question
        for english, translated in zip(ex.source.answers or [], ex.answers, strict=False):
            answers[english][translated] += 1
    book = {
        f"{lang}-en": questions,
        f"en-{lang}": {english: counts.most_common(1)[0][0] for english, counts in sorted(answers.items())},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(book, ensure_ascii=False, indent=1), encoding="utf-8")
    return out


def add_mt_noise(records: Path, share: float, seed: int, out: Path) -> tuple[Path, dict[str, int]]:
    """Corrupt `share` of the training records' translations; returns the file and counts per error."""
    rng = random.Random(seed)
    rows = list(read_records(records, Example))
    pool: dict[str, list[str]] = defaultdict(list)  # answers of each question kind, to mistranslate into
    for ex in rows:
        pool[str(ex.meta.get("kind", ex.task.value))].append(ex.answers[0])
    counts: Counter[str] = Counter()
    noisy = []
    for ex in rows:
        if ex.meta.get("split") != "train" or ex.source is None or rng.random() >= share:
            noisy.append(ex)
            continue
        kind = str(ex.meta.get("kind", ex.task.value))
        wrong = [a for a in pool[kind] if a != ex.answers[0]]
        if rng.random() < 0.5 or not wrong:
            error, answers = "untranslated", list(ex.source.answers or ex.answers)
        else:
            error, answers = "mistranslated", [rng.choice(wrong)]
        counts[error] += 1
        noisy.append(ex.model_copy(update={"answers": answers, "meta": {**ex.meta, "mt_noise": error}}))
    return write_jsonl(out, noisy), dict(counts)


def training_file(records: Path, out: Path, tasks: tuple[Task, ...]) -> Path:
    """The training split's records of `tasks` only."""
    rows = [
        ex for ex in read_records(records, Example) if ex.meta.get("split") == "train" and ex.task in tasks
    ]
    return write_jsonl(out, rows)


def conversations(records: Path, out: Path, seed: int) -> Path:
    """The training split as one conversation per image: its caption request and every question, in a
    seeded order (LLaVA's instruction data is multi-turn in the same way).

    One pass over an image's tokens then supervises all of its answers, so a CPU minute teaches about
    three times as many answers as single-question samples would.
    """
    from vlmadapt.prompts import conversation_turns
    from vlmadapt.records import Turn

    rng = random.Random(seed)
    by_image: dict[str, list[Example]] = defaultdict(list)
    for ex in read_records(records, Example):
        if ex.meta.get("split") == "train" and ex.image:
            by_image[ex.image].append(ex)
    rows = []
    for image, items in by_image.items():
        rng.shuffle(items)
        turns = [
            Turn.model_validate({"role": role, "content": text})
            for ex in items
            for role, text in conversation_turns(ex)
        ]
        rows.append(
            Example(
                id=f"{Path(image).stem}-chat",
                task=Task.conversation,
                lang=items[0].lang,
                image=image,
                turns=turns,
                meta={"split": "train", "world": "toy"},
            )
        )
    return write_jsonl(out, rows)
