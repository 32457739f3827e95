"""The translate stage: segments and structure protection, phrasebook, post-editing, the engine, run.

Backends, the reply cache and the HTTP client are shared with the other stages and live in `vlmadapt.llm`;
`BackendConfig` is exported here too, as the config of a translation run.

from vlmadapt.translate import BackendConfig, TranslateConfig, run
run(TranslateConfig(input="en.jsonl", output="ro.jsonl", target="ro",
                    backend=BackendConfig(name="openai", model="llama", url="http://127.0.0.1:8000/v1")))
"""

from vlmadapt.llm.backends import BackendConfig
from vlmadapt.translate.run import TranslateConfig, run

__all__ = ["BackendConfig", "TranslateConfig", "run"]
