"""The transformers `Trainer` of a run: its arguments, per-group learning rates, TensorBoard.

Nothing here loops over batches or talks to other processes: the Trainer does both (with accelerate for
DDP, DeepSpeed and FSDP). What is added is configuration: `TrainingArguments` from the recipe, an optimizer
factory with one learning rate per model part, an optional TensorBoard callback, and the console display
(progress.py) in place of the Trainer's printed log dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlmadapt.errors import ConfigError
from vlmadapt.train.config import TrainConfig

if TYPE_CHECKING:
    from vlmadapt.train.run import Data


def training_args(cfg: TrainConfig, precision: str, has_eval: bool) -> Any:
    """transformers `TrainingArguments` from the recipe (names checked against transformers 5.23)."""
    from transformers import TrainingArguments

    t = cfg.train
    return TrainingArguments(
        output_dir=str(cfg.output_dir / "checkpoints"),
        per_device_train_batch_size=1,  # each item is a whole batch of t.batch_size (batches.group_batches)
        per_device_eval_batch_size=1,
        gradient_accumulation_steps=t.grad_accum,
        max_steps=t.max_steps,
        num_train_epochs=t.epochs,
        learning_rate=t.lr,
        lr_scheduler_type=t.scheduler,
        warmup_steps=t.warmup,
        weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm,
        optim=resolve_optim(t.optim),
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        activation_checkpointing=t.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if t.gradient_checkpointing else None,
        seed=t.seed,
        data_seed=t.seed,
        logging_steps=t.logging_steps,
        logging_first_step=True,
        eval_strategy="steps" if has_eval and t.eval_steps else "no",
        eval_steps=t.eval_steps,
        save_strategy="steps" if t.save_steps else "no",
        save_steps=t.save_steps or 500,
        save_total_limit=t.save_total_limit,
        report_to="none",  # TensorBoard is added as a callback writing to output_dir/logs
        remove_unused_columns=False,  # the collator needs the raw records
        label_names=["labels"],  # PeftModel's forward(**kwargs) does not name them
        prediction_loss_only=True,  # evaluation reports the loss; no logits kept
        dataloader_num_workers=cfg.data.num_workers,
        dataloader_pin_memory=_has_cuda(),
        dataloader_persistent_workers=cfg.data.num_workers > 0,  # no new worker processes every epoch
        use_cpu=not _has_cuda(),  # also makes CPU processes under torchrun/accelerate use gloo
        ddp_find_unused_parameters=bool(cfg.trainable),  # a text-only batch leaves vision/projector unused
        disable_tqdm=True,
    )


def resolve_optim(optim: str) -> str:
    """auto: fused AdamW on CUDA (one kernel for all parameters instead of a loop over them), plain AdamW
    elsewhere; any other name is kept."""
    if optim != "auto":
        return optim
    return "adamw_torch_fused" if _has_cuda() else "adamw_torch"


def build_trainer(
    cfg: TrainConfig,
    args: Any,
    model: Any,
    processor: Any,
    data: Data,
    layout: Any,
    callbacks: list[Any] | None,
) -> Any:
    from transformers import Trainer

    from vlmadapt.train.progress import replace_console_callbacks

    optimizer = (
        group_lr_optimizer(args, layout, {str(k): v for k, v in cfg.train.group_lr.items()})
        if cfg.train.group_lr
        else None
    )
    extra = [cb for cb in [tensorboard(cfg.train.tensorboard, cfg.output_dir / "logs")] if cb is not None]
    trainer = Trainer(
        model=model,
        args=args,
        data_collator=data.collator,
        train_dataset=data.train,
        eval_dataset=data.eval,
        processing_class=processor,
        callbacks=[*extra, *(callbacks or [])],
        optimizer_cls_and_kwargs=optimizer,
    )
    return replace_console_callbacks(trainer)  # a rich live line instead of printed dicts


def group_lr_optimizer(args: Any, layout: Any, group_lr: Mapping[str, float]) -> tuple[Any, dict[str, Any]]:
    """An optimizer factory for `Trainer(optimizer_cls_and_kwargs=...)`: the optimizer the arguments name,
    with one parameter group per (model part, weight decay) at that part's learning rate. The Trainer calls
    the factory with the model it trains (after wrapping), so this works under DDP, DeepSpeed and FSDP."""
    from torch import nn
    from transformers import Trainer
    from transformers.trainer_pt_utils import get_parameter_names

    from vlmadapt.train.plan import owner_group

    optimizer_cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(args)

    def build(model: Any, **_: Any) -> Any:
        # the same no-decay rule as Trainer.get_decay_parameter_names
        patterns = [r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)"]
        decay = set(get_parameter_names(model, [nn.LayerNorm], patterns))
        groups: dict[tuple[float, bool], list[Any]] = {}
        for name, p in model.named_parameters():
            if p.requires_grad:
                lr = group_lr.get(owner_group(name, layout), args.learning_rate)
                groups.setdefault((lr, name in decay), []).append(p)
        params = [
            {"params": ps, "lr": lr, "weight_decay": args.weight_decay if d else 0.0}
            for (lr, d), ps in groups.items()
        ]
        return optimizer_cls(params, **kwargs)

    return (lambda: build), {}


def tensorboard(setting: bool | str, logdir: Path) -> Any:
    """A TensorBoard callback writing to `logdir`, or None (auto: only when tensorboard is installed)."""
    from transformers.integrations import is_tensorboard_available

    if setting is False:
        return None
    if not is_tensorboard_available():
        if setting is True:
            raise ConfigError(
                "train.tensorboard: true, but tensorboard is not installed "
                "(pip install tensorboard), or set train.tensorboard=auto"
            )
        return None
    from transformers.integrations import TensorBoardCallback

    callback = TensorBoardCallback()
    callback.logging_dir = str(logdir)  # instead of TENSORBOARD_LOGGING_DIR: no global state
    return callback


def _has_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())
