"""Which strings of a record are translated, and how a translated record is put back together.

Only leaf strings: the question, every answer (caption references included), every option text, every
conversation turn, and the string meta fields named in the config (ScienceQA's ``hint``). Ids, images,
tasks, roles, ``answer_index`` and the rest of ``meta`` are copied. The source texts stay beside the
translation in ``source`` (and ``meta.source_meta`` for meta fields), so a record can be audited alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vlmadapt.records import Example, SourceText, Turn

Path = tuple[
    str, Any
]  # ("question", None) | ("answers", 0) | ("choices", 2) | ("turns", 1) | ("meta", "hint")


def leaves(ex: Example, meta_fields: Sequence[str] = ()) -> list[tuple[Path, str]]:
    """(path, text) of every translatable string of `ex`, in a fixed order."""
    out: list[tuple[Path, str]] = []
    if ex.question is not None:
        out.append((("question", None), ex.question))
    out.extend((("answers", i), a) for i, a in enumerate(ex.answers))
    out.extend((("choices", i), c) for i, c in enumerate(ex.choices or []))
    out.extend((("turns", i), t.content) for i, t in enumerate(ex.turns or []))
    out.extend((("meta", k), ex.meta[k]) for k in meta_fields if isinstance(ex.meta.get(k), str))
    return out


def rebuild(
    ex: Example, paths: Sequence[Path], texts: Sequence[str], target: str, problems: Sequence[str]
) -> Example:
    """`ex` in the target language: `texts` at `paths`, the originals in `source`, problems in meta."""
    new = dict(zip(paths, texts, strict=True))
    meta = dict(ex.meta)
    meta.pop("translation", None)
    source_meta = {key: ex.meta[key] for kind, key in paths if kind == "meta"}
    for key in source_meta:
        meta[key] = new[("meta", key)]
    if source_meta:
        meta["source_meta"] = source_meta
    if problems:
        meta["translation"] = {"problems": list(problems)}
    return ex.model_copy(
        update={
            "lang": target,
            "question": new.get(("question", None), ex.question),
            "answers": [new[("answers", i)] for i in range(len(ex.answers))],
            "choices": [new[("choices", i)] for i in range(len(ex.choices))] if ex.choices else ex.choices,
            "turns": [
                Turn.model_construct(role=t.role, content=new[("turns", i)]) for i, t in enumerate(ex.turns)
            ]
            if ex.turns
            else ex.turns,
            # Built without re-validation: every value comes from an already validated record.
            "source": SourceText.model_construct(
                lang=ex.lang, question=ex.question, answers=ex.answers, choices=ex.choices, turns=ex.turns
            ),
            "meta": meta,
        }
    )


def leaf_pairs(ex: Example) -> list[tuple[str, str, str]]:
    """(field, source text, translation) of a translated record, for quality checks."""
    src = ex.source
    if src is None:
        return []
    pairs: list[tuple[str, str, str]] = []
    if src.question is not None and ex.question is not None:
        pairs.append(("question", src.question, ex.question))
    pairs.extend(
        (f"answers[{i}]", s, t) for i, (s, t) in enumerate(zip(src.answers, ex.answers, strict=False))
    )
    pairs.extend(
        (f"choices[{i}]", s, t)
        for i, (s, t) in enumerate(zip(src.choices or [], ex.choices or [], strict=False))
    )
    pairs.extend(
        (f"turns[{i}]", s.content, t.content)
        for i, (s, t) in enumerate(zip(src.turns or [], ex.turns or [], strict=False))
    )
    source_meta = ex.meta.get("source_meta")
    if isinstance(source_meta, dict):
        pairs.extend(
            (f"meta.{k}", v, ex.meta[k])
            for k, v in source_meta.items()
            if isinstance(v, str) and isinstance(ex.meta.get(k), str)
        )
    return pairs


def shape_problems(ex: Example) -> list[str]:
    """Record-level structure: the same number of answers, options and turns, with the same roles."""
    src = ex.source
    if src is None:
        return ["no source texts: not a translated record"]
    problems = []
    for name, a, b in (
        ("answers", src.answers, ex.answers),
        ("choices", src.choices or [], ex.choices or []),
        ("turns", src.turns or [], ex.turns or []),
    ):
        if len(a) != len(b):
            problems.append(f"{name}: {len(a)} in the source, {len(b)} translated")
    roles = [t.role for t in src.turns or []], [t.role for t in ex.turns or []]
    if roles[0] != roles[1] and len(roles[0]) == len(roles[1]):
        problems.append("turns: roles changed")
    return problems
