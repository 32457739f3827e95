"""The synthesize stage: image captions -> question-answer records written by an LLM, with balanced yes/no.

    vlmadapt synthesize captions.ro.jsonl --lang ro --backend openai --model M --url URL --out qa.ro.jsonl

or from Python: ``run(SynthesizeConfig(input=..., output=..., target="ro", backend=BackendConfig(...)))``.

1. Caption records are grouped by image (one Flickr30k record holds five captions; Multi30K has one per
   record). Captions must be in the target language: answers are checked against them word by word.
2. The LLM is asked once per image for JSON ``{"objects": [...], "qa": [{"question", "answer"}]}``
   (schema.py); invalid replies are asked again up to ``max_attempts`` times, then the image is a reject.
   Every reply is cached, so a re-run or a resumed run sends no request twice.
3. Items are screened (items.py: caption mentions, language, grounding, near duplicates); with
   ``grounding: judge`` the LLM judges each answer against the captions (cached too).
4. POPE-style object questions even out yes and no (balance.py), and each image's records are appended.

Output: ``open_vqa`` records for generated QA and ``yes_no`` records (generated with a yes/no answer, or
about a present / absent object), ``meta.synthesis`` saying how each was made. Ids are the image path
without its suffix plus ``-qa-J`` (the J-th generated pair), ``-yes-J`` or ``-no-J``. Beside the output:
``.provenance.json`` (a resume with other settings is refused), ``.rejects.jsonl`` (what was dropped and
why), ``.summary.json`` (counts, yes-ratio, task mix, rejects by reason) and ``.log`` (a local model's
loading bar and the libraries' warnings, kept off the console).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from vlmadapt.errors import RecordError, VlmadaptError
from vlmadapt.jsonl import Rejects, append_jsonl, completed_ids, iter_jsonl, parse_record, read_records
from vlmadapt.llm.backends import Backend
from vlmadapt.llm.cache import ResponseCache
from vlmadapt.llm.chat import lang_name
from vlmadapt.llm.progress import ProgressTracker, progress_tracker
from vlmadapt.provenance import sidecar, start_or_resume, write_json
from vlmadapt.records import Example, Task
from vlmadapt.synthesize.balance import Vocabulary, choose_objects, generated_lean
from vlmadapt.synthesize.config import SynthesizeConfig
from vlmadapt.synthesize.items import ImageGroup, Screened, drop_duplicates, reject_record, screen
from vlmadapt.synthesize.llm import LLM, generating_backend
from vlmadapt.synthesize.output import image_records, summarize
from vlmadapt.synthesize.prompts import generation_message, judge_message
from vlmadapt.synthesize.schema import parse_judgment, parse_reply

_IMAGES_PER_APPEND = 64  # records are appended (and fsynced) this many images at a time


def run(cfg: SynthesizeConfig) -> Path:
    """Write QA records for every image of `cfg.input` to `cfg.output` (resuming it); returns the path."""
    if cfg.output.suffix != ".jsonl":
        raise VlmadaptError(f"{cfg.output}: the output must be .jsonl (appended per image, so a run resumes)")
    groups = group_images(cfg.input, cfg.target)
    done = completed_ids(cfg.output)
    check_ids(done, groups, cfg.output)
    from vlmadapt.console import run_log

    # A local model's loading bar and the libraries' warnings go to OUT.log, not the console.
    with run_log(log_path(cfg.output)):
        _synthesize(cfg, groups, done)
    return cfg.output


def log_path(output: Path) -> Path:
    """The run log beside the output, named like its provenance sidecar: qa.jsonl.log."""
    return output.with_name(output.name + ".log")


def _synthesize(cfg: SynthesizeConfig, groups: list[ImageGroup], done: set[str]) -> None:
    """Load the backends, screen every image's QA, append the records, write the summary."""
    backend = generating_backend(cfg.backend, cfg.target, "backend", cfg.response_format)
    judge: Backend | None = None
    try:
        if cfg.grounding == "judge":
            judge = generating_backend(cfg.judge_backend(), cfg.target, "judge", "none")
        start_or_resume(cfg.output, _settings(cfg, backend, judge), cfg.model_dump(mode="json"), bool(done))
        rejects = Rejects(cfg.rejects_path())
        with (
            ResponseCache(cfg.cache_path()) as cache,
            progress_tracker(cfg.progress, len(groups), ("images written", "requests to the model")) as bar,
        ):
            llms = [LLM(backend, cache, bar)] + ([LLM(judge, cache, bar)] if judge else [])
            screened = screen_all(groups, llms, cfg, rejects)
            write_records(screened, done, cfg, bar)
    finally:
        backend.close()
        if judge is not None:
            judge.close()
    _finish(cfg, screened, rejects, llms)


def group_images(path: Path, target: str) -> list[ImageGroup]:
    """Caption records grouped by image, in input order; a record that cannot be used names its line."""
    by_image: dict[str, list[Example]] = {}
    for where, rec in _numbered(path):
        field, problem = _input_problem(rec, target)
        if problem:
            raise RecordError(where, field, problem)
        by_image.setdefault(str(rec.image), []).append(rec)
    groups = [_group(image, recs) for image, recs in by_image.items()]
    seen: dict[str, str] = {}
    for g in groups:
        if seen.setdefault(g.prefix, g.image) != g.image:
            raise VlmadaptError(f"{path}: images {seen[g.prefix]!r} and {g.image!r} would share output ids")
    return groups


