"""Training batches: examples -> chat-template prompts -> token ids whose labels are the answers only.

Labels supervise each assistant answer and its end-of-turn marker (`render_with_spans` finds their
characters); prompt, image and padding tokens are -100. TRL's VLM collator supervises prompts and image
tokens, and truncating inside the image tokens breaks the model ("image features and image tokens do not
match"), so here a sample whose image tokens do not fit is rejected, and a long conversation keeps only
the turns that fit whole.

Every example is checked once before training (`check`: answer, image, template, length); rejected ones
are counted and written with their reason. Batches are then built lazily by the collator, in DataLoader
workers. A batch holds either image examples or text-only ones: some processors (Mllama's) cannot mix
them in one call, so `group_batches` forms the batches and the Trainer samples whole batches.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmadapt.errors import ConfigError, VlmadaptError
from vlmadapt.jsonl import Rejects
from vlmadapt.prompts import PromptConfig, conversation_turns
from vlmadapt.records import Example

IGNORE = -100  # label of a token that is not supervised (the loss skips it)


class Rejected(Exception):
    """A training example that cannot be used; the message is the reason written to the rejects file."""


@dataclass(frozen=True)
class Sample:
    """A checked example: its record as JSON (cheap to send to workers) and the turns that fit.

    `check` also keeps what it computed on the way: the row's length in tokens (image tokens included; 0
    when unknown), which length bucketing sorts by, and, when every turn fits, the rendered text with its
    token ids and labels (placeholder not expanded, about a hundred ints in compact arrays), so the
    collator neither renders the template nor tokenises again.
    """

    record: dict[str, Any]
    turns: int
    image: bool
    length: int = 0
    text: str | None = None
    ids: array | None = None
    labels: array | None = None


def example_turns(ex: Example, prompts: PromptConfig) -> list[tuple[str, str]]:
    """(role, text) turns to train on; an empty answer (or assistant turn) is a Rejected."""
    try:
        turns = conversation_turns(ex, prompts)
    except ValueError as e:
        raise Rejected(str(e).split(": ", 1)[-1]) from None
    for role, text in turns:
        if role == "assistant" and not text.strip():
            raise Rejected("empty assistant turn")
    return turns


def image_kwargs(
    processor: Any, family: str, min_pixels: int | None, max_pixels: int | None, extra: dict[str, Any]
) -> dict[str, Any]:
    """Processor call arguments for the resolution caps; a cap the family's processor lacks is an error."""
    image_processor = getattr(processor, "image_processor", None)
    size = dict(getattr(image_processor, "size", None) or {})
    out = dict(extra)
    if min_pixels is not None or max_pixels is not None:
        if not {"shortest_edge", "longest_edge"} <= size.keys():
            raise ConfigError(
                f"data.min_pixels/max_pixels: {family}'s image processor has no pixel budget "
                "(only the Qwen2-VL family has); use data.image_kwargs"
            )
        out["size"] = {
            "shortest_edge": min_pixels or size["shortest_edge"],
            "longest_edge": max_pixels or size["longest_edge"],
        }
    return out


def answer_labels(
    tokenizer: Any, text: str, spans: list[tuple[int, int]], add_special_tokens: bool
) -> tuple[list[int], list[int], list[int]]:
    """(ids, labels, ends) of the rendered text, with one image placeholder not yet expanded.

    A token is supervised when it starts inside an answer span; `ends[k]` is one past the last token of
    answer k.
    """
    enc = tokenizer(text, add_special_tokens=add_special_tokens, return_offsets_mapping=True)
    ids: list[int] = list(enc["input_ids"])
    labels = [IGNORE] * len(ids)
    ends = [0] * len(spans)
    for i, (start, end) in enumerate(enc["offset_mapping"]):
        for k, (a, b) in enumerate(spans):
            if a <= start < b and end > start:
                labels[i] = ids[i]
                ends[k] = i + 1
    if not all(ends):
        raise VlmadaptError("an answer span covers no token; the tokenizer's offsets do not fit the text")
    return ids, labels, ends


