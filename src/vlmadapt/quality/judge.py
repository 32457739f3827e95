"""An LLM judge in the GEMBA-MQM style (Kocmi & Federmann, WMT 2023), through an OpenAI-compatible endpoint.

The model lists the errors of a translation by MQM category and severity; the score is GEMBA-MQM's:
-25 per critical error, -5 per major, -1 per minor, counting at most five errors and floored at -25, so 0
is a perfect translation. The prompt follows the paper's wording; the worked example (one-shot, English
to French) is ours, so the judge sees the answer format for this project's kind of text.
"""

from __future__ import annotations

from collections.abc import Sequence

from vlmadapt.llm.backends import BackendConfig
from vlmadapt.llm.chat import lang_name
from vlmadapt.llm.http import ChatClient, Messages

SYSTEM = (
    "You are an annotator for the quality of machine translation. Your task is to identify errors and "
    "assess the quality of the translation."
)
TEMPLATE = """{source_lang} source:
```{source}```
{target_lang} translation:
```{target}```

Based on the source segment and machine translation surrounded with triple backticks, identify error \
types in the translation and classify them. The categories of errors are: accuracy (addition, \
mistranslation, omission, untranslated text), fluency (character encoding, grammar, inconsistency, \
punctuation, register, spelling), style (awkward), terminology (inappropriate for context, inconsistent \
use), non-translation, other, or no-error.
Each error is classified as one of three categories: critical, major, and minor. Critical errors \
inhibit comprehension of the text. Major errors disrupt the flow, but what the text is trying to say is \
still understandable. Minor errors are technically errors, but do not disrupt the flow or hinder \
comprehension."""
EXAMPLE = (
    {
        "source_lang": "English",
        "target_lang": "French",
        "source": "A man in a red jacket is riding a bicycle past two parked cars.",
        "target": "Un homme en veste rouge conduit un vélo devant deux voiture garées.",
    },
    """Critical:
no-error
Major:
accuracy/omission - "past"
Minor:
fluency/grammar - "deux voiture"
style/awkward - "conduit un vélo"
""",
)
_WEIGHTS = {"critical": 25, "major": 5, "minor": 1}


def judge_messages(source: str, target: str, source_lang: str, target_lang: str) -> Messages:
    shot, answer = EXAMPLE
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": TEMPLATE.format(**shot)},
        {"role": "assistant", "content": answer},
        {
            "role": "user",
            "content": TEMPLATE.format(
                source_lang=lang_name(source_lang),
                target_lang=lang_name(target_lang),
                source=source,
                target=target,
            ),
        },
    ]


def parse_mqm(answer: str) -> tuple[float | None, dict[str, list[str]]]:
    """(score, errors by severity) of a GEMBA-MQM answer; the score is None when the answer has none of
    the Critical: / Major: / Minor: headings (the judge did not follow the format). Non-translation
    errors count as critical."""
    errors: dict[str, list[str]] = {"critical": [], "major": [], "minor": []}
    level, headed = None, False
    for raw in answer.lower().splitlines():
        line = raw.strip().strip("*").strip()
        if not line or "no-error" in line or "no error" in line:
            continue
        head = line.rstrip(":")
        if line.endswith(":") and head in errors:
            level, headed = head, True
            continue
        if level is None:
            continue
        errors["critical" if "non-translation" in line else level].append(line)
    if not headed:
        return None, errors
    counted = [lvl for lvl in ("critical", "major", "minor") for _ in errors[lvl]][:5]
    return -float(min(25, sum(_WEIGHTS[lvl] for lvl in counted))), errors


def judge_scores(
    pairs: Sequence[tuple[str, str]], cfg: BackendConfig, source_lang: str, target_lang: str
) -> list[float | None]:
    """GEMBA-MQM scores of (source, translation) pairs, asked concurrently with retries (None: unparsable)."""
    client = ChatClient(cfg)
    client.check_reachable()
    params = {"max_tokens": cfg.max_new_tokens, "temperature": cfg.temperature}
    requests = ((judge_messages(s, t, source_lang, target_lang), params) for s, t in pairs)
    scores: list[float | None] = [None] * len(pairs)
    try:
        for i, reply in client.complete_many(requests):
            scores[i] = parse_mqm(reply)[0]
    finally:
        client.close()
    return scores
