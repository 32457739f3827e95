"""Post-editing of translated segments: model-output clean-up, then per-language typography.

Every segment is NFC-normalised. Romanian: cedilla ş ţ become comma-below ș ț (the correct letters;
models trained on legacy text emit both). French: the space before ; ! ? : and inside « » becomes the
no-break kind (narrow before ; ! ?, regular no-break before : and inside guillemets, as French
typography asks), and elision apostrophes become one style. Applied after the cache, so changing these
settings never re-translates anything. Written by hand: no maintained library does French typography.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict

from vlmadapt.languages import fold_romanian

NNBSP, NBSP = "\u202f", "\u00a0"
_BEFORE = r"(?<=[\w)\]»”\"'’%])"
_HIGH_PUNCT = re.compile(_BEFORE + r"[ \u00a0\u202f]*([;!?]+)(?=\s|$|[»”\"')\]])")
_COLON = re.compile(_BEFORE + r"[ \u00a0\u202f]*(:)(?=\s|$)")
_OPEN_GUILLEMET = re.compile(r"«[ \u00a0\u202f]*")
_CLOSE_GUILLEMET = re.compile(r"[ \u00a0\u202f]*»")
_ELISION = re.compile(r"(?<=\w)['’](?=\w)")
_THINK = re.compile(r"<think>.*?</think>\s*", re.DOTALL)
_FENCE = re.compile(r"\A```[^\n]*\n(.*?)\n?```\Z", re.DOTALL)
_QUOTES = {'"': '"', "“": "”", "«": "»", "'": "'"}


class PostEditConfig(BaseModel):
    """Typography after translation. `keep` leaves what the model wrote."""

    model_config = ConfigDict(extra="forbid")

    fr_spaces: Literal["nobreak", "plain", "keep"] = "nobreak"
    fr_apostrophe: Literal["typographic", "ascii", "keep"] = "typographic"


def clean_model_output(source: str, text: str) -> str:
    """Strip what chat models wrap around a translation: reasoning blocks, code fences, quotes."""
    text = _THINK.sub("", text).strip()
    fence = _FENCE.match(text)
    if fence and "```" not in source:
        text = fence.group(1).strip()
    if len(text) > 1 and _QUOTES.get(text[0]) == text[-1] and source[:1] != text[0]:
        text = text[1:-1].strip()
    return text


def french(text: str, cfg: PostEditConfig) -> str:
    if cfg.fr_spaces != "keep":
        narrow, wide = (NNBSP, NBSP) if cfg.fr_spaces == "nobreak" else (" ", " ")
        text = _HIGH_PUNCT.sub(lambda m: narrow + m.group(1), text)
        text = _COLON.sub(lambda m: wide + m.group(1), text)
        text = _OPEN_GUILLEMET.sub("«" + wide, text)
        text = _CLOSE_GUILLEMET.sub(wide + "»", text)
    if cfg.fr_apostrophe != "keep":
        text = _ELISION.sub("’" if cfg.fr_apostrophe == "typographic" else "'", text)
    return text


def romanian(text: str, cfg: PostEditConfig) -> str:
    return fold_romanian(text)


POSTEDITORS: dict[str, Callable[[str, PostEditConfig], str]] = {"fr": french, "ro": romanian}


def postedit(text: str, lang: str, cfg: PostEditConfig) -> str:
    """NFC, then the language's rules (none for languages without an entry in POSTEDITORS)."""
    text = unicodedata.normalize("NFC", text)
    rule = POSTEDITORS.get(lang)
    return rule(text, cfg) if rule else text
