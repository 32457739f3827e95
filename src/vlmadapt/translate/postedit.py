"""Post-editing of translated segments: model-output clean-up, then per-language typography.

Every segment is NFC-normalised, then gets its language pack's letter fixes (`normalize.replace`:
Romanian cedilla ş ţ become comma-below ș ț, the correct letters; models trained on legacy text emit
both) and typography. French typography (`normalize.typography: french`): the space before ; ! ? :
and inside « » becomes the no-break kind (narrow before ; ! ?, regular no-break before : and inside
guillemets, as French typography asks), and elision apostrophes become one style. Applied after the
cache, so changing these settings never re-translates anything. Written by hand: no maintained library
does French typography.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict

from vlmadapt.languages import pack

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


def postedit(text: str, lang: str, cfg: PostEditConfig) -> str:
    """NFC, then the language pack's letter fixes and typography."""
    text = unicodedata.normalize("NFC", text)
    rules = pack(lang).normalize
    for old, new in rules.replace.items():
        text = text.replace(old, new)
    return french(text, cfg) if rules.typography == "french" else text
