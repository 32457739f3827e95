"""Translate-test: ask an English VLM through machine translation, and answer in the example's language.

The question, the option texts and any hint go from the example's language to English through the
translation engine (phrasebook, then the SQLite cache, then the backend); the model gets the English
prompt of an English copy of the example; its answer comes back into the example's language. Option
letters never go through MT: the options block is rebuilt from the English option texts, and a multiple
choice answer (a letter) is kept as it is. A yes/no answer maps through the language's yes/no table
(`languages.LANGUAGES`) rather than MT. Every row keeps the English intermediates in
``meta["translate_test"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vlmadapt.languages import LANGUAGES
from vlmadapt.llm.backends import BackendConfig, make_backend
from vlmadapt.llm.cache import ResponseCache
from vlmadapt.records import Example, Task
from vlmadapt.translate.engine import Translator
from vlmadapt.translate.phrasebook import is_sectioned, load_phrasebook, read_phrasebook

PIVOT = "en"
_PUNCT = ".!?,;: \t\n"


class RoundTrip:
    """Translators between each example language and English, sharing one cache; close() when done."""

    def __init__(self, mt: BackendConfig, cache: Path, phrasebook: Path | None = None) -> None:
        self.mt, self.phrasebook = mt, phrasebook
        cache.parent.mkdir(parents=True, exist_ok=True)
        self.cache = ResponseCache(cache)
        self._translators: dict[tuple[str, str], Translator] = {}

    def to_english(self, examples: Sequence[Example]) -> dict[str, tuple[Example, dict[str, Any]]]:
        """id -> (English copy, intermediates) for every single-turn example of `examples`."""
        out: dict[str, tuple[Example, dict[str, Any]]] = {}
        for lang in sorted({ex.lang for ex in examples}):
            group = [ex for ex in examples if ex.lang == lang and ex.task is not Task.conversation]
            texts = [t for ex in group for t in _texts(ex)]
            english = iter(self._translate(lang, PIVOT, texts))
            for ex in group:
                q = next(english) if ex.question else None
                choices = [next(english) for _ in ex.choices or []] or None
                meta = dict(ex.meta)
                if ex.meta.get("hint"):
                    meta["hint"] = next(english)
                copy = ex.model_copy(update={"lang": PIVOT, "question": q, "choices": choices, "meta": meta})
                out[ex.id] = (copy, {"question_en": q, "choices_en": choices})
        return out

    def answers_back(self, pairs: Sequence[tuple[Example, str]]) -> list[str]:
        """Each English answer in its example's language: letters kept, yes/no by table, the rest by MT."""
        answers: list[str | None] = [_without_mt(ex, a) for ex, a in pairs]
        for lang in sorted({ex.lang for ex, _ in pairs}):
            todo = [i for i, (ex, _) in enumerate(pairs) if ex.lang == lang and answers[i] is None]
            for i, text in zip(todo, self._translate(PIVOT, lang, [pairs[i][1] for i in todo]), strict=True):
                answers[i] = text
        return [a if a is not None else "" for a in answers]

    def close(self) -> None:
        for translator in self._translators.values():
            translator.backend.close()
        self.cache.close()

    def _translate(self, source: str, target: str, texts: list[str]) -> list[str]:
        if source == target or not texts:
            return list(texts)
        key = (source, target)
        if key not in self._translators:
            book = load_phrasebook(source, target, self._book_for(target))
            backend = make_backend(self.mt, source, target)
            self._translators[key] = Translator(backend, self.cache, book, target)
        return [t.text for t in self._translators[key].translate(texts)]

    def _book_for(self, target: str) -> Path | None:
        """The phrasebook file for a direction: a flat file translates into English only (questions);
        a file with direction sections ("ro-en", "en-ro") serves both ways."""
        if self.phrasebook is None or target == PIVOT:
            return self.phrasebook
        return self.phrasebook if is_sectioned(read_phrasebook(self.phrasebook)) else None


def _texts(ex: Example) -> list[str]:
    """What goes to MT, in the order to_english reads it back: question, option texts, hint."""
    hint = [ex.meta["hint"]] if ex.meta.get("hint") else []
    return [*([ex.question] if ex.question else []), *(ex.choices or []), *hint]


def _without_mt(ex: Example, answer: str) -> str | None:
    """The answer in the example's language when no MT is needed, else None."""
    if ex.lang == PIVOT or ex.task is Task.multiple_choice:
        return answer
    hedged = any(h in answer.casefold() for h in LANGUAGES[PIVOT].hedges)  # "not sure" is no "no"
    target = LANGUAGES.get(ex.lang)
    if ex.task is Task.yes_no and target and target.yes and target.no and not hedged:
        words = answer.strip().split(maxsplit=1)
        first = words[0].strip(_PUNCT).casefold() if words else ""
        if first in LANGUAGES[PIVOT].yes:
            return target.yes[0]
        if first in LANGUAGES[PIVOT].no:
            return target.no[0]
    return None
