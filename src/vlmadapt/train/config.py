"""The typed config of `vlmadapt train`: one pydantic model, loaded from a YAML recipe plus ``key=value``.

Defaults live here and nowhere else. A recipe may list ``stages``: each is a partial config (the same keys)
merged over the recipe, run in order, each stage starting from the model the previous one wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vlmadapt.config import build_config, deep_merge, load_config
from vlmadapt.errors import ConfigError
from vlmadapt.prompts import PromptConfig

Group = Literal["vision", "projector", "language_model", "lm_head"]
GROUPS: tuple[str, ...] = ("vision", "projector", "language_model", "lm_head")
Precision = Literal["auto", "bf16", "fp16", "fp32"]
SCHEDULERS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "cosine_with_min_lr",
    "warmup_stable_decay",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSpec(_Strict):
    """Which checkpoint to start from."""

    path: str | None = None  # local directory or hub id; with `assemble`, where the assembled model goes
    family: str | None = None  # default: `model_type` of the checkpoint's config.json
    quantization: Literal["none", "4bit"] = "none"  # 4bit: QLoRA through bitsandbytes, CUDA only
    attn_implementation: str | None = None  # e.g. "flash_attention_2"; default: transformers' (SDPA)


class AssembleSpec(_Strict):
    """Build a LLaVA-style VLM from a language model and a vision encoder, with a fresh projector."""

    language_model: str  # causal LM directory or hub id (e.g. mistralai/Mistral-7B-Instruct-v0.2)
    vision_encoder: str  # vision model directory or hub id with an image processor (e.g. SigLIP-SO400M-384)
    projector_hidden_act: str = "gelu"  # LLaVA-1.5's mlp2x_gelu
    vision_feature_layer: int = -2  # LLaVA-1.5 takes the penultimate layer
    vision_feature_select_strategy: Literal["default", "full"] = "full"  # SigLIP has no CLS token to drop
    image_token: str = "<image>"
    chat_template: str | None = None  # default: the language model's own template when it handles images


class DataSpec(_Strict):
    """Training examples (vlmadapt records) and how they become batches."""

    train: Path
    eval: Path | None = None
    image_root: Path | None = None  # default: the folder of the train file
    max_length: int = Field(default=2048, ge=8)  # tokens, image tokens included
    split: str | None = None  # keep only training examples whose meta.split is this (e.g. "train")
    eval_split: str | None = None  # the same for data.eval (e.g. "test")
    limit: int | None = Field(default=None, ge=1)  # use only the first N training examples
    strict: bool = False  # stop at the first rejected example instead of counting it and going on
    system_prompt: str | None = None
    prompts: PromptConfig = PromptConfig()
    # Resolution caps. Qwen2-VL's processor resizes to a pixel budget; the others cut images into views
    # whose size and number the model's weights fix (Mllama: up to 4 tiles of 560 px; LLaVA-NeXT: the
    # config's grid pinpoints; LLaVA: the encoder's size), so only Qwen2-VL has a cap to set.
    min_pixels: int | None = Field(default=None, ge=1)
    max_pixels: int | None = Field(default=None, ge=1)
    image_kwargs: dict[str, Any] = Field(default_factory=dict)  # passed to the processor call as is
    num_workers: int = Field(default=0, ge=0)  # DataLoader workers that build batches (images, tokens) lazily
    # sort samples by length within windows of 50 batches before batching (transformers' group_by_length):
    # less padding, a little less randomness in what goes together
    group_by_length: bool = False


class LoraSpec(_Strict):
    """LoRA adapters; targets are every linear layer inside the listed groups, found by walking the model."""

    r: int = Field(default=16, ge=1)
    alpha: float = 16
    dropout: float = Field(default=0.0, ge=0, lt=1)
    groups: list[Group] = Field(default_factory=lambda: list[Group](["language_model"]))
    modules: list[str] = Field(default_factory=list)  # further linear layers, by full module name

    @field_validator("groups")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))


class OptimSpec(_Strict):
    """Steps, optimiser and schedule; names follow transformers `TrainingArguments` where they exist."""

    max_steps: int = Field(default=-1, ge=-1)  # -1: run `epochs` epochs
    epochs: float = Field(default=1.0, gt=0)
    batch_size: int = Field(default=1, ge=1)  # per device
    grad_accum: int = Field(default=1, ge=1)
    lr: float = Field(default=2e-4, ge=0)
    group_lr: dict[Group, float] = Field(default_factory=dict)  # per-group learning rates (double finetune)
    scheduler: str = "linear"
    warmup: float = Field(default=0.0, ge=0)  # a ratio of the steps when < 1, else a number of steps
    weight_decay: float = Field(default=0.0, ge=0)
    max_grad_norm: float = Field(default=1.0, ge=0)
    optim: str = "auto"  # a transformers optimizer name; auto: fused AdamW on CUDA, adamw_torch elsewhere
    precision: Precision = "auto"  # auto: bf16 on GPUs that support it, fp16 on older GPUs, fp32 on CPU
    gradient_checkpointing: bool = False
    seed: int = 42
    logging_steps: int = Field(default=10, ge=1)
    eval_steps: int | None = Field(default=None, ge=1)  # evaluate every N steps (needs data.eval)
    eval_batch_size: int | None = Field(default=None, ge=1)
    save_steps: int | None = Field(default=None, ge=1)  # checkpoint every N steps; None: only the final save
    save_total_limit: int | None = Field(default=2, ge=1)
    resume: bool | Literal["auto"] = "auto"  # auto: resume from the newest checkpoint when there is one
    tensorboard: bool | Literal["auto"] = "auto"  # auto: log to TensorBoard when it is installed

    @field_validator("scheduler")
    @classmethod
    def _known_scheduler(cls, v: str) -> str:
        if v not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {v!r}; known: {', '.join(SCHEDULERS)}")
        return v


class TrainConfig(_Strict):
    """Everything `vlmadapt train` needs. `stages` (if any) are partial configs merged over this one."""

    output_dir: Path = Field(description="Where the adapter (or model), logs and checkpoints go.")
    model: ModelSpec = ModelSpec()
    assemble: AssembleSpec | None = None
    data: DataSpec
    lora: LoraSpec | None = LoraSpec()  # null: no adapters (e.g. projector pretraining)
    trainable: list[Group] = Field(
        default_factory=list, description="Module groups trained in full, not through adapters."
    )
    train: OptimSpec = OptimSpec()
    merge: bool = Field(
        default=False, description="Also write the adapter merged into the base model, in OUTPUT_DIR/merged."
    )
    stages: list[dict[str, Any]] = Field(default_factory=list)
    name: str | None = Field(default=None, description="A stage's name (in a staged recipe).")

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if self.model.path is None and self.assemble is None:
            raise ValueError("model.path is required (or an `assemble` section that builds the model)")
        if self.lora is None and not self.trainable and not self.stages:
            raise ValueError("nothing to train: give `lora` or list groups under `trainable`")
        both = set(self.trainable) & set(self.lora.groups if self.lora else [])
        if both:
            raise ValueError(f"group(s) {sorted(both)} both fully trainable and given adapters; pick one")
        frozen = set(self.train.group_lr) - set(self.trainable) - set(self.lora.groups if self.lora else [])
        if frozen and not self.stages:
            raise ValueError(
                f"train.group_lr names frozen group(s) {sorted(frozen)}; list them in `trainable`"
            )
        if self.train.eval_steps and self.data.eval is None:
            raise ValueError("train.eval_steps needs data.eval")
        return self


def load_train_config(path: Path | str | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """A validated config from a recipe file and ``key=value`` overrides; every stage is validated too."""
    cfg = load_config(TrainConfig, path, overrides)
    stage_configs(cfg, str(path or "config"))
    return cfg


def stage_configs(cfg: TrainConfig, source: str = "config") -> list[TrainConfig]:
    """The configs to run in order: the recipe itself, or one per stage (each in output_dir/NN-name)."""
    if not cfg.stages:
        return [cfg]
    base = cfg.model_dump(mode="json", exclude={"stages"}, exclude_unset=True)
    out: list[TrainConfig] = []
    for i, stage in enumerate(cfg.stages):
        if not isinstance(stage, dict):
            raise ConfigError(f"{source}: stages.{i}: a stage is a mapping of config keys")
        if "stages" in stage or "output_dir" in stage:
            raise ConfigError(f"{source}: stages.{i}: a stage cannot set 'stages' or 'output_dir'")
        name = str(stage.get("name") or f"stage{i + 1}")
        merged = deep_merge(base, stage)
        merged["output_dir"] = str(cfg.output_dir / f"{i + 1:02d}-{name}")
        merged["name"] = name
        if i > 0:  # later stages start from the previous stage's model; the assembly happens once
            merged.pop("assemble", None)
        out.append(build_config(TrainConfig, merged, f"{source}: stages.{i} ({name})"))
    return out
