"""The records every stage reads and writes: examples and predictions.

An **example** is one item of a dataset in one language::

    {"id": "pope-random-1", "image": "COCO_val2014_000000310196.jpg", "task": "yes_no",
     "question": "Is there a snowboard in the image?", "answers": ["yes"], "lang": "en",
     "meta": {"split": "random"}}

Fields (see README "Records" for the full table):

- ``id``: unique within a file.
- ``image``: path relative to the image root, or null for text-only items.
- ``task``: ``caption`` | ``open_vqa`` | ``yes_no`` | ``multiple_choice`` | ``conversation``.
- ``question``: the prompt (null for captions and conversations).
- ``turns``: for conversations, alternating ``{"role": "user"|"assistant", "content": ...}``.
- ``answers``: one or more reference answers (captions: the references; yes/no: "yes"/"no" in ``lang``).
- ``choices`` / ``answer_index``: for multiple choice.
- ``lang``: ISO 639-1 code of the text in this record.
- ``source``: the same texts in the source language when this record is a translation.
- ``meta``: free metadata (split, hint, original ids, ...).

A **prediction** is one model output for one example id, with what produced it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Task(StrEnum):
    caption = "caption"
    open_vqa = "open_vqa"
    yes_no = "yes_no"
    multiple_choice = "multiple_choice"
    conversation = "conversation"


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str


class SourceText(BaseModel):
    """The source-language texts of a translated record, field for field."""

    model_config = ConfigDict(extra="forbid")

    lang: str
    question: str | None = None
    answers: list[str] = Field(default_factory=list)
    choices: list[str] | None = None
    turns: list[Turn] | None = None


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    task: Task
    lang: str = Field(min_length=2, max_length=8)
    image: str | None = None
    question: str | None = None
    turns: list[Turn] | None = None
    answers: list[str] = Field(default_factory=list)
    choices: list[str] | None = None
    answer_index: int | None = None
    source: SourceText | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fits_task(self) -> Example:
        problem = _task_problem(self)
        if problem:
            raise ValueError(problem)
        return self


def _task_problem(ex: Example) -> str | None:
    """Why the fields do not fit the task, or None. Kept as one table so the rules read in one place."""
    t = ex.task
    if t is Task.conversation:
        if not ex.turns:
            return "a conversation needs non-empty 'turns'"
        if ex.turns[-1].role != "assistant":
            return "a conversation must end with an assistant turn"
        return None
    if t is Task.caption:
        return None if ex.answers else "a caption example needs at least one reference in 'answers'"
    if not ex.question:
        return f"a {t.value} example needs a non-empty 'question'"
    if t is Task.multiple_choice:
        if not ex.choices or len(ex.choices) < 2:
            return "a multiple_choice example needs at least two 'choices'"
        if ex.answer_index is not None and not 0 <= ex.answer_index < len(ex.choices):
            return f"'answer_index' {ex.answer_index} is outside the {len(ex.choices)} choices"
        return None
    if t is Task.yes_no and len(ex.answers) != 1:
        return "a yes_no example needs exactly one answer in 'answers'"
    return None


class Prediction(BaseModel):
    """One model output. ``error`` is set (and ``prediction`` null) when the example could not be run."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    prediction: str | None = None
    error: str | None = None
    model: str | None = None
    adapter: str | None = None
    prompt: str | None = None
    generation: dict[str, Any] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _output_or_error(self) -> Prediction:
        if self.prediction is None and not self.error:
            raise ValueError("a prediction needs 'prediction' or, when the example failed, 'error'")
        return self
