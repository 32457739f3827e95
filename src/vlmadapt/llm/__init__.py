"""The LLM-client layer: how every stage reaches a language model, and remembers what it answered.

translate (segments), synthesize (QA from captions, judgments), quality (the GEMBA-MQM judge, the round
trip) and translate-test (predict) all ask models through it; none of it is about translation itself.

- backends.py: `BackendConfig`, the `Backend` protocol and the `BACKENDS` registry (`make_backend`)
- chat.py: messages, prompt version, decoding per attempt and reply clean-up of the chat backends
- http.py: `ChatClient` for OpenAI-compatible servers (bounded concurrency, retries with backoff)
- local.py: the local transformers backends (seq2seq, causal)
- cache.py: the SQLite cache of replies (`ResponseCache`, `cache_key`, `signature_digest`)
- progress.py: the `Tracker` protocol and its rich display
- devserver.py, tiny.py: an offline stand-in server and tiny local models, for tests and dry runs

What is about translation (segments, phrasebook, post-editing, the engine) stays in `vlmadapt.translate`.

from vlmadapt.llm import BackendConfig, make_backend
cfg = BackendConfig(name="openai", model="llama", url="http://127.0.0.1:8000/v1")
backend = make_backend(cfg, "en", "ro")  # source and target language of the prompts
"""

from vlmadapt.llm.backends import BACKENDS, Backend, BackendConfig, make_backend

__all__ = ["BACKENDS", "Backend", "BackendConfig", "make_backend"]
