"""The language codes each MT model family needs, found from the tokenizer's vocabulary and the language
packs (`mt:` in a pack: flores, iso3, m2m100, madlad).

==============================  =====================================================================
family                          how the target language is chosen
==============================  =====================================================================
Marian multi-target (OPUS-MT)   a ``>>ron<<`` / ``>>ro<<`` token in front of the source text
MADLAD-400 (T5)                 a ``<2ro>`` token in front of the source text
NLLB-200                        ``tokenizer.src_lang = "eng_Latn"``; ``forced_bos_token_id`` = ``ron_Latn``
M2M100                          ``tokenizer.src_lang = "en"``; ``forced_bos_token_id`` = ``__ro__``
bilingual Marian (en-fr, ...)   nothing: the model has one direction
==============================  =====================================================================

``backend.source_code`` / ``backend.target_code`` override the codes (a FLORES code for NLLB, a
``>>xxx<<`` token's inner code for Marian, the bare code for MADLAD and M2M100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmadapt.errors import VlmadaptError
from vlmadapt.languages import pack


@dataclass(frozen=True)
class LanguageCodes:
    """What to add to a batch so the model translates from source into target."""

    family: str
    prefix: str = ""  # prepended to every source text
    src_lang: str | None = None  # set on the tokenizer before encoding
    forced_bos_token_id: int | None = None  # first decoder token


def language_codes(
    tokenizer: Any,
    model_name: str,
    source: str,
    target: str,
    source_code: str | None,
    target_code: str | None,
) -> LanguageCodes:
    """The codes for `tokenizer`'s family; an error names the model and the missing code."""
    vocab = tokenizer.get_vocab()
    if any(t.startswith(">>") and t.endswith("<<") for t in vocab):
        return _marian(vocab, model_name, target, target_code)
    if any(t.startswith("<2") and t.endswith(">") for t in vocab):
        token = f"<2{target_code or pack(target).mt.madlad or target}>"
        _need(token, vocab, model_name, "MADLAD-400 target token")
        return LanguageCodes("madlad", prefix=f"{token} ")
    if "eng_Latn" in vocab:
        src, tgt = source_code or pack(source).mt.flores, target_code or pack(target).mt.flores
        for code, side in ((src, source), (tgt, target)):
            if code is None:
                raise VlmadaptError(
                    f"{model_name}: no FLORES-200 code known for {side!r}; set backend.source_code / "
                    "backend.target_code (for example ron_Latn), or mt.flores in its language pack"
                )
            _need(code, vocab, model_name, "NLLB language code")
        return LanguageCodes("nllb", src_lang=src, forced_bos_token_id=vocab[tgt])
    if "__en__" in vocab:
        src = source_code or pack(source).mt.m2m100 or source
        tgt = target_code or pack(target).mt.m2m100 or target
        _need(f"__{src}__", vocab, model_name, "M2M100 language token")
        _need(f"__{tgt}__", vocab, model_name, "M2M100 language token")
        return LanguageCodes("m2m100", src_lang=src, forced_bos_token_id=vocab[f"__{tgt}__"])
    return LanguageCodes("bilingual")


def _marian(vocab: dict[str, int], model_name: str, target: str, target_code: str | None) -> LanguageCodes:
    candidates = [target_code] if target_code else [pack(target).mt.iso3 or target, target]
    for code in candidates:
        if code and f">>{code}<<" in vocab:
            return LanguageCodes("marian-multi", prefix=f">>{code}<< ")
    known = sorted(t for t in vocab if t.startswith(">>") and t.endswith("<<"))
    raise VlmadaptError(
        f"{model_name}: a multi-target Marian model without a token for {target!r} (tried "
        f"{', '.join(f'>>{c}<<' for c in candidates if c)}); it knows {', '.join(known[:20])}; "
        "set backend.target_code"
    )


def _need(token: str, vocab: dict[str, int], model_name: str, what: str) -> None:
    if token not in vocab:
        raise VlmadaptError(f"{model_name}: the tokenizer has no {what} {token!r}; set backend.target_code")
