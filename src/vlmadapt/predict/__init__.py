"""The predict stage: batched, resumable generation with a VLM (and optional adapter)."""

from vlmadapt.predict.generate import GenerationConfig
from vlmadapt.predict.run import PredictConfig, run

__all__ = ["GenerationConfig", "PredictConfig", "run"]
