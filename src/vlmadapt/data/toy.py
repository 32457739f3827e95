"""A toy multimodal world: images of coloured shapes with questions and exact references in en, fr, ro.

Each image holds one to three shapes in distinct horizontal slots (left, middle, right). Questions ask for
colour, shape, count and position, plus yes/no existence questions balanced with absent objects. French
and Romanian references come from a small grammar that gets gender and agreement right ("o stea roșie",
"un cerc roșu"; "une étoile verte", "un carré vert"), so a model that answers in the target language can be
scored exactly. Records are ordinary vlmadapt examples; train and test are split by image.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vlmadapt.jsonl import write_jsonl
from vlmadapt.records import Example, SourceText, Task

COLOURS = {"red": (220, 40, 40), "green": (30, 160, 60), "blue": (40, 80, 230), "yellow": (235, 200, 20)}
SHAPES = ("circle", "square", "triangle", "star")
SLOTS = ("left", "middle", "right")
LANGS = ("en", "fr", "ro")


@dataclass(frozen=True)
class Shape:
    shape: str
    colour: str
    slot: str
    large: bool


# --- grammar -----------------------------------------------------------------------------------------
# Nouns: (indefinite phrase stem, gender, definite form). Romanian neuter nouns agree like masculine ones
# in the singular. Adjectives: (masculine/neuter singular, feminine singular).
_NOUNS = {
    "fr": {
        "circle": ("cercle", "m", "le cercle"),
        "square": ("carré", "m", "le carré"),
        "triangle": ("triangle", "m", "le triangle"),
        "star": ("étoile", "f", "l'étoile"),
    },
    "ro": {
        "circle": ("cerc", "n", "cercul"),
        "square": ("pătrat", "n", "pătratul"),
        "triangle": ("triunghi", "n", "triunghiul"),
        "star": ("stea", "f", "steaua"),
    },
}
_ADJ = {
    "fr": {
        "red": ("rouge", "rouge"),
        "green": ("vert", "verte"),
        "blue": ("bleu", "bleue"),
        "yellow": ("jaune", "jaune"),
    },
    "ro": {
        "red": ("roșu", "roșie"),
        "green": ("verde", "verde"),
        "blue": ("albastru", "albastră"),
        "yellow": ("galben", "galbenă"),
    },
}
_INDEF = {"fr": {"m": "un", "f": "une"}, "ro": {"m": "un", "n": "un", "f": "o"}}
_COUNT = {"en": ("one", "two", "three"), "fr": ("une", "deux", "trois"), "ro": ("una", "două", "trei")}
_POSITION = {
    "en": {"left": "on the left", "middle": "in the middle", "right": "on the right"},
    "fr": {"left": "à gauche", "middle": "au milieu", "right": "à droite"},
    "ro": {"left": "în stânga", "middle": "în mijloc", "right": "în dreapta"},
}
_YES_NO = {"en": ("yes", "no"), "fr": ("oui", "non"), "ro": ("da", "nu")}
_AND = {"en": "and", "fr": "et", "ro": "și"}


def _adj(lang: str, colour: str, gender: str) -> str:
    masc, fem = _ADJ[lang][colour]
    return fem if gender == "f" else masc


def noun_phrase(lang: str, shape: str, colour: str) -> str:
    """Indefinite noun phrase: 'a red star', 'une étoile rouge', 'o stea roșie'."""
    if lang == "en":
        return f"a {colour} {shape}"
    noun, gender, _ = _NOUNS[lang][shape]
    return f"{_INDEF[lang][gender]} {noun} {_adj(lang, colour, gender)}"


def _name(lang: str, shape: str) -> str:
    return shape if lang == "en" else _NOUNS[lang][shape][0]


def _definite(lang: str, shape: str) -> str:
    return f"the {shape}" if lang == "en" else _NOUNS[lang][shape][2]


def caption(lang: str, shapes: list[Shape]) -> str:
    phrases = [
        noun_phrase(lang, s.shape, s.colour) for s in sorted(shapes, key=lambda s: SLOTS.index(s.slot))
    ]
    text = phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])} {_AND[lang]} {phrases[-1]}"
    return text[0].upper() + text[1:] + "."


def question(lang: str, kind: str, shape: str = "", colour: str = "") -> str:
    """The question of a kind ('count', 'colour', 'shape', 'position', 'exists') in a language."""
    if kind == "count":
        return {
            "en": "How many shapes are there?",
            "fr": "Combien de formes y a-t-il ?",
            "ro": "Câte forme sunt în imagine?",
        }[lang]
    if kind == "exists":
        phrase = noun_phrase(lang, shape, colour)
        return {"en": f"Is there {phrase}?", "fr": f"Y a-t-il {phrase} ?", "ro": f"Există {phrase}?"}[lang]
    if kind == "shape":
        if lang == "en":
            return f"What shape is the {colour} object?"
        obj = "Quelle forme a l'objet" if lang == "fr" else "Ce formă are obiectul"
        return f"{obj} {_adj(lang, colour, 'm')}{' ?' if lang == 'fr' else '?'}"
    the = _definite(lang, shape)
    templates = {  # colour, position
        "en": ("What colour is {}?", "Where is {}?"),
        "fr": ("De quelle couleur est {} ?", "Où est {} ?"),
        "ro": ("Ce culoare are {}?", "Unde este {}?"),
    }[lang]
    return templates[0 if kind == "colour" else 1].format(the)


def answer(lang: str, kind: str, target: Shape | None, shapes: list[Shape]) -> str:
    if kind == "count":
        return _COUNT[lang][len(shapes) - 1]
    if kind == "exists":
        return _YES_NO[lang][0 if target is not None else 1]
    assert target is not None  # internal: only 'exists' asks about an absent object
    if kind == "colour":
        if lang == "en":
            return target.colour
        return _adj(lang, target.colour, _NOUNS[lang][target.shape][1])
    if kind == "shape":
        return _name(lang, target.shape)
    return _POSITION[lang][target.slot]


# --- scenes and images ------------------------------------------------------------------------------------
def sample_scene(rng: random.Random) -> list[Shape]:
    n = rng.randint(1, 3)
    slots = rng.sample(SLOTS, n)
    combos = rng.sample([(s, c) for s in SHAPES for c in COLOURS], n)
    return [
        Shape(shape, colour, slot, rng.random() < 0.5)
        for slot, (shape, colour) in zip(slots, combos, strict=True)
    ]


def draw(shapes: list[Shape], size: tuple[int, int]) -> object:
    """A PIL image: white background, each shape centred in its third of the width."""
    from PIL import Image, ImageDraw

    w, h = size
    im = Image.new("RGB", size, (255, 255, 255))
    pen = ImageDraw.Draw(im)
    for s in shapes:
        cx, cy = (SLOTS.index(s.slot) + 0.5) * w / 3, h / 2
        r = min(w / 6, h / 2) * (0.85 if s.large else 0.6)
        box = (cx - r, cy - r, cx + r, cy + r)
        fill = COLOURS[s.colour]
        if s.shape == "circle":
            pen.ellipse(box, fill=fill)
        elif s.shape == "square":
            pen.rectangle((cx - r * 0.8, cy - r * 0.8, cx + r * 0.8, cy + r * 0.8), fill=fill)
        elif s.shape == "triangle":
            pen.polygon([(cx, cy - r), (cx - r, cy + r * 0.8), (cx + r, cy + r * 0.8)], fill=fill)
        else:
            pen.regular_polygon((cx, cy, r), n_sides=5, fill=fill)  # filled pentagon core
            pen.polygon(_star_points(cx, cy, r), fill=fill)
    return im


def _star_points(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    import math

    pts = []
    for i in range(10):
        rad = r if i % 2 == 0 else r * 0.45
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    return pts


# --- questions per scene ----------------------------------------------------------------------------------
def scene_items(
    shapes: list[Shape], rng: random.Random, exists: int = 1
) -> Iterator[tuple[str, Shape | None, str, str]]:
    """(kind, target, shape, colour) for every question asked about a scene.

    Colour and position questions name a shape that is unique in the scene; shape questions name a unique
    colour; each scene gets `exists` present and as many absent existence questions (fewer when it shows
    fewer distinct objects), so yes/no is balanced.
    """
    yield "count", None, "", ""
    for s in shapes:
        if sum(o.shape == s.shape for o in shapes) == 1:
            yield "colour", s, s.shape, s.colour
            yield "position", s, s.shape, s.colour
        if sum(o.colour == s.colour for o in shapes) == 1:
            yield "shape", s, s.shape, s.colour
    distinct = list({(s.shape, s.colour): s for s in shapes}.values())
    n = min(exists, len(distinct))
    # One draw when n == 1, as before: a world of one existence pair per image stays the same.
    present = [rng.choice(shapes)] if n == 1 else rng.sample(distinct, n)
    for p in present:
        yield "exists", p, p.shape, p.colour
    missing = [
        (sh, c) for sh in SHAPES for c in COLOURS if not any(o.shape == sh and o.colour == c for o in shapes)
    ]
    for sh, c in [rng.choice(missing)] if n == 1 else rng.sample(missing, n):
        yield "exists", None, sh, c


def scene_examples(
    image: str, shapes: list[Shape], lang: str, split: str, rng: random.Random, exists: int = 1
) -> list[Example]:
    meta = {"split": split, "world": "toy"}
    out = [
        _example(
            f"{Path(image).stem}-caption",
            image,
            lang,
            Task.caption,
            None,
            [caption(lang, shapes)],
            None if lang == "en" else SourceText(lang="en", answers=[caption("en", shapes)]),
            meta,
        )
    ]
    for i, (kind, target, shape, colour) in enumerate(scene_items(shapes, rng, exists)):
        task = Task.yes_no if kind == "exists" else Task.open_vqa
        q, a = question(lang, kind, shape, colour), answer(lang, kind, target, shapes)
        src = (
            None
            if lang == "en"
            else SourceText(
                lang="en",
                question=question("en", kind, shape, colour),
                answers=[answer("en", kind, target, shapes)],
            )
        )
        out.append(
            _example(f"{Path(image).stem}-q{i}", image, lang, task, q, [a], src, meta | {"kind": kind})
        )
    return out


def _example(
    id_: str,
    image: str,
    lang: str,
    task: Task,
    q: str | None,
    answers: list[str],
    source: SourceText | None,
    meta: dict[str, str],
) -> Example:
    return Example(
        id=id_, image=image, lang=lang, task=task, question=q, answers=answers, source=source, meta=meta
    )


def generate_world(
    out_dir: Path | str,
    n_images: int = 400,
    *,
    seed: int = 0,
    langs: tuple[str, ...] = LANGS,
    image_size: tuple[int, int] = (112, 56),
    test_share: float = 0.2,
    exists: int = 1,
) -> dict[str, Path]:
    """Draw `n_images` scenes into `out_dir/images/` and write `out_dir/<lang>.jsonl` for each language.

    Each image gets `exists` present and as many absent existence (yes/no) questions.

    The same seed gives the same images and questions in every language, so `fr.jsonl` and `ro.jsonl` are
    exact translations of `en.jsonl`, id for id. What each image shows is in `out_dir/scenes.jsonl`
    (`read_scenes`). Returns the path of each language's records.
    """
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    scenes = []
    for i in range(n_images):
        shapes = sample_scene(rng)
        image = f"images/toy-{i:05d}.png"
        draw(shapes, image_size).save(out_dir / image)  # type: ignore[attr-defined]
        split = "test" if i < round(n_images * test_share) else "train"
        scenes.append((image, shapes, split, rng.random()))
    write_jsonl(
        out_dir / "scenes.jsonl",
        [
            {"image": image, "split": split, "shapes": [s.__dict__ for s in shapes]}
            for image, shapes, split, _ in scenes
        ],
    )
    paths = {}
    for lang in langs:
        records = []
        for image, shapes, split, qseed in scenes:  # same question draws in every language
            records.extend(scene_examples(image, shapes, lang, split, random.Random(qseed), exists))
        paths[lang] = write_jsonl(out_dir / f"{lang}.jsonl", records)
    return paths


def read_scenes(world_dir: Path | str) -> dict[str, tuple[str, list[Shape]]]:
    """image path -> (split, shapes) from a world's scenes.jsonl."""
    from vlmadapt.jsonl import iter_jsonl

    return {
        row["image"]: (row["split"], [Shape(**shape) for shape in row["shapes"]])
        for _, row in iter_jsonl(Path(world_dir) / "scenes.jsonl")
    }
