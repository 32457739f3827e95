"""The JSON the LLM must write, and how a reply is read: fences stripped, parsed, validated.

A reply that does not parse or validate is `Invalid` with the reason (`qa.0.answer: missing required
field`); the caller asks again with the next attempt's decoding, a bounded number of times.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import JsonDict

from vlmadapt.evaluate.answers import parse_yes_no
from vlmadapt.jsonl import validation_problem
from vlmadapt.languages import LANGUAGES

# Parsing ignores extra keys ("type", "difficulty"), but the schema sent for constrained decoding forbids
# them: OpenAI's strict mode requires "additionalProperties": false on every object.
_CLOSED: JsonDict = {"additionalProperties": False}


class QAItem(BaseModel):
    # A number answer (2) is read as text.
    model_config = ConfigDict(
        extra="ignore", str_strip_whitespace=True, coerce_numbers_to_str=True, json_schema_extra=_CLOSED
    )

    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)


class Reply(BaseModel):
    """{"objects": ["un câine", ...], "qa": [{"question": ..., "answer": ...}, ...]}"""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, json_schema_extra=_CLOSED)

    objects: list[str]
    qa: list[QAItem] = Field(min_length=1)


@dataclass(frozen=True)
class Invalid:
    """A reply that cannot be used, and why."""

    reason: str


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def json_text(reply: str) -> str:
    """The JSON object in a reply: inside a code fence if there is one, from the first { to the last }."""
    fenced = _FENCE.search(reply)
    text = fenced.group(1) if fenced else reply
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if 0 <= start < end else text.strip()


def parse_reply(reply: str) -> Reply | Invalid:
    """The validated reply, or why it is not one."""
    text = json_text(reply)
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as e:
        return Invalid(f"not JSON: {e.msg} at column {e.colno}")
    if not isinstance(data, dict):
        return Invalid(f"not a JSON object but a {type(data).__name__}")
    try:
        return Reply.model_validate(data)
    except ValidationError as e:
        field, problem = validation_problem(e)
        return Invalid(f"{field}: {problem}")


def parse_judgment(reply: str) -> Literal["yes", "no"] | Invalid:
    """The judge's yes or no (in English, or in any language with a pack), or Invalid."""
    label = parse_yes_no(reply, "en").label
    for lang in LANGUAGES:
        if label is not None:
            break
        label = parse_yes_no(reply, lang).label
    return label if label is not None else Invalid(f"no yes/no answer: {reply[:80]!r}")


def json_schema() -> dict[str, Any]:
    """The reply's JSON schema, for servers that constrain decoding to it (vLLM `response_format`)."""
    return Reply.model_json_schema()
