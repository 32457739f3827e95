"""The translate stage: examples in one language -> the same examples in another, with the source beside.

    vlmadapt translate examples.jsonl --to ro --backend openai --model M --url URL --out examples.ro.jsonl

or from Python: ``run(TranslateConfig(input=..., output=..., target="ro", backend=BackendConfig(...)))``.

Records go out in input order, a chunk at a time, appended and fsynced; translations are cached the moment
they arrive. A run killed at any point and started again skips the ids already written (a torn last line
is cut off) and takes every translation it already paid for from the cache, so the finished file is the
one an uninterrupted run writes. ``OUT.provenance.json`` records the settings; resuming with different
ones is refused. Output: vlmadapt `Example` records with ``lang`` = target, ``source`` = the input texts,
and ``meta.translation.problems`` on records whose structure did not survive the retries. A local model's
loading bar and the libraries' warnings go to ``OUT.log`` beside the output (vlmadapt.console).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.errors import VlmadaptError
from vlmadapt.jsonl import append_jsonl, completed_ids, read_records
from vlmadapt.llm.backends import Backend, BackendConfig, make_backend
from vlmadapt.llm.cache import ResponseCache
from vlmadapt.llm.progress import progress_tracker
from vlmadapt.provenance import sidecar, start_or_resume, write_json
from vlmadapt.records import Example
from vlmadapt.translate.engine import Stats, Translator
from vlmadapt.translate.fields import leaves, rebuild
from vlmadapt.translate.phrasebook import load_phrasebook
from vlmadapt.translate.postedit import PostEditConfig


class TranslateConfig(BaseModel):
    """What `vlmadapt translate` needs; defaults live here."""

    model_config = ConfigDict(extra="forbid")

    input: Path = Field(description="Examples to translate (.jsonl).")
    output: Path = Field(description="Translated examples (.jsonl); a re-run resumes it.")
    target: str = Field(
        min_length=2, max_length=8, description="Target language (ISO 639-1 code: fr, ro, ...)."
    )
    source: str | None = Field(
        default=None, description="Source language (default: the records' `lang`, which must be one)."
    )
    backend: BackendConfig = Field(default_factory=BackendConfig)
    phrasebook: Path | None = Field(
        default=None, description="YAML/JSON `source: target` entries, consulted before the model."
    )
    cache: Path | None = Field(
        default=None, description="SQLite cache (default: translate-cache.sqlite beside the output)."
    )
    chunk_size: int = Field(
        default=256, ge=1, description="Records per append (and per batch of distinct segments)."
    )
    retries: int = Field(default=1, ge=0, description="Re-asks of a segment whose structure broke.")
    postedit: PostEditConfig = Field(default_factory=PostEditConfig)
    meta_fields: list[str] = Field(
        default_factory=lambda: ["hint"], description="String meta fields to translate."
    )
    progress: bool = Field(default=True, description="Show the progress bars.")

    def cache_path(self) -> Path:
        return self.cache or self.output.parent / "translate-cache.sqlite"

    def provenance_path(self) -> Path:
        return sidecar(self.output)


def run(cfg: TranslateConfig, backend: Backend | None = None) -> Path:
    """Translate `cfg.input` into `cfg.output` (resuming it if it exists); returns the output path.

    `backend` replaces the one `cfg.backend` names (a backend object built in Python).
    """
    if cfg.output.suffix != ".jsonl":
        raise VlmadaptError(
            f"{cfg.output}: the output must be .jsonl (appended record by record, so a killed run resumes)"
        )
    records: list[Example] = read_records(cfg.input, Example)
    source = source_language(records, cfg)
    done = completed_ids(cfg.output)
    check_ids(done, records, cfg)
    pending = [r for r in records if r.id not in done]
    if not pending:
        return cfg.output
    from vlmadapt.console import run_log

    # A local model's loading bar and the libraries' warnings go to OUT.log, not the console.
    with run_log(log_path(cfg.output)):
        _translate(cfg, pending, source, bool(done), backend)
    return cfg.output


def log_path(output: Path) -> Path:
    """The run log beside the output, named like its provenance sidecar: examples.jsonl.log."""
    return output.with_name(output.name + ".log")


def _translate(
    cfg: TranslateConfig,
    pending: list[Example],
    source: str,
    resuming: bool,
    backend: Backend | None,
) -> None:
    """Load the backend, translate `pending` chunk by chunk (appending each), record the stats."""
    phrasebook = load_phrasebook(source, cfg.target, cfg.phrasebook)
    backend = backend or make_backend(cfg.backend, source, cfg.target)
    try:
        settings = _settings(cfg, source, backend)
        _start_or_check(cfg, settings, resuming=resuming)
        with ResponseCache(cfg.cache_path()) as cache, progress_tracker(cfg.progress, len(pending)) as bar:
            translator = Translator(backend, cache, phrasebook, cfg.target, cfg.postedit, cfg.retries, bar)
            for chunk in _chunks(pending, cfg.chunk_size):
                append_jsonl(cfg.output, translate_records(chunk, translator, cfg.target, cfg.meta_fields))
                bar.records(len(chunk))
            _record_stats(cfg, translator.stats)
    finally:
        backend.close()


def translate_records(
    records: Sequence[Example], translator: Translator, target: str, meta_fields: Sequence[str] = ()
) -> list[Example]:
    """The records in the target language, in the same order."""
    per_record = [leaves(r, meta_fields) for r in records]
    texts = [text for items in per_record for _, text in items]
    results = iter(translator.translate(texts))
    out = []
    for rec, items in zip(records, per_record, strict=True):
        done = [next(results) for _ in items]
        paths = [path for path, _ in items]
        problems = [f"{_field(path)}: {p}" for path, d in zip(paths, done, strict=True) for p in d.problems]
        out.append(rebuild(rec, paths, [d.text for d in done], target, problems))
    return out


def source_language(records: Sequence[Example], cfg: TranslateConfig) -> str:
    langs = sorted({r.lang for r in records})
    if cfg.source is None and len(langs) > 1:
        raise VlmadaptError(f"{cfg.input}: records are in several languages ({', '.join(langs)}); set --from")
    source = cfg.source or (langs[0] if langs else "en")
    other = [r for r in records if r.lang != source]
    if other:
        raise VlmadaptError(
            f"{cfg.input}: record {other[0].id!r} is in {other[0].lang!r}, not the source language {source!r}"
        )
    if source == cfg.target:
        raise VlmadaptError(f"{cfg.input}: the records are already in {cfg.target!r}; pick another --to")
    return source


def check_ids(done: set[str], records: Sequence[Example], cfg: TranslateConfig) -> None:
    stray = done - {r.id for r in records}
    if stray:
        raise VlmadaptError(
            f"{cfg.output}: holds {len(stray)} ids that are not in {cfg.input} (e.g. {sorted(stray)[0]!r}); "
            "it belongs to another input: pick another --out"
        )


def _settings(cfg: TranslateConfig, source: str, backend: Backend) -> dict[str, Any]:
    """What must not change between a run and its resumption."""
    return {
        "source": source,
        "target": cfg.target,
        "backend": backend.signature(),
        "postedit": cfg.postedit.model_dump(),
        "retries": cfg.retries,
        "meta_fields": cfg.meta_fields,
        "phrasebook": str(cfg.phrasebook) if cfg.phrasebook else None,
    }


def _start_or_check(cfg: TranslateConfig, settings: dict[str, Any], resuming: bool) -> None:
    start_or_resume(cfg.output, settings, cfg.model_dump(mode="json"), resuming)


def _record_stats(cfg: TranslateConfig, stats: Stats) -> None:
    path = cfg.provenance_path()
    record = json.loads(path.read_text(encoding="utf-8"))
    record.setdefault("runs", []).append(vars(stats))
    write_json(path, record)


def _field(path: tuple[str, Any]) -> str:
    kind, key = path
    if key is None:
        return kind
    return f"meta.{key}" if kind == "meta" else f"{kind}[{key}]"


def _chunks(items: Sequence[Example], size: int) -> Iterator[Sequence[Example]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
