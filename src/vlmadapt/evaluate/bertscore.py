"""BERTScore (bert-score) as a `Metric`: per-sample precision, recall and F1, x 100.

The model, layer and whether to rescale come from the language pack (`metrics.bertscore_model`,
`bertscore_layers`, `bertscore_rescale`) unless given. bert-score rescales with a baseline only where it
ships a baseline file for the language and model; for Romanian it has none, and with
`rescale_with_baseline=True` it fails or (in some callers) the numbers come back unrescaled while looking
rescaled. Here the baseline file is looked up first: when it is missing the scores are raw, the
signature says `rescaled:no`, and `breakdown` carries a note.

Before a model is loaded, `check_available` makes sure it can be: a local directory, a model in the local
Hugging Face cache, or a hub the machine can reach. Offline and without the model, transformers would
retry the hub for about a minute and end in a traceback; this fails at once with one line that names the
options to use instead. A model found in the cache is loaded from its snapshot folder, so nothing asks
the hub (without network, and without HF_HUB_OFFLINE set, transformers retries it for minutes before
falling back to the cache).

A local model is named in the signature by its config's `_name_or_path` when that is a hub id, else by a
short hash of its weights; the weights hash is in the signature either way (`weights:sha256-...`),
because a fine-tuned model keeps the `_name_or_path` of the model it started from.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vlmadapt.errors import ConfigError
from vlmadapt.evaluate.metrics import RefSets, check_lengths, normalize_all
from vlmadapt.languages import pack

_COLUMNS = {"precision": 0, "recall": 1, "f1": 2}
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")  # "roberta-large", "org/name"
_WEIGHTS = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)
_FLAGS = (
    "pass --bertscore-model DIR --bertscore-layers N for a local copy, or --no-bertscore to skip BERTScore"
)


def baseline_file(lang: str, model: str) -> Path:
    """Where bert-score keeps its rescaling baseline for (lang, model); it may not exist."""
    import bert_score

    return Path(os.path.dirname(bert_score.__file__)) / "rescale_baseline" / lang / f"{model}.tsv"


def default_model(lang: str) -> tuple[str, int]:
    """The language pack's BERTScore model and layer (ro, fr: bert-base-multilingual-cased, 9); the layer
    from bert-score's table when the pack gives none."""
    rules = pack(lang).metrics
    if rules.bertscore_layers is not None:
        return rules.bertscore_model, rules.bertscore_layers
    missing = (
        f"language pack {lang!r}: metrics.bertscore_model {rules.bertscore_model!r} needs "
        "metrics.bertscore_layers (bert-score has no layer table entry for it)"
    )
    return rules.bertscore_model, _known_layer(rules.bertscore_model, missing)


def _known_layer(model: str, missing: str) -> int:
    """The layer bert-score reads for a hub model it knows; a ConfigError saying `missing` otherwise."""
    from bert_score.utils import model2layers

    if model not in model2layers:
        raise ConfigError(missing)
    return int(model2layers[model])


# --- is the model there? ---------------------------------------------------------------------------------


def _offline() -> bool:
    import huggingface_hub

    flags = (os.environ.get(v, "").upper() for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    return huggingface_hub.is_offline_mode() or any(f in ("1", "ON", "YES", "TRUE") for f in flags)


def in_hf_cache(model: str) -> bool:
    """The hub model's config and weights are in the local Hugging Face cache (no download needed)."""
    from huggingface_hub import constants, try_to_load_from_cache

    def cached(name: str) -> bool:
        found = try_to_load_from_cache(model, name, cache_dir=constants.HF_HUB_CACHE)
        return isinstance(found, str)

    return cached("config.json") and any(cached(w) for w in _WEIGHTS)


def load_path(model: str) -> str:
    """What bert-score loads: a local directory as given, a cached hub model's snapshot folder (no
    request to the hub), else the hub id (downloaded)."""
    if Path(model).expanduser().is_dir() or not _HUB_ID.fullmatch(model) or not in_hf_cache(model):
        return model
    from huggingface_hub import constants, snapshot_download

    return str(snapshot_download(model, local_files_only=True, cache_dir=constants.HF_HUB_CACHE))


def _hub_unreachable(model: str) -> str | None:
    """Why the hub cannot serve `model` (one line), or None when it answers."""
    import huggingface_hub

    try:
        huggingface_hub.model_info(model, timeout=10)
    except Exception as e:  # connection, DNS, 401/404: all mean bert-score could not download it
        first = (str(e).strip().splitlines() or [""])[0][:200]
        return f"the Hugging Face hub cannot serve it ({type(e).__name__}: {first})"
    return None


def check_available(model: str, origin: str = "--bertscore-model") -> None:
    """A one-line ConfigError unless `model` (a local directory or hub id) can be loaded: a directory
    with a config.json, a model in the local Hugging Face cache, or (online) a hub that has it.

    `origin` says where the name came from, for the message ("--bertscore-model", "the fr pack's default").
    """
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"BERTScore model {model} ({origin}): no config.json in this directory; give a Hugging Face "
                "model directory (config.json, weights, tokenizer files)"
            )
        return
    if not _HUB_ID.fullmatch(model):
        raise ConfigError(f"BERTScore model {model} ({origin}): no such directory; {_FLAGS}")
    if in_hf_cache(model):
        return
    from huggingface_hub import constants

    reason = "offline mode is on (HF_HUB_OFFLINE)" if _offline() else _hub_unreachable(model)
    if reason is None:
        return  # bert-score will download it
    raise ConfigError(
        f"BERTScore model {model!r} ({origin}) is neither a local directory nor in the Hugging Face cache "
        f"({constants.HF_HUB_CACHE}), and {reason}; download it where the hub is reachable "
        f"(`hf download {model}`, then copy the cache), {_FLAGS}"
    )


