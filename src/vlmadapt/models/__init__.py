"""VLM families: registry, loading, chat prompts and tiny offline fixtures.

Importing this package is cheap: torch and transformers load inside the functions that need them.
"""

from vlmadapt.models.chat import build_prompt, chat_messages, encode, render, render_with_spans
from vlmadapt.models.families import FAMILIES, Family, get_family
from vlmadapt.models.load import (
    detect_family,
    group_of,
    language_model,
    load_model,
    param_groups,
    read_config,
)
from vlmadapt.models.tiny import build_tiny

__all__ = [
    "FAMILIES",
    "Family",
    "build_prompt",
    "build_tiny",
    "chat_messages",
    "detect_family",
    "encode",
    "get_family",
    "group_of",
    "language_model",
    "load_model",
    "param_groups",
    "read_config",
    "render",
    "render_with_spans",
]
