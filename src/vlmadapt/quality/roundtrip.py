"""Round-trip chrF: translate the translation back with a chosen backend and score it against the source.

A reference-free signal that needs only a reverse model. The back-translation goes through the same
engine as `vlmadapt translate` (segments, phrasebook, cache), so a re-run is free. chrF by sacrebleu,
on each record's texts joined by newlines.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vlmadapt.llm.backends import BackendConfig, make_backend
from vlmadapt.llm.cache import ResponseCache
from vlmadapt.records import Example
from vlmadapt.translate.engine import Translator
from vlmadapt.translate.fields import leaf_pairs
from vlmadapt.translate.phrasebook import load_phrasebook


def roundtrip_chrf(
    records: Sequence[Example], backend_cfg: BackendConfig, cache_path: Path, target: str
) -> list[float | None]:
    """chrF (0-100) of each record's back-translation against its source; None for a record without text."""
    from sacrebleu.metrics import CHRF

    per_record = [leaf_pairs(r) for r in records]
    sources = {r.source.lang for r in records if r.source}
    if not sources:
        return [None] * len(records)
    source = sorted(sources)[0]
    backend = make_backend(backend_cfg, target, source)
    try:
        with ResponseCache(cache_path) as cache:
            engine = Translator(backend, cache, load_phrasebook(target, source, None), source, retries=0)
            back = iter(engine.translate([t for pairs in per_record for _, _, t in pairs]))
            chrf = CHRF()
            scores: list[float | None] = []
            for pairs in per_record:
                hyp = "\n".join(next(back).text for _ in pairs)
                ref = "\n".join(s for _, s, _ in pairs)
                scores.append(chrf.sentence_score(hyp, [ref]).score if pairs else None)
    finally:
        backend.close()
    return scores
