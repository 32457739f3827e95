"""Post-editing of translated segments: per-language letter fixes and typography.

Every segment is NFC-normalised, then gets its language pack's letter fixes (`normalize.replace`:
Romanian cedilla ş ţ become comma-below ș ț, the correct letters; models trained on legacy text emit
both) and typography. French typography (`normalize.typography: french`): the space before ; ! ? :
and inside « » becomes the no-break kind (narrow before ; ! ?, regular no-break before : and inside
guillemets, as French typography asks), and elision apostrophes become one style. Applied after the
cache, so changing these settings never re-translates anything. What chat models wrap around a reply
(reasoning blocks, code fences, quotes) the backends have already stripped (`llm.chat.clean_model_output`).
Written by hand: no maintained library does French typography.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.languages import pack

NNBSP, NBSP = "\u202f", "\u00a0"
_BEFORE = r"(?<=[\w)\]»”\"'’%])"
_HIGH_PUNCT = re.compile(_BEFORE + r"[ \u00a0\u202f]*([;!?]+)(?=\s|$|[»”\"')\]])")
_COLON = re.compile(_BEFORE + r"[ \u00a0\u202f]*(:)(?=\s|$)")
_OPEN_GUILLEMET = re.compile(r"«[ \u00a0\u202f]*")
_CLOSE_GUILLEMET = re.compile(r"[ \u00a0\u202f]*»")
_ELISION = re.compile(r"(?<=\w)['’](?=\w)")


class PostEditConfig(BaseModel):
    """Typography after translation. `keep` leaves what the model wrote."""

    model_config = ConfigDict(extra="forbid")

    fr_spaces: Literal["nobreak", "plain", "keep"] = Field(
        default="nobreak", description="French: the space before ; : ! ? and inside guillemets."
    )
    fr_apostrophe: Literal["typographic", "ascii", "keep"] = Field(
        default="typographic", description="French: the apostrophe, ’ or '."
    )


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
