"""The demo's English VLM: a small Qwen2-VL built from its real config, pretrained on the English world.

A real English VLM joins a vision encoder pretrained on image-text pairs (CLIP, SigLIP) to a language
model pretrained on text. A tiny random model has neither, and in a few CPU minutes its language model
does not learn to read image tokens that carry no information yet. So the vision side comes first, as
in the real recipes: `warm_up_vision` trains the vision encoder and its merger, through a linear probe on
the image tokens that is thrown away afterwards, to tell what each part of an image shows (the stand-in
for contrastive pretraining). Then `vlmadapt train` trains the language model on English conversations
about the training images (every question and the caption of an image in one conversation, as LLaVA's
instruction data), vision frozen as in LLaVA's recipe, and writes the model like any full training run.

This is the study stage `english` (study/stages.py). Given a cache folder, the model is built there under
a key of every setting that shapes it (the target language is not one) and copied into the stage's folder,
so a second demo, in either language or output folder, skips all this; a killed pretraining resumes from
its checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vlmadapt.data.toy import read_scenes
from vlmadapt.demo.world import conversations
from vlmadapt.models.tiny import Sizes

# Wider and deeper than the test fixtures (1.1M parameters): enough to learn the world in minutes.
SIZES = Sizes(hidden=128, intermediate=256, layers=4, kv_heads=8, vision_width=64)
FAMILY = "qwen2_vl"
IMAGE_SIZE = (168, 56)  # three 56-pixel slots: 2 x 2 merged image tokens each, 12 in all
VISION_LR = 3e-3  # the warm-up's
WARM_UP_IMAGES = 1000  # enough to name shapes, colours and places without error
PRETRAIN_LR = 1e-3  # the language model's: 3e-3 learned the world more slowly
CHATS_PER_BATCH = 8  # conversations of about ten questions each (world.conversations)


def cache_key(settings: dict[str, Any]) -> str:
    from vlmadapt import __version__

    blob = json.dumps({**settings, "vlmadapt": __version__, "sizes": SIZES.__dict__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def english_model(
    world: Path,
    out: Path,
    cache: Path | None,
    *,
    vision_steps: int,
    pretrain_steps: int,
    seed: int,
    say: Callable[[str], None],
) -> Path:
    """The pretrained English model, in `out`/pretrain: built there, or in `cache` (once) and copied."""
    if cache is None:
        return _build(world, out, vision_steps, pretrain_steps, seed, say)
    settings = {
        "train_images": [image for image, (split, _) in read_scenes(world).items() if split == "train"],
        # what it is asked about them (the world's questions per image are a setting too)
        "english_records": hashlib.sha256((world / "en.jsonl").read_bytes()).hexdigest(),
        "vision_steps": vision_steps,
        "pretrain_steps": pretrain_steps,
        "batch_size": CHATS_PER_BATCH,
        "seed": seed,
        "data": "conversations",
        "warm_up_images": WARM_UP_IMAGES,
        "tokenizer": "english_corpus",
        "lr": PRETRAIN_LR,
    }
    home = cache / f"english-{FAMILY}-{cache_key(settings)}"
    if (home / "pretrain" / "metrics.json").is_file():
        say(f"English model: cached in {home}")
    else:
        _build(world, home, vision_steps, pretrain_steps, seed, say)
    # A copy, not a link: the study runner hashes what the stage wrote. Checkpoints stay in the cache.
    shutil.rmtree(out / "pretrain", ignore_errors=True)
    shutil.copytree(home / "pretrain", out / "pretrain", ignore=shutil.ignore_patterns("checkpoints"))
    return out / "pretrain"


def _build(
    world: Path, home: Path, vision_steps: int, pretrain_steps: int, seed: int, say: Callable[[str], None]
) -> Path:
    init = home / "init"
    if not (init / "vision-warmup.json").is_file():
        say(f"English model: building a {FAMILY} of {SIZES.hidden} x {SIZES.layers} layers -> {init}")
        shutil.rmtree(init, ignore_errors=True)
        build(init, seed)
        say(f"English model: vision warm-up, {vision_steps} steps")
        warm_up_vision(init, world, vision_steps, seed)
    say(f"English model: pretraining on English conversations about the images, {pretrain_steps} steps")
    mix = conversations(world / "en.jsonl", home / "en.chats.jsonl", seed)
    return pretrain(init, mix, world, home / "pretrain", pretrain_steps, CHATS_PER_BATCH, seed)


def build(out: Path, seed: int) -> Path:
    """A random Qwen2-VL whose tokenizer is trained on general English text only (models.corpus), not on
    the world's sentences: Romanian and French letters are then the byte tokens an English model has."""
    from vlmadapt.models.tiny import build_tiny

    return build_tiny(FAMILY, out, seed=seed, sizes=SIZES)


