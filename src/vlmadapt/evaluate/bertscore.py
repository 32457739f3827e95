"""BERTScore (bert-score) as a `Metric`: per-sample precision, recall and F1, x 100.

bert-score rescales with a baseline only where it ships a baseline file for the language and model; for
Romanian it has none, and with `rescale_with_baseline=True` it fails or (in some callers) the numbers
come back unrescaled while looking rescaled. Here the baseline file is looked up first: when it is
missing the scores are raw, the signature says `rescaled:no`, and `breakdown` carries a note.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vlmadapt.errors import ConfigError
from vlmadapt.evaluate.metrics import RefSets, check_lengths, normalize_all

_COLUMNS = {"precision": 0, "recall": 1, "f1": 2}


def baseline_file(lang: str, model: str) -> Path:
    """Where bert-score keeps its rescaling baseline for (lang, model); it may not exist."""
    import bert_score

    return Path(os.path.dirname(bert_score.__file__)) / "rescale_baseline" / lang / f"{model}.tsv"


def default_model(lang: str) -> tuple[str, int]:
    """bert-score's own default model and layer for a language (ro, fr: bert-base-multilingual-cased, 9)."""
    from bert_score.utils import lang2model, model2layers

    model = lang2model[lang.lower()]
    return model, model2layers[model]


@dataclass
class BERTScore:
    """BERTScore with bert-score. stats: [P, R, F1] x 100 per sample (best reference for each)."""

    lang: str = "en"
    model: str | None = None  # hub id or local directory; None: bert-score's default for `lang`
    num_layers: int | None = None  # None: bert-score's table (required for a local directory)
    output: Literal["f1", "precision", "recall"] = "f1"
    rescale_with_baseline: bool = True  # applied only when bert-score has a baseline for lang/model
    batch_size: int = 64
    device: str | None = None  # None: cuda when available, else cpu
    label: str | None = None
    name: str = field(init=False)
    higher_is_better: bool = field(init=False, default=True)
    _scorer: Any = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        self.name = self.label or f"bertscore_{self.output}"

    def resolved(self) -> tuple[str, int]:
        """(model, layer) actually used."""
        if self.model is None:
            model, layers = default_model(self.lang)
            return model, self.num_layers or layers
        if self.num_layers is not None:
            return self.model, self.num_layers
        from bert_score.utils import model2layers

        if self.model not in model2layers:
            raise ConfigError(
                f"bertscore: num_layers is required for model {self.model!r} "
                "(bert-score has a layer table only for hub models it knows)"
            )
        return self.model, model2layers[self.model]

    def rescaled(self) -> bool:
        """True only when rescaling was asked for and bert-score has the baseline file."""
        model, _ = self.resolved()
        return self.rescale_with_baseline and baseline_file(self.lang, model).is_file()

    def signature(self) -> str:
        from bert_score.utils import get_hash

        model, layers = self.resolved()
        shown = Path(model).name if Path(model).is_dir() else model  # a local path is not portable
        h = get_hash(shown, layers, False, self.rescaled(), False, False)
        rescaled = "yes" if self.rescaled() else "no"
        return f"bertscore|{h}|lang:{self.lang}|rescaled:{rescaled}|norm:nfc+{self.lang}"

    def sample_stats(self, hyps: list[str], refs: RefSets) -> np.ndarray:
        check_lengths(hyps, refs)
        if not hyps:
            return np.zeros((0, 3))
        h, r = normalize_all(hyps, refs, self.lang, False, False)
        p, rec, f = self._bert_scorer().score(h, r, verbose=False, batch_size=self.batch_size)
        return 100 * np.stack([p.numpy(), rec.numpy(), f.numpy()], axis=1).astype(float)  # [N, 3]

    def from_sums(self, sums: np.ndarray, n: int) -> np.ndarray:
        return np.asarray(sums, dtype=float)[..., _COLUMNS[self.output]] / max(n, 1)

    def breakdown(self, sums: np.ndarray, n: int) -> dict[str, Any]:
        means = np.asarray(sums, dtype=float) / max(n, 1)
        model, layers = self.resolved()
        out: dict[str, Any] = {
            "precision": float(means[0]),
            "recall": float(means[1]),
            "f1": float(means[2]),
            "model": model,
            "num_layers": layers,
            "rescaled": self.rescaled(),
        }
        if self.rescale_with_baseline and not out["rescaled"]:
            out["note"] = (
                f"bert-score has no rescaling baseline for lang {self.lang!r} and model {model!r}; "
                "these scores are NOT rescaled and are not comparable with rescaled ones"
            )
        return out

    def _bert_scorer(self) -> Any:
        if self._scorer is None:
            import torch
            from bert_score import BERTScorer

            model, layers = self.resolved()
            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            self._scorer = BERTScorer(
                model_type=model,
                num_layers=layers,
                lang=self.lang,
                rescale_with_baseline=self.rescaled(),
                batch_size=self.batch_size,
                device=device,
            )
        return self._scorer
