"""The translate stage: backends (registry), SQLite cache, structure protection, post-editing, run.

from vlmadapt.translate import BackendConfig, TranslateConfig, run
run(TranslateConfig(input="en.jsonl", output="ro.jsonl", target="ro",
                    backend=BackendConfig(name="openai", model="llama", url="http://127.0.0.1:8000/v1")))
"""

from vlmadapt.translate.backends import BACKENDS, BackendConfig, make_backend
from vlmadapt.translate.run import TranslateConfig, run

__all__ = ["BACKENDS", "BackendConfig", "TranslateConfig", "make_backend", "run"]
