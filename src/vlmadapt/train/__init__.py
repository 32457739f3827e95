"""The train stage: LoRA / QLoRA adapters on the language model, LLaVA-style assembly and staged recipes.

`run(config) -> Path` trains as a recipe says; `dry_run(config)` prints what would train, from config.json
files alone. Importing this package is cheap: torch, transformers and PEFT load inside the functions.
"""

from vlmadapt.train.config import TrainConfig, load_train_config, stage_configs
from vlmadapt.train.run import dry_run, run

__all__ = ["TrainConfig", "dry_run", "load_train_config", "run", "stage_configs"]
