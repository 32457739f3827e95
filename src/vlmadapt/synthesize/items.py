"""From one image's captions and the LLM's reply to the QA items worth keeping, and the objects it names.

Each QA item passes, in order: no mention of the captions; the target language (lingua, as the
fidelity metric identifies it); grounding (lexical here, or the judge's verdict applied later); no near
duplicate of an earlier question of the same image. What fails goes to the rejects with its reason.
An answer that starts with a yes/no word ("Da, există un câine.") makes a yes/no item; a "yes" needs
every content word of its question (and of its answer) in the captions, a "no" at least one (the thing
asked about).
Objects must be indefinite noun phrases ("un câine") whose words all occur in the captions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from vlmadapt.evaluate.answers import fold, parse_yes_no
from vlmadapt.evaluate.fidelity import identify
from vlmadapt.jsonl import Rejects
from vlmadapt.languages import language, pack
from vlmadapt.synthesize.config import SynthesizeConfig
from vlmadapt.synthesize.llm import Answer
from vlmadapt.synthesize.schema import Reply
from vlmadapt.synthesize.text import (
    caption_vocabulary,
    content_words,
    mentions_captions,
    near_duplicate,
    ungrounded,
)
from vlmadapt.translate.postedit import postedit

YesNo = Literal["yes", "no"]


@dataclass(frozen=True)
class ImageGroup:
    """One image and its captions (from one or several caption records)."""

    image: str
    prefix: str  # output ids are f"{prefix}-qa-{j}", f"{prefix}-yes-{j}", f"{prefix}-no-{j}"
    captions: tuple[str, ...]
    caption_ids: tuple[str, ...]
    split: str | None = None


@dataclass(frozen=True)
class Obj:
    text: str  # the indefinite noun phrase, as the question will carry it ("un câine")
    key: tuple[str, ...]  # its folded content words ("caine",): the same object across images


@dataclass
class Item:
    index: int  # position in the LLM's list: the id suffix, stable whatever else is dropped
    question: str
    answer: str
    label: YesNo | None  # a yes/no item
    lang_id: dict[str, str | None] = field(default_factory=dict)  # set when flagged as another language


@dataclass
class Screened:
    group: ImageGroup
    attempts: int
    items: list[Item]
    objects: list[Obj]
    failed: str | None = None  # why the image has no items (its reply never validated)
    objects_dropped: int = 0  # listed objects that were not grounded indefinite noun phrases, or repeats
    vocabulary: frozenset[str] = frozenset()


def screen(group: ImageGroup, answer: Answer[Reply], cfg: SynthesizeConfig, rejects: Rejects) -> Screened:
    """The items and objects of one image that pass the checks done without the judge."""
    if answer.value is None:
        failed = f"invalid_reply: {answer.error} (after {answer.attempts} attempts)"
        rejects.add(group.image, failed, {"captions": list(group.caption_ids), "reply": answer.raw[:2000]})
        return Screened(group, answer.attempts, [], [], failed=failed)
    vocab = caption_vocabulary(group.captions, cfg.target)
    items = []
    for index, qa in enumerate(answer.value.qa[: cfg.per_image]):
        item = _item(index, qa.question, qa.answer, cfg)
        reason = _problem(item, vocab, cfg)
        if reason:
            rejects.add(group.image, reason, reject_record(group, item, answer.attempts))
        else:
            items.append(item)
    objects = objects_of(answer.value.objects, vocab, cfg)
    dropped = len(answer.value.objects) - len(objects)
    return Screened(group, answer.attempts, items, objects, vocabulary=vocab, objects_dropped=dropped)


def _item(index: int, question: str, answer: str, cfg: SynthesizeConfig) -> Item:
    question, answer = (postedit(t, cfg.target, cfg.postedit) for t in (question, answer))
    parsed = parse_yes_no(answer, cfg.target)
    label = parsed.label if parsed.rule == "leading" else None  # "Nu există" alone is no clear verdict
    return Item(index, question, answer, label)


def _problem(item: Item, vocab: frozenset[str], cfg: SynthesizeConfig) -> str | None:
    """Why the item is rejected before judging and dedupe, or None (a flagged language is noted on it)."""
    if mentions_captions(item.question, cfg.target) or mentions_captions(item.answer, cfg.target):
        return "mentions_captions: talks about the descriptions, not the image"
    if cfg.language_check != "off":
        wrong = _other_language(item, cfg)
        if wrong and cfg.language_check == "drop":
            return "language: " + ", ".join(f"{k} is {v!r}" for k, v in wrong.items())
        item.lang_id = wrong
    if cfg.grounding == "lexical":
        return lexical_problem(item, vocab, cfg.target)
    return None


def _other_language(item: Item, cfg: SynthesizeConfig) -> dict[str, str | None]:
    if not pack(cfg.target).lingua:  # lingua does not know the language: nothing to check against
        return {}
    candidates = tuple(c for c in dict.fromkeys([*cfg.language_candidates, cfg.target]) if pack(c).lingua)
    found = {k: identify(getattr(item, k), candidates, min_words=3) for k in ("question", "answer")}
    return {k: v for k, v in found.items() if v is not None and v != cfg.target}


def lexical_problem(item: Item, vocab: frozenset[str], lang: str) -> str | None:
    """Why the captions do not support the item word for word, or None."""
    if item.label is None:
        words = content_words(item.answer, lang)
        missing = ungrounded(item.answer, vocab, lang)
    elif item.label == "yes":  # the question and whatever the answer adds ("Da, pe plajă.")
        words = content_words(item.question, lang)
        missing = ungrounded(item.question, vocab, lang) + ungrounded(item.answer, vocab, lang)
    else:
        words = content_words(item.question, lang)
        missing = ungrounded(item.question, vocab, lang)
        if len(missing) < len(words):
            missing = []  # a "no" about something the captions name: its details may well be wrong
    if not words:
        return "ungrounded: no content word to check against the captions"
    if missing:
        return f"ungrounded: not in the captions: {', '.join(dict.fromkeys(missing))}"
    return None


def objects_of(texts: list[str], vocab: frozenset[str], cfg: SynthesizeConfig) -> list[Obj]:
    """Indefinite noun phrases whose words all occur in the captions, one per object."""
    articles = {fold(a) for a in language(cfg.target).synthesis.indefinite_articles}
    seen: dict[tuple[str, ...], Obj] = {}
    for raw in texts:
        text = postedit(raw.strip().rstrip("."), cfg.target, cfg.postedit)
        text = text[:1].lower() + text[1:] if text[1:2].islower() else text
        first = fold(text).split(" ", 1)[0]
        key = tuple(content_words(text, cfg.target))
        if first in articles and key and not ungrounded(text, vocab, cfg.target):
            seen.setdefault(key, Obj(text, key))
    return list(seen.values())


def drop_duplicates(screened: Screened, cfg: SynthesizeConfig, rejects: Rejects) -> None:
    """Keep the first of each group of near-duplicate questions of one image."""
    kept: list[Item] = []
    for item in screened.items:
        twin = near_duplicate(
            item.question, [k.question for k in kept], cfg.target, cfg.dedupe.method, cfg.dedupe.threshold
        )
        if twin is None:
            kept.append(item)
        else:
            record = reject_record(screened.group, item, screened.attempts)
            rejects.add(screened.group.image, f"duplicate: of {twin!r}", record)
    screened.items = kept


def reject_record(group: ImageGroup, item: Item, attempts: int) -> dict[str, Any]:
    """What a rejects line keeps of a dropped item: its would-be id, the pair, its captions, the attempts."""
    return {
        "id": f"{group.prefix}-qa-{item.index}",
        "question": item.question,
        "answer": item.answer,
        "captions": list(group.caption_ids),
        "attempts": attempts,
    }
