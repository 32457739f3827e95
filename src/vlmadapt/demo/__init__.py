"""`vlmadapt demo`: an English VLM taken to Romanian or French on a toy world, on a laptop CPU."""

from vlmadapt.demo.config import DemoConfig
from vlmadapt.demo.run import run

__all__ = ["DemoConfig", "run"]