# --- naming a local model -------------------------------------------------------------------------------


def weights_hash(path: Path) -> str:
    """A short hash of a local model's weight files (of its config.json when it has none): "sha256-" and 12
    hex digits."""
    files = sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin")) or [path / "config.json"]
    stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file())
    return _hash_files(stamp)


@lru_cache(maxsize=16)
def _hash_files(stamp: tuple[tuple[str, int, int], ...]) -> str:
    h = hashlib.sha256()
    for name, _, _ in stamp:
        with open(name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return "sha256-" + h.hexdigest()[:12]


def local_model_name(path: Path) -> str | None:
    """The hub id a local model's config names (`_name_or_path` / `name_or_path`), when it is one: not a
    filesystem path and not just the folder's own name."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for key in ("_name_or_path", "name_or_path"):
        name = config.get(key)
        if (
            isinstance(name, str)
            and _HUB_ID.fullmatch(name)
            and name != path.name
            and not Path(name).exists()
        ):
            return name
    return None


# --- the metric ------------------------------------------------------------------------------------------


@dataclass
class BERTScore:
    """BERTScore with bert-score. stats: [P, R, F1] x 100 per sample (best reference for each)."""

    lang: str = "en"
    model: str | None = None  # hub id or local directory; None: the language pack's
    num_layers: int | None = (
        None  # None: the pack's, else bert-score's table (required for a local directory)
    )
    output: Literal["f1", "precision", "recall"] = "f1"
    rescale_with_baseline: bool | None = (
        None  # None: the pack's; applied only where bert-score has a baseline
    )
    batch_size: int = 64
    device: str | None = None  # None: cuda when available, else cpu
    label: str | None = None
    name: str = field(init=False)
    higher_is_better: bool = field(init=False, default=True)
    _scorer: Any = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        self.name = self.label or f"bertscore_{self.output}"
        if self.rescale_with_baseline is None:  # stored resolved, so the spec rebuilds the same metric
            self.rescale_with_baseline = pack(self.lang).metrics.bertscore_rescale

    def resolved(self) -> tuple[str, int]:
        """(model, layer) actually used."""
        if self.model is None:
            model, layers = default_model(self.lang)
            return model, self.num_layers or layers
        if self.num_layers is not None:
            return self.model, self.num_layers
        missing = (
            f"bertscore: num_layers is required for model {self.model!r} "
            "(bert-score has a layer table only for hub models it knows)"
        )
        return self.model, _known_layer(self.model, missing)

    def rescaled(self) -> bool:
        """True only when rescaling was asked for and bert-score has the baseline file."""
        model, _ = self.resolved()
        return bool(self.rescale_with_baseline) and baseline_file(self.lang, model).is_file()

    def signature(self) -> str:
        from bert_score.utils import get_hash

        model, layers = self.resolved()
        shown, weights = model, ""
        path = Path(model).expanduser()
        if path.is_dir():  # a local path is not portable: name the model, and hash what it holds
            digest = weights_hash(path)
            name = local_model_name(path)
            shown, weights = (name, f"|weights:{digest}") if name else (f"local-{digest}", "")
        h = get_hash(shown, layers, False, self.rescaled(), False, False)
        rescaled = "yes" if self.rescaled() else "no"
        return f"bertscore|{h}{weights}|lang:{self.lang}|rescaled:{rescaled}|norm:nfc+{self.lang}"

    def check_available(self) -> None:
        """A one-line ConfigError, before anything loads, when the model cannot be (see module docstring)."""
        model, _ = self.resolved()
        check_available(model, "--bertscore-model" if self.model else f"the {self.lang} pack's default")

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
        if not out["rescaled"]:
            why = (
                f"bert-score has no rescaling baseline for lang {self.lang!r} and model {model!r}"
                if self.rescale_with_baseline
                else f"rescaling is off (the {self.lang} pack's metrics.bertscore_rescale, or the option)"
            )
            out["note"] = f"{why}; these scores are NOT rescaled and are not comparable with rescaled ones"
        return out

    def _bert_scorer(self) -> Any:
        if self._scorer is None:
            self.check_available()
            import torch
            from bert_score import BERTScorer

            model, layers = self.resolved()
            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            # bert-score finds the baseline by model name; loading from a cache folder, name the file
            baseline = str(baseline_file(self.lang, model)) if self.rescaled() else None
            try:
                self._scorer = BERTScorer(
                    model_type=load_path(model),
                    num_layers=layers,
                    lang=self.lang,
                    rescale_with_baseline=self.rescaled(),
                    baseline_path=baseline,
                    batch_size=self.batch_size,
                    device=device,
                )
            except OSError as e:  # transformers' "can't load" errors: one line, not a traceback
                first = (str(e).strip().splitlines() or [""])[0]
                raise ConfigError(
                    f"BERTScore model {model!r} could not be loaded: {first}; {_FLAGS}"
                ) from None
        return self._scorer