def warm_up_vision(model_dir: Path, world: Path, steps: int, seed: int) -> None:
    """Train the vision encoder and merger to name each slot's shape and colour (or "empty").

    A linear probe reads all image tokens of an image (flattened, so it knows where each token is) and
    classifies each of the three slots; a second probe reads each token alone and names its place in the
    grid, so every token carries where it is (Qwen2-VL's encoder has relative positions only, and the
    language model's M-RoPE gives it no easy way to tell "left" from "right"). Both probes are discarded.
    Training images only.
    """
    import torch

    from vlmadapt.console import progress
    from vlmadapt.data.toy import COLOURS, SHAPES, SLOTS, read_scenes
    from vlmadapt.images import load_image
    from vlmadapt.models import load_model

    torch.manual_seed(seed)
    model, processor = load_model(model_dir, FAMILY, dtype=torch.float32)
    scenes = [(image, shapes) for image, (split, shapes) in read_scenes(world).items() if split == "train"]
    scenes = scenes[:WARM_UP_IMAGES]
    classes = len(SHAPES) * len(COLOURS) + 1  # a shape in a colour, or nothing
    labels = torch.full((len(scenes), len(SLOTS)), classes - 1)  # [N, 3]
    for i, (_, shapes) in enumerate(scenes):
        for s in shapes:
            labels[i, SLOTS.index(s.slot)] = SHAPES.index(s.shape) * len(COLOURS) + list(COLOURS).index(
                s.colour
            )
    inputs = processor.image_processor(
        images=[load_image(world, im) for im, _ in scenes], return_tensors="pt"
    )
    grid = inputs["image_grid_thw"]  # [N, 3]: the same grid for every image of the world
    patches = inputs["pixel_values"].view(len(scenes), int(grid[0].prod()), -1)  # [N, P, C*T*14*14]
    tokens = int(grid[0].prod()) // model.config.vision_config.spatial_merge_size**2
    visual = model.model.visual
    width = model.config.text_config.hidden_size
    probe = torch.nn.Linear(tokens * width, len(SLOTS) * classes)
    where = torch.nn.Linear(width, tokens)
    params = [*visual.parameters(), *probe.parameters(), *where.parameters()]
    optim = torch.optim.AdamW(params, lr=VISION_LR)
    places = torch.arange(tokens).repeat(64)  # [64 * T]: each token's index in the grid
    losses = []
    with progress("vision warm-up") as bar:
        task = bar.add_task("vision warm-up", total=steps)
        for _ in range(steps):
            idx = torch.randint(len(scenes), (64,))
            feats = visual(patches[idx].flatten(0, 1), grid_thw=grid[idx]).pooler_output  # [64 * T, D]
            logits = probe(feats.view(len(idx), -1)).view(-1, classes)  # [64 * 3, classes]
            loss = torch.nn.functional.cross_entropy(logits, labels[idx].flatten())
            loss = loss + torch.nn.functional.cross_entropy(where(feats), places)
            loss.backward()
            optim.step()
            optim.zero_grad()
            losses.append(round(loss.item(), 4))
            bar.update(task, advance=1)
    model.save_pretrained(model_dir)
    (model_dir / "vision-warmup.json").write_text(
        json.dumps({"steps": steps, "loss": losses}), encoding="utf-8"
    )


def pretrain(
    init: Path, train: Path, images: Path, out: Path, steps: int, batch_size: int, seed: int
) -> Path:
    """`vlmadapt train`: the language model (and lm_head) in full on the English training split."""
    from vlmadapt.train import TrainConfig
    from vlmadapt.train import run as train_run

    cfg = TrainConfig.model_validate(
        {
            "output_dir": out,
            "model": {"path": str(init)},
            "data": {"train": train, "image_root": images},
            "lora": None,
            "trainable": ["language_model", "lm_head"],
            "train": {
                "max_steps": steps,
                "batch_size": batch_size,
                "lr": PRETRAIN_LR,
                "scheduler": "cosine",
                "warmup": 30,
                "seed": seed,
                "logging_steps": 10,
                "save_steps": 100,
                "save_total_limit": 1,
                "tensorboard": False,
            },
        }
    )
    return train_run(cfg)