def align_labels(row_ids: Any, row_mask: Any, ids: list[int], labels: list[int]) -> Any:
    """Labels for one row of the processor's output, where the image placeholder is expanded to its image
    tokens. Every answer comes after the image, so the answers sit at the same distance from the end
    of the row's tokens; the ids there are checked to be the same."""
    import torch

    valid = torch.nonzero(row_mask).flatten()
    shift = int(valid[-1]) + 1 - len(ids)  # [T_row] = [left pad | expanded prompt | answers | right pad]
    out = torch.full_like(row_ids, IGNORE)
    lab = torch.tensor(labels)
    pos = torch.nonzero(lab != IGNORE).flatten()
    if shift < 0 or not torch.equal(row_ids[pos + shift], lab[pos]):
        raise VlmadaptError(
            "the processor's tokens differ from the tokenizer's after the image; cannot place the labels"
        )
    out[pos + shift] = lab[pos]
    return out


@dataclass
class Collator:
    """Builds a batch from samples: renders, loads images, runs the processor, masks the labels."""

    family: Any  # vlmadapt.models.Family
    processor: Any
    image_root: Path
    prompts: PromptConfig
    system: str | None
    max_length: int
    processor_kwargs: dict[str, Any]

    def render(self, ex: Example, turns: list[tuple[str, str]]) -> tuple[str, list[tuple[int, int]]]:
        from vlmadapt.models import render_with_spans

        return render_with_spans(self.family, self.processor, turns, image=bool(ex.image), system=self.system)

    def add_special_tokens(self, text: str) -> bool:
        bos = self.processor.tokenizer.bos_token
        return not (bos and text.startswith(bos))  # the template wrote BOS already (as `encode` decides)

    def encode(self, texts: list[str], images: list[Any] | None) -> Any:
        from vlmadapt.models import encode

        return encode(self.family, self.processor, texts, images, **self.processor_kwargs)

    def image_token_id(self) -> int:
        return int(self.processor.tokenizer.convert_tokens_to_ids(self.family.image_token))

    def __call__(self, items: list[list[Sample]]) -> dict[str, Any]:
        from vlmadapt.images import load_image

        samples = [s for batch in items for s in batch]  # the Trainer's batch size is 1 (see group_batches)
        texts, images, token_labels = [], [], []
        for s in samples:
            text, ids, labels = self.tokens(s)
            texts.append(text)
            token_labels.append((ids, labels))
            if s.image:
                images.append(load_image(self.image_root, s.record["image"]))
        batch = self.encode(texts, images or None)
        rows = zip(batch["input_ids"], batch["attention_mask"], token_labels, strict=True)
        import torch

        batch["labels"] = torch.stack([align_labels(r, m, ids, lab) for r, m, (ids, lab) in rows])
        if batch["input_ids"].shape[1] > self.max_length:  # `check` keeps this from happening
            raise VlmadaptError(f"a batch is {batch['input_ids'].shape[1]} tokens, over max_length")
        return dict(batch)

    def tokens(self, s: Sample) -> tuple[str, list[int], list[int]]:
        """(text, ids, labels) of a sample: those `check` kept, or rendered and tokenised now."""
        if s.text is not None and s.ids is not None and s.labels is not None:
            return s.text, s.ids.tolist(), s.labels.tolist()
        ex = Example.model_validate(s.record)
        text, spans = self.render(ex, example_turns(ex, self.prompts)[: s.turns])
        ids, labels, _ = answer_labels(self.processor.tokenizer, text, spans, self.add_special_tokens(text))
        return text, ids, labels

    def check(self, ex: Example) -> Sample:
        """The sample to train on, or Rejected with the reason (image, answer, template, length)."""
        from vlmadapt.images import image_problem, load_image

        turns = example_turns(ex, self.prompts)
        if ex.image:
            problem = image_problem(self.image_root, ex.image)
            if problem:
                raise Rejected(problem)
        try:
            text, spans = self.render(ex, turns)
        except VlmadaptError as e:
            raise Rejected(f"chat template: {e}") from None
        ids, labels, ends = answer_labels(
            self.processor.tokenizer, text, spans, self.add_special_tokens(text)
        )
        image = [load_image(self.image_root, ex.image)] if ex.image else None
        row = self.encode([text], image)["input_ids"][0]
        n, shift = len(row), len(row) - len(ids)
        if n <= self.max_length:
            record = ex.model_dump(mode="json")
            return Sample(record, len(turns), bool(ex.image), n, text, array("q", ids), array("q", labels))
        image_pos = (row == self.image_token_id()).nonzero().flatten()
        if len(image_pos) and int(image_pos[-1]) >= self.max_length:
            raise Rejected(
                f"{n} tokens: max_length {self.max_length} would cut inside its "
                f"{len(image_pos)} image tokens (positions {int(image_pos[0])}-{int(image_pos[-1])})"
            )
        tail = len(ids) - ends[-1]  # what the template writes after an answer's end of turn (e.g. "\n")
        need = [end + shift + tail for end in ends]  # the length with the turns through answer k
        fit = [k for k, length in enumerate(need) if length <= self.max_length]
        if not fit:
            raise Rejected(
                f"{n} tokens: over max_length {self.max_length} even with only its first answer "
                f"(which needs {need[0]} tokens)"
            )
        kept = 2 * (fit[-1] + 1)  # turns alternate user/assistant: keep through the last answer that fits
        return Sample(ex.model_dump(mode="json"), kept, bool(ex.image), need[fit[-1]])


