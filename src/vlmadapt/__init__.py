"""vlmadapt: adapt English-trained vision-language models to another language.

Importing this package is cheap: heavy libraries (torch, transformers, peft) load inside the
functions that need them.
"""

from vlmadapt.errors import VlmadaptError

__version__ = "0.1.0"
__all__ = ["VlmadaptError", "__version__"]
