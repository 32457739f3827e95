"""Task prompts per language: how an example's question becomes the user message.

Training and prediction render prompts through the same function, so an adapter is asked at test time
exactly as it was taught. The templates are editable in a recipe (`prompts:` mapping task -> lang ->
template); placeholders are ``{question}``, ``{options}`` and ``{hint}``.
"""

from __future__ import annotations

import string

from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.errors import ConfigError
from vlmadapt.languages import LANGUAGES, pack
from vlmadapt.records import Example, Task

LETTERS = string.ascii_uppercase

TASKS = ("yes_no", "multiple_choice", "caption", "open_vqa")


def default_template(task: str, lang: str) -> str | None:
    """The template the language's pack gives for `task` (`prompts:` in the pack), or None."""
    return getattr(pack(lang).prompts, task, None) if task in TASKS else None


class PromptConfig(BaseModel):
    """Per-task, per-language templates; anything not given falls back to the language pack's prompts."""

    model_config = ConfigDict(extra="forbid")

    templates: dict[str, dict[str, str]] = Field(default_factory=dict)

    def template(self, task: str, lang: str) -> str:
        given = self.templates.get(task, {}).get(lang) or default_template(task, lang)
        if given is not None:
            return given
        known = [code for code in LANGUAGES if default_template(task, code)]
        raise ConfigError(
            f"prompts.templates.{task}: no template for language {lang!r} (language packs with one: "
            f"{', '.join(known)}); add one under prompts.templates.{task}.{lang} in the recipe, or "
            f"prompts.{task} to the language's pack"
        )


def options_block(choices: list[str]) -> str:
    return "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(choices))


def user_prompt(example: Example, prompts: PromptConfig | None = None) -> str:
    """The user message for a single-turn example (all tasks but conversation)."""
    if example.task is Task.conversation:
        raise ValueError("conversations carry their own turns; use conversation_turns()")
    prompts = prompts or PromptConfig()
    hint = example.meta.get("hint") or ""
    return prompts.template(example.task.value, example.lang).format(
        question=example.question or "",
        options=options_block(example.choices or []),
        hint=(pack(example.lang).prompts.hint or "{}\n").format(hint) if hint else "",
    )


def target_answer(example: Example) -> str:
    """The answer a model is trained to give: the option letter for multiple choice, else the first answer."""
    if example.task is Task.multiple_choice:
        if example.answer_index is None:
            raise ValueError(f"example {example.id}: multiple choice without answer_index")
        return LETTERS[example.answer_index]
    if not example.answers or not example.answers[0].strip():
        raise ValueError(f"example {example.id}: empty answer")
    return example.answers[0]


def conversation_turns(example: Example, prompts: PromptConfig | None = None) -> list[tuple[str, str]]:
    """(role, text) turns of any example: conversations as they are, other tasks as prompt + answer."""
    if example.task is Task.conversation:
        return [(t.role, t.content) for t in example.turns or []]
    return [("user", user_prompt(example, prompts)), ("assistant", target_answer(example))]
