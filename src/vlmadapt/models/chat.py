"""Prompts through the processor's own chat template, and where the answers lie in them.

Every family's template reads the same message format: `{"role", "content": [{"type": "image"},
{"type": "text", "text": ...}]}`, with the image before the text of the first user turn. The template
(the checkpoint's own) decides the rest, so a user's 7B model is prompted exactly as it was trained.

Training needs to know which characters of a rendered conversation to supervise: `render_with_spans`
renders the conversation once and, for each assistant turn, the span from the end of the generation
prompt before it to the end of its end-of-turn marker (answer text + `<|im_end|>`, `<|eot_id|>` or
`</s>`). The spans are found by rendering the prefixes, and checked: a template whose prompt-only
rendering is not a prefix of the rendering with the answer is an error, not a silent mislabelling.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vlmadapt.errors import VlmadaptError
from vlmadapt.models.families import Family

ROLES = ("user", "assistant")


def chat_messages(
    turns: Sequence[tuple[str, str | None]], *, image: bool, system: str | None = None
) -> list[dict[str, Any]]:
    """Messages in content-list format; with `image`, one image placeholder opens the first user turn.

    A turn's text may be None (an image-only user turn, e.g. for captioning models without instruction).
    """
    messages: list[dict[str, Any]] = []
    if system is not None:
        messages.append({"role": "system", "content": [{"type": "text", "text": system}]})
    for i, (role, text) in enumerate(turns):
        content: list[dict[str, Any]] = [] if text is None else [{"type": "text", "text": text}]
        if image and i == 0:
            content.insert(0, {"type": "image"})
        messages.append({"role": role, "content": content})
    return messages


def render(
    family: Family,
    processor: Any,
    turns: Sequence[tuple[str, str | None]],
    *,
    image: bool,
    add_generation_prompt: bool,
    system: str | None = None,
) -> str:
    """The conversation as the processor's chat template writes it (text, with one image placeholder)."""
    _check_turns(family, turns, image=image, system=system)
    messages = chat_messages(turns, image=image, system=system)
    return str(
        processor.apply_chat_template(messages, add_generation_prompt=add_generation_prompt, tokenize=False)
    )


def build_prompt(
    family: Family,
    processor: Any,
    question: str | None,
    *,
    image: bool,
    answer: str | None = None,
    system: str | None = None,
) -> str:
    """One user question (with or without an image): the generation prompt, or with `answer` the full turn."""
    turns: list[tuple[str, str | None]] = [("user", question)]
    if answer is not None:
        turns.append(("assistant", answer))
    return render(family, processor, turns, image=image, add_generation_prompt=answer is None, system=system)


def render_with_spans(
    family: Family,
    processor: Any,
    turns: Sequence[tuple[str, str]],
    *,
    image: bool,
    system: str | None = None,
) -> tuple[str, list[tuple[int, int]]]:
    """(text, [(start, end), ...]): the rendered conversation and each assistant turn's character span.

    A span covers what the model must produce after the template's generation prompt: the answer and the
    end-of-turn marker, not the whitespace the template writes after it.
    """
    full = render(family, processor, turns, image=image, add_generation_prompt=False, system=system)
    spans = []
    for k, (role, _) in enumerate(turns):
        if role != "assistant":
            continue
        before = render(family, processor, turns[:k], image=image, add_generation_prompt=True, system=system)
        through = render(
            family, processor, turns[: k + 1], image=image, add_generation_prompt=False, system=system
        )
        if not (through.startswith(before) and full.startswith(through)):
            raise VlmadaptError(
                f"{family.name}: the chat template's prompt for turn {k} is not a prefix of the rendering "
                "with the answer, so the answer tokens cannot be located; use a template that renders "
                "earlier turns the same way whatever follows"
            )
        spans.append((len(before), len(through.rstrip())))
    return full, spans


def encode(
    family: Family, processor: Any, texts: list[str], images: list[Any] | None = None, **kwargs: Any
) -> Any:
    """Tokenise rendered prompts (and their images, one per text) with the processor, as tensors.

    Like transformers' own `apply_chat_template(tokenize=True)`, BOS is not added again when the template
    already wrote it (Llama 3, Mistral-instruct); Mllama's processor gets one image list per sample.
    """
    tokenizer = processor.tokenizer
    bos = tokenizer.bos_token
    kwargs.setdefault("add_special_tokens", not (bos and texts and texts[0].startswith(bos)))
    kwargs.setdefault("return_tensors", "pt")
    kwargs.setdefault("padding", True)
    if images is not None:
        if len(images) != len(texts):
            raise ValueError(f"{len(images)} images for {len(texts)} texts; give one image per text")
        kwargs["images"] = [[im] for im in images] if family.nested_images else list(images)
    return processor(text=texts, **kwargs)


def _check_turns(
    family: Family, turns: Sequence[tuple[str, str | None]], *, image: bool, system: str | None
) -> None:
    for i, (role, _) in enumerate(turns):
        if role != ROLES[i % 2]:
            raise VlmadaptError(
                f"turn {i} has role {role!r}; a conversation alternates user and assistant turns, "
                "starting with the user"
            )
    if image and system is not None and not family.system_with_image:
        raise VlmadaptError(
            f"{family.name}: its chat template does not accept a system message in a conversation with "
            "an image; drop the system message or put its text in the first user turn"
        )
