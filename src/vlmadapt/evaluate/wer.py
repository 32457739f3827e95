"""Word (or character) error rate with jiwer, and the word-level error analysis of the Romanian study.

Per-sample statistics are jiwer's substitution, deletion, insertion and hit counts of the best-aligned
reference, so corpus WER = (S + D + I) / (S + D + H) and a bootstrap resample is a matrix product. The
same alignments give the most frequent substituted word pairs, deleted and inserted words
(`WER.errors`), which is where missing diacritics ("barbat" for "bărbat") and agreement errors show.

What a word is comes from the language pack:

- `metrics.unit: words`: words are what jiwer splits on whitespace, after normalisation (NFC, the pack's
  letter fixes, lowercase) and punctuation removal. Punctuation becomes a space, except an apostrophe
  between two letters where the pack has `normalize.elision: true` (fr, it, ca): the elided clitic stays
  attached, so "l'enfant", "dell'uomo" and "aujourd'hui" are one word each, as jiwer counts them in the
  raw text. Without elision (en, ro, ...) "it's" is two words, "it s".
- `metrics.unit: chars` (zh, ja, th: written without spaces): the error rate is the character error
  rate, named "cer" and signed `cer|...|tok:chars`; characters are jiwer's (`jiwer.process_characters`,
  the counts of `jiwer.cer`), whitespace left out, since spaces between such words are optional
  typography and punctuation removal would otherwise leave spaces to count.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vlmadapt.evaluate.metrics import RefSets, Unit, check_lengths, norm_signature
from vlmadapt.languages import normalize, pack

Alignment = tuple[list[str], list[str], Any]  # (reference words, hypothesis words, jiwer chunks)


_ELIDED = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])")  # an apostrophe between two letters: "l'enfant"


def strip_punctuation(text: str, keep_elision: bool) -> str:
    """Every Unicode punctuation character (P*) -> a space, whitespace collapsed; with `keep_elision`
    an apostrophe between two letters stays (run after `normalize`, which makes ’ an ASCII ')."""
    keep = {m.start() for m in _ELIDED.finditer(text)} if keep_elision else set()
    return " ".join(
        "".join(
            " " if unicodedata.category(c).startswith("P") and i not in keep else c
            for i, c in enumerate(text)
        ).split()
    )


@dataclass
class WER:
    """Word error rate (jiwer) x 100, lower is better. stats: [substitutions, deletions, insertions, hits].

    Corpus WER = (S + D + I) / (S + D + H), the reference length being S + D + H. With several references
    a sample is aligned to the one with the lowest WER. Defaults lowercase and strip punctuation, so the
    count is of word errors, not of casing or commas. `unit` and `elision` None take the language pack's
    (module docstring); with unit "chars" it is the character error rate, named "cer".
    """

    lang: str = "en"
    lowercase: bool = True
    strip_punct: bool = True
    unit: Unit | None = None  # None: pack(lang).metrics.unit, resolved when built
    elision: bool | None = None  # None: pack(lang).normalize.elision, resolved when built
    label: str | None = None
    name: str = field(init=False)
    higher_is_better: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        rules = pack(self.lang)
        if self.unit is None:
            self.unit = rules.metrics.unit
        if self.elision is None:
            self.elision = rules.normalize.elision
        self.name = self.label or ("cer" if self.unit == "chars" else "wer")

    def signature(self) -> str:
        from importlib.metadata import version

        if self.unit == "chars":
            kind, tok = "cer", "chars"
        else:
            kind, tok = "wer", "whitespace+elision" if self.elision and self.strip_punct else "whitespace"
        return f"{kind}|jiwer:{version('jiwer')}|tok:{tok}|refs:min|" + norm_signature(
            self.lang, self.lowercase, self.strip_punct
        )

    def prepare(self, text: str) -> str:
        """The text jiwer aligns: normalised, punctuation stripped, and without whitespace for chars."""
        out = normalize(text, self.lang, lowercase=self.lowercase)
        if self.strip_punct:
            out = strip_punctuation(out, keep_elision=bool(self.elision))
        return "".join(out.split()) if self.unit == "chars" else out

    def sample_stats(self, hyps: list[str], refs: RefSets) -> np.ndarray:
        stats, _ = self._align(hyps, refs)
        return stats

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        s = np.asarray(sums, dtype=float)
        errors, ref_len = s[..., 0] + s[..., 1] + s[..., 2], s[..., 0] + s[..., 1] + s[..., 3]
        with np.errstate(divide="ignore", invalid="ignore"):
            # an empty reference: 0 with no words said, else 100 (every word inserted)
            return np.where(ref_len > 0, 100 * errors / ref_len, np.where(errors > 0, 100.0, 0.0))

    def breakdown(self, sums: np.ndarray, n: int) -> dict[str, Any]:
        s, d, i, h = (int(x) for x in sums)
        return {"substitutions": s, "deletions": d, "insertions": i, "hits": h}

    def errors(self, hyps: list[str], refs: RefSets, top: int = 20) -> dict[str, list[list[Any]]]:
        """The most frequent substituted word pairs, deleted and inserted words (for error analysis).

        {"substitutions": [[ref_word, hyp_word, count], ...], "deletions": [[word, count], ...],
         "insertions": [[word, count], ...]}, most frequent first.
        """
        _, alignments = self._align(hyps, refs)
        subs: Counter[tuple[str, str]] = Counter()
        dels: Counter[str] = Counter()
        ins: Counter[str] = Counter()
        for ref_words, hyp_words, chunks in alignments:
            for c in chunks:
                ref_part = ref_words[c.ref_start_idx : c.ref_end_idx]
                hyp_part = hyp_words[c.hyp_start_idx : c.hyp_end_idx]
                if c.type == "substitute":
                    subs.update(zip(ref_part, hyp_part, strict=True))
                elif c.type == "delete":
                    dels.update(ref_part)
                elif c.type == "insert":
                    ins.update(hyp_part)
        return {
            "substitutions": [[r, h, k] for (r, h), k in subs.most_common(top)],
            "deletions": [[w, k] for w, k in dels.most_common(top)],
            "insertions": [[w, k] for w, k in ins.most_common(top)],
        }

    def _align(self, hyps: list[str], refs: RefSets) -> tuple[np.ndarray, list[Alignment]]:
        """[N, 4] edit counts and, per sample, (ref words, hyp words, jiwer chunks) of the best reference."""
        import jiwer

        check_lengths(hyps, refs)
        h = [self.prepare(t) for t in hyps]
        r = [[self.prepare(t) for t in rs] or [""] for rs in refs]  # no references: scored against ""
        pairs = [(i, ref) for i, rs in enumerate(r) for ref in rs]
        stats = np.zeros((len(h), 4))
        best: list[Alignment | None] = [None] * len(h)
        if not pairs:
            return stats, []
        process = jiwer.process_characters if self.unit == "chars" else jiwer.process_words
        out = process([p[1] for p in pairs], [h[i] for i, _ in pairs])
        best_wer = np.full(len(h), np.inf)
        for k, (i, _) in enumerate(pairs):
            ref_w, hyp_w, chunks = out.references[k], out.hypotheses[k], out.alignments[k]
            row = _counts(chunks)
            wer = float(self.from_sums(row, 1))
            if wer < best_wer[i]:
                best_wer[i], stats[i] = wer, row
                best[i] = (ref_w, hyp_w, chunks)
        return stats, [b for b in best if b is not None]


def _counts(chunks: list[Any]) -> np.ndarray:
    """[S, D, I, H] of one jiwer alignment."""
    s = d = i = h = 0
    for c in chunks:
        ref_n, hyp_n = c.ref_end_idx - c.ref_start_idx, c.hyp_end_idx - c.hyp_start_idx
        if c.type == "equal":
            h += ref_n
        elif c.type == "substitute":
            s += ref_n
        elif c.type == "delete":
            d += ref_n
        elif c.type == "insert":
            i += hyp_n
    return np.array([s, d, i, h], dtype=float)
