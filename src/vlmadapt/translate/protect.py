"""Structure protection: what of a text a translator may touch, and whether the structure survived.

A text is split into **parts**: literal parts that are copied verbatim, and **segments** that go to the
translation backend. Line breaks, list and option markers at the start of a line (``A.``, ``(B)``,
``1.``, ``-``), placeholders at the start or end of a line (``<image>\\n``) and lines without letters are
literal, so a model never sees them and cannot break them. Placeholders, URLs and numbers *inside* a
sentence stay in the segment (the translation needs them in place) and are checked afterwards: the same
multiset must come back, and no line break may appear. Written by hand: no library does this split.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from vlmadapt.languages import pack

# <image>, </s>, <|im_start|>, {question}: tokens a VLM or a template needs verbatim.
PLACEHOLDER = re.compile(r"</?[A-Za-z_][\w-]*>|<\|[^|<>\s]+\|>|\{[A-Za-z_]\w*\}")
URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
DIGITS = re.compile(r"\d+")
# An option or list marker at the start of a line: "A. ", "(B) ", "C) ", "1. ", "- ", "• ".
MARKER = re.compile(r"(?:\(?[A-Z]\)|[A-Z][.:]|\(?\d{1,2}[.)]|[-*•])[ \t]+")
_LEAD = re.compile(rf"(?:\s+|{MARKER.pattern}|{PLACEHOLDER.pattern})*")
_TAIL = re.compile(rf"(?:\s*(?:{PLACEHOLDER.pattern}))*\s*\Z")
_MAYBE_TOKEN = re.compile(r"\d|<|\{|https?://|www\.")
_LETTER = re.compile(r"[^\W\d_]")
_LINES = re.compile(r"(\r?\n)")


@dataclass(frozen=True)
class Parts:
    """A text as literal parts and segments, in order; `is_segment[i]` says which is which."""

    parts: tuple[str, ...]
    is_segment: tuple[bool, ...]

    @property
    def segments(self) -> list[str]:
        return [p for p, s in zip(self.parts, self.is_segment, strict=True) if s]

    def join(self, translated: dict[str, str]) -> str:
        """The text with every segment replaced by its translation."""
        return "".join(translated[p] if s else p for p, s in zip(self.parts, self.is_segment, strict=True))


def split_text(text: str) -> Parts:
    """Literal parts and translatable segments of `text` (see the module docstring)."""
    parts: list[str] = []
    flags: list[bool] = []

    def add(piece: str, segment: bool) -> None:
        if not piece:
            return
        if not segment and flags and not flags[-1]:
            parts[-1] += piece  # merge neighbouring literals
            return
        parts.append(piece)
        flags.append(segment)

    for line in _LINES.split(text):
        if not line or line.endswith("\n"):
            add(line, False)
            continue
        head, core, tail = _peel(line)
        add(head, False)
        add(core, bool(_LETTER.search(core)))
        add(tail, False)
    return Parts(tuple(parts), tuple(flags))


def _peel(line: str) -> tuple[str, str, str]:
    """(literal head, core, literal tail) of one line: markers, edge placeholders and spaces peeled off."""
    head = _LEAD.match(line)
    start = head.end() if head else 0
    if "<" in line or "{" in line:
        tail = _TAIL.search(line, start)
        end = tail.start() if tail else len(line)
    else:  # no placeholder can end the line: only its trailing spaces are literal (fast path)
        end = max(len(line.rstrip()), start)
    return line[:start], line[start:end], line[end:]


def protected_tokens(text: str) -> Counter[str]:
    """The placeholders, URLs and digit runs of `text`, as a multiset.

    Numbers are compared digit run by digit run, so "3.5" -> "3,5" and "1,000" -> "1 000" (French
    and Romanian conventions) both pass, while a dropped or changed number does not.
    """
    found: Counter[str] = Counter()
    found.update(f"placeholder {m}" for m in PLACEHOLDER.findall(text))
    urls = URL.findall(text)
    found.update(f"url {u}" for u in urls)
    without_urls = URL.sub(" ", PLACEHOLDER.sub(" ", text))
    found.update(f"number {d}" for d in DIGITS.findall(without_urls))
    return found


def segment_problems(source: str, translation: str, langs: tuple[str, str] = ("", "")) -> list[str]:
    """Why a translated segment breaks the structure of its source; empty when it is intact.

    `langs` (source, target) lets a number written out in words ("4 people" -> "Quatre personnes")
    count as kept, through each language's number words (their language packs).
    """
    problems = []
    if not translation.strip():
        problems.append("empty translation")
    if "\n" in translation and "\n" not in source:
        problems.append("a line break appeared")
    problems.extend(_token_diff(source, translation, langs))
    return problems


def text_problems(source: str, translation: str, langs: tuple[str, str] = ("", "")) -> list[str]:
    """Structure problems of a whole translated text: its lines, markers and protected tokens."""
    src_lines, tgt_lines = source.split("\n"), translation.split("\n")
    if len(src_lines) != len(tgt_lines):
        return [f"{len(src_lines)} lines became {len(tgt_lines)}"]
    problems: list[str] = []
    for i, (s, t) in enumerate(zip(src_lines, tgt_lines, strict=True)):
        sm, tm = _marker(s), _marker(t)
        if sm != tm:
            problems.append(f"line {i + 1}: marker {sm!r} became {tm!r}")
    problems.extend(_token_diff(source, translation, langs))
    return problems


def _marker(line: str) -> str:
    m = MARKER.match(line.lstrip())
    return m.group(0).strip() if m else ""


def _token_diff(source: str, translation: str, langs: tuple[str, str]) -> list[str]:
    if not (_MAYBE_TOKEN.search(source) or _MAYBE_TOKEN.search(translation)):
        return []  # fast path: neither side has a digit, a placeholder or a URL
    src, tgt = protected_tokens(source), protected_tokens(translation)
    missing, added = src - tgt, tgt - src
    if missing:
        missing -= _number_words(translation, langs[1])
    if added:
        added -= _number_words(source, langs[0])
    return [f"{k} {n}missing" for k, n in _listed(missing)] + [f"{k} {n}added" for k, n in _listed(added)]


def _listed(counts: Counter[str]) -> list[tuple[str, str]]:
    return [(k, f"x{n} " if n > 1 else "") for k, n in sorted(counts.items())]


def _number_words(text: str, lang: str) -> Counter[str]:
    """Numbers written as words in `text` ("quatre" -> "number 4"), by the language's table."""
    table = {w.lower(): d for w, d in pack(lang).number_words.items()}
    if not table:
        return Counter()
    words = re.findall(r"[^\W\d_]+", text.lower())
    return Counter(f"number {table[w]}" for w in words if w in table)
