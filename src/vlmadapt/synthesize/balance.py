"""Balanced yes/no questions, POPE style (Li et al., 2023, "Evaluating Object Hallucination in LVLMs").

For each image: present-object questions (answer yes) about objects its captions name, and absent-object
questions (answer no) about objects named for *other* images that occur nowhere in this image's captions.
Absent objects are drawn three ways, as in POPE: ``random`` (uniform), ``popular`` (the most frequent
objects of the whole set) and ``adversarial`` (the objects that most often co-occur with this image's
objects). Per image, the counts are chosen so that yes and no answers even out, the LLM's own yes/no
items included, and what an image could not even out is carried to the next images; the whole set's
yes-ratio is then close to 50%.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vlmadapt.synthesize.config import SynthesizeConfig
from vlmadapt.synthesize.items import Obj, Screened
from vlmadapt.synthesize.text import near_duplicate, occurs
from vlmadapt.translate.postedit import postedit

Key = tuple[str, ...]
_RANDOM_TRIES = 64  # rejection sampling, then a scan: uniform over the valid candidates either way


class Vocabulary:
    """The objects of every image: how often each is named, and with which others."""

    def __init__(self, per_image: Sequence[Sequence[Obj]]) -> None:
        self.freq: Counter[Key] = Counter()
        self.cooc: dict[Key, Counter[Key]] = defaultdict(Counter)
        forms: dict[Key, Counter[str]] = defaultdict(Counter)
        for objects in per_image:
            keys = list(dict.fromkeys(o.key for o in objects))
            self.freq.update(keys)
            for o in objects:
                forms[o.key][o.text] += 1
            for a in keys:
                self.cooc[a].update(b for b in keys if b != a)
        # The most common wording of each object (ties: the alphabetically first), for its questions.
        self.text = {k: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for k, c in forms.items()}
        self.by_popularity = sorted(self.freq, key=lambda k: (-self.freq[k], k))

    def __len__(self) -> int:
        return len(self.freq)


@dataclass(frozen=True)
class Absent:
    obj: Obj
    sampling: str


def is_absent(key: Key, own: set[Key], vocabulary: frozenset[str]) -> bool:
    """Not one of the image's objects, and no word of it anywhere in the image's captions."""
    return key not in own and not any(occurs(w, vocabulary) for w in key)


def sample_absent(
    strategy: str,
    own: Sequence[Obj],
    captions: frozenset[str],
    vocab: Vocabulary,
    rng: random.Random,
    taken: set[Key],
) -> Obj | None:
    """One absent object by `strategy`, not in `taken`; None when no object qualifies."""
    own_keys = {o.key for o in own}

    def ok(k: Key) -> bool:
        return k not in taken and is_absent(k, own_keys, captions)

    if strategy == "random":
        key = _random_key(vocab, ok, rng)
    elif strategy == "adversarial" and own_keys:
        score: Counter[Key] = Counter()
        for k in own_keys:
            score.update(vocab.cooc.get(k, Counter()))
        ranked = sorted(score, key=lambda k: (-score[k], -vocab.freq[k], k))
        key = next((k for k in ranked if ok(k)), None) or next(
            (k for k in vocab.by_popularity if ok(k)), None
        )
    else:  # popular, and adversarial for an image without objects
        key = next((k for k in vocab.by_popularity if ok(k)), None)
    return None if key is None else Obj(vocab.text[key], key)


def _random_key(vocab: Vocabulary, ok: Callable[[Key], bool], rng: random.Random) -> Key | None:
    keys = vocab.by_popularity
    for _ in range(_RANDOM_TRIES if keys else 0):
        k = keys[rng.randrange(len(keys))]
        if ok(k):
            return k
    valid = [k for k in keys if ok(k)]
    return rng.choice(valid) if valid else None


def object_question(obj: Obj, cfg: SynthesizeConfig) -> str:
    """ "Există un câine în imagine?" """
    return postedit(cfg.yes_no.template(cfg.target).format(obj=obj.text), cfg.target, cfg.postedit)


def generated_lean(screened: Screened) -> int:
    """How many more "yes" than "no" answers the LLM's own yes/no items of one image have."""
    return sum(i.label == "yes" for i in screened.items) - sum(i.label == "no" for i in screened.items)


def choose_objects(
    screened: Screened, vocab: Vocabulary, cfg: SynthesizeConfig, index: int, surplus: int = 0
) -> tuple[list[Obj], list[Absent]]:
    """Present and absent objects to ask about for the `index`-th image, seeded by the image's name.

    With `yes_no.balance`, a present question is added per "no" beyond the "yes" answers, and the
    absent questions then match the yes answers; otherwise `per_image` of each. The answers counted are
    the image's generated ones plus `surplus` (yes minus no of the images before it), so an image that
    could not even out (too few objects named) is made up for by the next ones.
    """
    if screened.failed is not None:
        return [], []  # no reply: no objects, and no caption vocabulary to prove an object absent
    rng = random.Random(f"{cfg.seed}:{screened.group.image}")  # str seeds hash the same in every process
    k, balance = cfg.yes_no.per_image, cfg.yes_no.balance
    lean = generated_lean(screened) + surplus
    asked = [i.question for i in screened.items]
    present: list[Obj] = []
    for obj in rng.sample(screened.objects, len(screened.objects)):
        if len(present) >= (k + max(0, -lean) if balance else k):
            break
        question = object_question(obj, cfg)
        if near_duplicate(question, asked, cfg.target, cfg.dedupe.method, cfg.dedupe.threshold) is None:
            present.append(obj)
            asked.append(question)
    absent: list[Absent] = []
    taken: set[Key] = set()
    sampling = cfg.yes_no.sampling
    for j in range(max(0, lean + len(present)) if balance else k):
        strategy = sampling[(index + j) % len(sampling)]
        drawn = sample_absent(strategy, screened.objects, screened.vocabulary, vocab, rng, taken)
        if drawn is None:
            break
        taken.add(drawn.key)
        absent.append(Absent(drawn, strategy))
    return present, absent