def check_all(
    collator: Collator,
    examples: list[Example],
    source: str,
    rejects: Rejects,
    strict: bool,
    num_workers: int = 0,
) -> list[Sample]:
    """Check every example (in DataLoader workers when asked); reject or, with `strict`, stop."""
    samples = []
    for ex, result in zip(examples, _checked(collator, examples, num_workers), strict=True):
        if isinstance(result, Sample):
            samples.append(result)
            continue
        if strict:
            raise VlmadaptError(f"{source}: example {ex.id!r}: {result} (data.strict is on)")
        rejects.add(f"{source}:{ex.id}", result, ex.model_dump(mode="json", exclude_none=True))
    return samples


def _checked(collator: Collator, examples: list[Example], num_workers: int) -> Iterator[Sample | str]:
    if num_workers == 0:
        yield from (_check_one(collator, ex) for ex in examples)
        return
    from torch.utils.data import DataLoader

    checks: Any = _Checks(collator, examples)  # a map-style dataset: __len__ and __getitem__
    yield from DataLoader(checks, batch_size=None, num_workers=num_workers)


@dataclass
class _Checks:
    """A map-style dataset whose items are check results, so DataLoader workers run the checks."""

    collator: Collator
    examples: list[Example]

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> Sample | str:
        return _check_one(self.collator, self.examples[i])


def _check_one(collator: Collator, ex: Example) -> Sample | str:
    try:
        return collator.check(ex)
    except Rejected as e:
        return str(e)


MEGABATCH = 50  # batches per length-sorted window, as transformers' LengthGroupedSampler


def group_batches(
    samples: list[Sample], batch_size: int, seed: int, by_length: bool = False
) -> list[list[Sample]]:
    """Batches of `batch_size` samples that are all with an image or all text-only, in a seeded order.

    With `by_length`, the shuffled samples are sorted by length within windows of 50 batches before they
    are cut into batches (transformers' `group_by_length`), so a batch pads less; the batches are
    shuffled all the same. The Trainer then runs with a batch size of 1 and shuffles these whole batches
    each epoch.
    """
    rng = random.Random(seed)
    out: list[list[Sample]] = []
    window = MEGABATCH * batch_size
    for with_image in (True, False):
        group = [s for s in samples if s.image == with_image]
        rng.shuffle(group)
        if by_length:
            group = [
                s for i in range(0, len(group), window) for s in sorted(group[i : i + window], key=_longest)
            ]
        out.extend(group[i : i + batch_size] for i in range(0, len(group), batch_size))
    rng.shuffle(out)
    return out


def _longest(s: Sample) -> int:
    return -s.length


def padding_share(batches: list[list[Sample]]) -> float:
    """The share of padding in the batches' rows (each padded to its batch's longest sample)."""
    padded = sum(len(b) * max(s.length for s in b) for b in batches if b)
    real = sum(s.length for b in batches for s in b)
    return 1.0 - real / padded if padded else 0.0