def _numbered(path: Path) -> Iterator[tuple[str, Example]]:
    """(where, record): `file:line` for JSONL, `file: row N` for Parquet."""
    if path.suffix == ".parquet":
        records: list[Example] = read_records(path, Example)
        for i, rec in enumerate(records):
            yield f"{path}: row {i}", rec
        return
    for lineno, raw in iter_jsonl(path):
        yield f"{path}:{lineno}", parse_record(Example, raw, f"{path}:{lineno}")


def _input_problem(rec: Example, target: str) -> tuple[str, str | None]:
    if rec.task is not Task.caption:
        return "task", f"expected a caption record, got {rec.task.value}; synthesize writes QA from captions"
    if rec.image is None:
        return "image", "missing; captions are grouped by image"
    if not any(c.strip() for c in rec.answers):
        return "answers", "every caption is empty; give the caption text, or drop the record"
    if rec.lang != target:
        return "lang", (
            f"{rec.lang!r}, but the QA are to be in {target!r}; answers are checked word by word against "
            f"the captions, so translate them first (vlmadapt translate IN --to {target})"
        )
    return "", None


def _group(image: str, recs: Sequence[Example]) -> ImageGroup:
    captions = tuple(dict.fromkeys(c.strip() for r in recs for c in r.answers if c.strip()))
    splits = {r.meta.get("split") for r in recs}
    split = splits.pop() if len(splits) == 1 else None
    prefix = Path(image).with_suffix("").as_posix()
    return ImageGroup(
        image, prefix, captions, tuple(r.id for r in recs), split if isinstance(split, str) else None
    )


def check_ids(done: set[str], groups: Sequence[ImageGroup], output: Path) -> None:
    """Refuse to resume an output written from another input."""
    prefixes = {g.prefix for g in groups}
    stray = sorted(i for i in done if i.rsplit("-", 2)[0] not in prefixes)
    if stray:
        raise VlmadaptError(
            f"{output}: holds {len(stray)} records of images that are not in the input (e.g. {stray[0]!r}); "
            "it belongs to another input: pick another --out"
        )


def _settings(cfg: SynthesizeConfig, backend: Backend, judge: Backend | None) -> dict[str, Any]:
    """What must not change between a run and its resumption."""
    plain = cfg.model_dump(mode="json", exclude={"input", "output", "cache", "progress", "backend", "judge"})
    return {**plain, "backend": backend.signature(), "judge": judge.signature() if judge else None}


def screen_all(
    groups: Sequence[ImageGroup], llms: Sequence[LLM], cfg: SynthesizeConfig, rejects: Rejects
) -> list[Screened]:
    """Ask the LLM about every image, then screen the items (judge included) and drop near duplicates."""
    name = lang_name(cfg.target)
    prompts = [generation_message(g.captions, cfg.per_image, name) for g in groups]
    answers = llms[0].ask(prompts, parse_reply, cfg.max_attempts)
    screened = [screen(g, a, cfg, rejects) for g, a in zip(groups, answers, strict=True)]
    if len(llms) > 1:
        judge_items(screened, llms[1], cfg, rejects)
    for s in screened:
        drop_duplicates(s, cfg, rejects)
    return screened


def judge_items(screened: Sequence[Screened], judge: LLM, cfg: SynthesizeConfig, rejects: Rejects) -> None:
    """Keep the items whose answer the judge says the captions support."""
    pairs = [(s, item) for s in screened for item in s.items]
    prompts = [judge_message(s.group.captions, item.question, item.answer) for s, item in pairs]
    verdicts = judge.ask(prompts, parse_judgment, cfg.max_attempts)
    dropped = set()
    for (s, item), verdict in zip(pairs, verdicts, strict=True):
        if verdict.value == "yes":
            continue
        why = "the judge said no" if verdict.value == "no" else f"no verdict from the judge ({verdict.error})"
        rejects.add(s.group.image, f"ungrounded: {why}", reject_record(s.group, item, s.attempts))
        dropped.add(id(item))
    for s in screened:
        s.items = [i for i in s.items if id(i) not in dropped]


def write_records(
    screened: Sequence[Screened], done: set[str], cfg: SynthesizeConfig, bar: ProgressTracker
) -> None:
    """Append each image's records that the output does not hold yet, in input order.

    Every image is walked through, written or not, so the yes/no surplus carried from image to image
    (balance.py) is the same in a resumed run as in an uninterrupted one.
    """
    vocab = Vocabulary([s.objects for s in screened])
    pending: list[Example] = []
    images = surplus = 0
    for index, s in enumerate(screened):
        present, absent = choose_objects(s, vocab, cfg, index, surplus if cfg.yes_no.balance else 0)
        surplus += generated_lean(s) + len(present) - len(absent)
        pending += [r for r in image_records(s, present, absent, cfg) if r.id not in done]
        images += 1
        if images == _IMAGES_PER_APPEND or index + 1 == len(screened):
            append_jsonl(cfg.output, pending)
            bar.records(images)
            pending, images = [], 0


def _finish(
    cfg: SynthesizeConfig, screened: Sequence[Screened], rejects: Rejects, llms: Sequence[LLM]
) -> None:
    """The rejects file (rewritten whole: it is recomputed from the cache on every run) and the summary."""
    if not cfg.output.exists():
        append_jsonl(cfg.output, [])  # an input without images still gets its (empty) output
    cfg.rejects_path().unlink(missing_ok=True)
    rejects.write()
    summary = summarize(cfg.output, cfg.target, screened, [r["reason"] for r in rejects.items])
    summary |= {
        "requests": sum(llm.requests for llm in llms),
        "cached": sum(llm.cached for llm in llms),
        "provenance": sidecar(cfg.output).name,
    }
    write_json(cfg.summary_path(), summary)
