"""Train a small byte-level BPE tokenizer that carries a VLM family's special tokens and chat template.

Written with the `tokenizers` library because no checkpoint can be downloaded here; the result is a
`PreTrainedTokenizerFast` (in transformers 5 an alias of `TokenizersBackend`) that `save_pretrained` and
`AutoProcessor.from_pretrained` handle exactly like a hub tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TokenizerSpec:
    """What a family's tokenizer needs besides the learned merges."""

    leading: tuple[str, ...]  # special tokens with the lowest ids (Llama/Mistral's <unk> <s> </s> are 0 1 2)
    trailing: tuple[str, ...]  # special tokens appended after the learned vocabulary (Qwen, Llama 3)
    roles: dict[str, str]  # bos_token / eos_token / pad_token / unk_token -> token
    chat_template: str
    prepend_bos: bool = False  # the tokenizer itself adds BOS when add_special_tokens=True
    extra: dict[str, Any] = field(default_factory=dict)  # further tokenizer init kwargs


def train_tokenizer(spec: TokenizerSpec, corpus: Sequence[str], vocab_size: int = 640) -> Any:
    """A byte-level BPE trained on `corpus`, with `spec`'s special tokens and chat template."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size + len(spec.leading),
        special_tokens=list(spec.leading),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodes: no unknown tokens
        show_progress=False,
    )
    bpe.train_from_iterator(corpus, trainer)
    bpe.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in spec.trailing])
    bos = spec.roles.get("bos_token")
    if spec.prepend_bos and bos:
        bpe.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bpe.token_to_id(bos))]
        )
    else:
        bpe.post_processor = processors.ByteLevel(trim_offsets=False)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        chat_template=spec.chat_template,
        clean_up_tokenization_spaces=False,
        **spec.roles,
        **spec.extra,
    )
