"""Synthetic data shaped like Flickr30k-RoQA: Flickr-sized JPEG photos, short Romanian questions and answers.

Flickr30k images are mostly 500 pixels on the long side (500x375, 500x333, 375x500, ...); RoQA questions
run 10-20 words and answers 1-15 words, about five questions per image. The pixels are a smooth random
colour field with grain, so JPEG decoding costs about what a photo costs (pure noise would cost more).
"""

from __future__ import annotations

import random
from pathlib import Path

from vlmadapt.records import Example

# (width, height) of Flickr30k images, most common first; drawn with these weights
FLICKR_SIZES = ((500, 375), (500, 333), (375, 500), (333, 500), (500, 400), (500, 500))
SIZE_WEIGHTS = (5, 3, 2, 1, 1, 1)
QUESTION_WORDS = (10, 20)
ANSWER_WORDS = (1, 15)
PER_IMAGE = 5
WORDS = (
    "bărbat",
    "femeie",
    "copil",
    "câine",
    "pisică",
    "stradă",
    "parc",
    "apă",
    "minge",
    "bicicletă",
    "mașină",
    "cămașă",
    "roșie",
    "albastră",
    "verde",
    "mare",
    "mic",
    "lângă",
    "peste",
    "sub",
    "între",
    "ține",
    "poartă",
    "stă",
    "merge",
    "aleargă",
    "privește",
    "zâmbește",
    "joacă",
    "grup",
    "oameni",
    "clădire",
    "copac",
    "iarbă",
    "cer",
    "zăpadă",
    "plajă",
    "munte",
    "pod",
    "masă",
    "scaun",
    "fereastră",
    "ușă",
    "pălărie",
    "geantă",
    "telefon",
    "carte",
    "cafea",
    "tânăr",
    "bătrân",
    "alb",
    "negru",
    "galben",
    "în",
    "pe",
    "cu",
    "și",
    "la",
    "din",
    "care",
    "ce",
    "cine",
    "unde",
    "este",
    "sunt",
)


def _sentence(rng: random.Random, low: int, high: int, end: str) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize() + end


def write_image(path: Path, size: tuple[int, int], rng: random.Random) -> None:
    import numpy as np
    from PIL import Image

    gen = np.random.default_rng(rng.randrange(2**32))
    coarse = gen.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    field = np.asarray(Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC), dtype=np.int16)
    grain = gen.integers(-12, 13, size=field.shape, dtype=np.int16)
    Image.fromarray(np.clip(field + grain, 0, 255).astype(np.uint8)).save(path, quality=90)


def roqa_examples(n: int, root: Path, seed: int = 0) -> list[Example]:
    """`n` open-VQA examples (lang ro, split train) over n / 5 images written under `root/images`."""
    rng = random.Random(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    examples = []
    for i in range(n):
        rel = f"images/{i // PER_IMAGE:05d}.jpg"
        if i % PER_IMAGE == 0:
            size = rng.choices(FLICKR_SIZES, SIZE_WEIGHTS)[0]
            write_image(root / rel, size, rng)
        question = _sentence(rng, *QUESTION_WORDS, "?")
        answer = _sentence(rng, *ANSWER_WORDS, ".")
        examples.append(
            Example.model_validate(
                {
                    "id": f"roqa-{i:05d}",
                    "task": "open_vqa",
                    "lang": "ro",
                    "image": rel,
                    "question": question,
                    "answers": [answer],
                    "meta": {"split": "train"},
                }
            )
        )
    return examples
