"""Task prompts per language: how an example's question becomes the user message.

Training and prediction render prompts through the same function, so an adapter is asked at test time
exactly as it was taught. The templates are editable in a recipe (`prompts:` mapping task -> lang ->
template); placeholders are ``{question}``, ``{options}`` and ``{hint}``.
"""

from __future__ import annotations

import string

from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.errors import ConfigError
from vlmadapt.records import Example, Task

LETTERS = string.ascii_uppercase

DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "yes_no": {
        "en": "{question} Answer yes or no.",
        "fr": "{question} Répondez par oui ou par non.",
        "ro": "{question} Răspundeți cu da sau nu.",
    },
    "multiple_choice": {
        "en": "{hint}{question}\nOptions:\n{options}\nAnswer with the option's letter.",
        "fr": "{hint}{question}\nOptions :\n{options}\nRépondez avec la lettre de la bonne option.",
        "ro": "{hint}{question}\nVariante:\n{options}\nRăspundeți cu litera variantei corecte.",
    },
    "caption": {
        "en": "Describe the image in one sentence.",
        "fr": "Décrivez l'image en une phrase.",
        "ro": "Descrieți imaginea într-o propoziție.",
    },
    "open_vqa": {"en": "{question}", "fr": "{question}", "ro": "{question}"},
}
_HINT = {"en": "Context: {}\n", "fr": "Contexte : {}\n", "ro": "Context: {}\n"}


class PromptConfig(BaseModel):
    """Per-task, per-language templates; anything not given falls back to DEFAULT_TEMPLATES."""

    model_config = ConfigDict(extra="forbid")

    templates: dict[str, dict[str, str]] = Field(default_factory=dict)

    def template(self, task: str, lang: str) -> str:
        for source in (self.templates, DEFAULT_TEMPLATES):
            if lang in source.get(task, {}):
                return source[task][lang]
        known = sorted(DEFAULT_TEMPLATES.get(task, {}))
        raise ConfigError(
            f"prompts.templates.{task}: no template for language {lang!r} (built in: "
            f"{', '.join(known)}); add one under prompts.templates.{task}.{lang} in the recipe"
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
        hint=_HINT.get(example.lang, "{}\n").format(hint) if hint else "",
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
