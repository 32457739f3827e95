"""What the LLM is asked: the QA-writing prompt, the grounding judge's prompt, and the yes/no templates.

The system prompts are formatted by the chat backends (`llm.chat.chat_messages`), which
fill ``{target}`` with the language's name; literal braces are doubled. The user message is built here
and passed whole as the backend's ``{text}``.
"""

from __future__ import annotations

from collections.abc import Sequence

SYSTEM_PROMPT = """\
You write training data for a visual question answering model in {target}. You are given several \
descriptions of one image; you never see the image itself.
Write question-answer pairs that a person looking at the image could answer, using only facts the \
descriptions state: objects, people, animals, actions, colours, counts, places.
Rules:
- Write every question and every answer in {target}.
- Ask about the image itself; never mention the descriptions, captions or text.
- Keep answers short (a word or a short phrase) and use the words of the descriptions.
- Do not ask two questions with the same meaning.
- List the objects, people and animals the descriptions name, each as a singular indefinite noun \
phrase in {target}, with its article.
Reply with one JSON object and nothing else, in this form:
{{"objects": ["<indefinite noun phrase>", ...], "qa": [{{"question": "...", "answer": "..."}}, ...]}}"""

JUDGE_PROMPT = """\
You check question-answer pairs against descriptions of an image. Answer "yes" when the descriptions \
state or clearly imply the answer, and "no" otherwise. Reply with yes or no only."""


def generation_message(captions: Sequence[str], n: int, language: str) -> str:
    """The user turn asking for `n` QA pairs about one image, with its captions listed."""
    listed = "\n".join(f"- {c.strip()}" for c in captions)
    ask = "one question-answer pair" if n == 1 else f"{n} question-answer pairs"
    return f"Descriptions of one image:\n{listed}\n\nWrite {ask} in {language}."


def judge_message(captions: Sequence[str], question: str, answer: str) -> str:
    """The user turn asking whether the captions support one answer."""
    listed = "\n".join(f"- {c.strip()}" for c in captions)
    return (
        f"Descriptions of one image:\n{listed}\n\nQuestion: {question}\nAnswer: {answer}\n\n"
        "Do the descriptions support this answer? Reply yes or no."
    )
