"""The synthesize stage: an LLM writes question-answer pairs from image captions; yes/no balanced POPE-style.

from vlmadapt.synthesize import SynthesizeConfig, run
from vlmadapt.llm import BackendConfig
run(SynthesizeConfig(input="captions.ro.jsonl", output="qa.ro.jsonl", target="ro",
                     backend=BackendConfig(name="openai", model="llama", url="http://127.0.0.1:8000/v1")))
"""

from vlmadapt.synthesize.config import SynthesizeConfig
from vlmadapt.synthesize.run import run

__all__ = ["SynthesizeConfig", "run"]
