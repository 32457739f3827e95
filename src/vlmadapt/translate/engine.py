"""Texts in, translations out: segments, phrasebook, cache, backend, structure checks, retries, post-editing.

For a batch of texts: split each into literal parts and segments (protect.py); translate every distinct
segment once, taking the phrasebook first, then the cache, then the backend (both from vlmadapt.llm;
each new translation is cached the moment it arrives); post-edit; check each segment's structure.
Segments whose structure broke are asked again with a different decoding (attempt 1, 2, ...); the
translation with the fewest problems is kept, and any problems left are reported with the text so the
record can be marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from vlmadapt.llm.backends import Backend
from vlmadapt.llm.cache import ResponseCache, cache_key, signature_digest
from vlmadapt.llm.progress import Tracker
from vlmadapt.translate.phrasebook import Phrasebook
from vlmadapt.translate.postedit import PostEditConfig, postedit
from vlmadapt.translate.protect import segment_problems, split_text


class _NoTracker:
    def add_total(self, n: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass


@dataclass
class Translated:
    text: str
    problems: list[str] = field(default_factory=list)


@dataclass
class Stats:
    segments: int = 0  # distinct segments seen
    phrasebook: int = 0
    cached: int = 0
    translated: int = 0  # by the backend
    retried: int = 0  # segments asked again after a structure problem
    marked: int = 0  # segments whose problems survived the retries


class Translator:
    """Translates texts for one language pair through one backend, with a cache and a phrasebook."""

    def __init__(
        self,
        backend: Backend,
        cache: ResponseCache,
        phrasebook: Phrasebook,
        target: str,
        postedit_cfg: PostEditConfig | None = None,
        retries: int = 1,
        tracker: Tracker | None = None,
    ) -> None:
        self.backend, self.cache, self.phrasebook, self.target = backend, cache, phrasebook, target
        self.postedit_cfg = postedit_cfg or PostEditConfig()
        self.retries = retries
        self.tracker = tracker or _NoTracker()
        self.digest = signature_digest(backend.signature())
        self.langs = (phrasebook.source, target)
        self.stats = Stats()

    def translate(self, texts: Sequence[str]) -> list[Translated]:
        split = [split_text(t) for t in texts]
        segments = list(dict.fromkeys(s for parts in split for s in parts.segments))
        self.stats.segments += len(segments)
        best: dict[str, str] = {}
        problems: dict[str, list[str]] = {}
        todo = []
        for seg in segments:
            hit = self.phrasebook.lookup(seg)
            if hit is None:
                todo.append(seg)
            else:
                best[seg], problems[seg] = self._edit(hit), []
                self.stats.phrasebook += 1
        for attempt in range(self.retries + 1):
            if not todo:
                break
            if attempt:
                self.stats.retried += len(todo)
            raw = self._fetch(todo, attempt)
            failed = []
            for seg in todo:
                out = self._edit(raw[seg])
                found = segment_problems(seg, out, self.langs)
                if seg not in best or len(found) < len(problems[seg]):
                    best[seg], problems[seg] = out, found
                if found:
                    failed.append(seg)
            todo = failed
        self.stats.marked += len(todo)
        return [
            Translated(parts.join(best), [f"{seg!r}: {p}" for seg in parts.segments for p in problems[seg]])
            for parts in split
        ]

    def _edit(self, text: str) -> str:
        return postedit(text, self.target, self.postedit_cfg)

    def _fetch(self, texts: list[str], attempt: int) -> dict[str, str]:
        """Raw translations of `texts`: from the cache, else from the backend (and then cached)."""
        keys = {t: cache_key(self.digest, t, attempt) for t in texts}
        hits = self.cache.get_many(keys.values())
        out = {t: hits[k] for t, k in keys.items() if k in hits}
        self.stats.cached += len(out)
        missing = [t for t in texts if t not in out]
        if not missing:
            return out
        self.tracker.add_total(len(missing))
        for i, translation in self.backend.translate(missing, attempt):
            out[missing[i]] = translation
            self.cache.put(keys[missing[i]], translation)
            self.tracker.advance(1)
        self.cache.commit()
        lost = [t for t in missing if t not in out]
        if lost:
            raise RuntimeError(f"the backend returned no translation for {len(lost)} texts, e.g. {lost[0]!r}")
        self.stats.translated += len(missing)
        return out
