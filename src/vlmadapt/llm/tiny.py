"""Tiny models for the local backends (seq2seq, causal), for offline tests and demos of translation and
synthesis, built from real configs with trained tokenizers.

`build_tiny_marian` makes a MarianMTModel with a real MarianTokenizer (SentencePiece models trained here,
with ``>>fra<<`` / ``>>ron<<`` target tokens as in multi-target OPUS-MT) and `build_tiny_causal` a
LlamaForCausalLM with a byte-level BPE tokenizer and a chat template. Both are saved with
`save_pretrained`, so they load through exactly the code a user's checkpoint goes through, including
`transformers serve`. With `steps`, a model is trained for a few seconds until it reproduces its `pairs`
(Marian) or `prompts` (causal) greedily, so a test can check real replies rather than random tokens.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# (source, target) pairs a tiny model learns by heart; the target language token is part of the input.
PAIRS_EN_RO = (
    ("A dog runs on the beach.", "Un câine aleargă pe plajă."),
    ("Is there a dog in the image?", "Există un câine în imagine?"),
    ("What is the man holding?", "Ce ține bărbatul în mână?"),
    ("Two children play in the park.", "Doi copii se joacă în parc."),
    ("Which animal is this?", "Ce animal este acesta?"),
    ("cat", "pisică"),
)
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tiny_marian(
    out_dir: Path,
    pairs: Sequence[tuple[str, str]] = PAIRS_EN_RO,
    target_code: str = "ron",
    steps: int = 0,
    seed: int = 0,
) -> Path:
    """A tiny multi-target Marian model + MarianTokenizer in `out_dir`; trained on `pairs` if steps > 0."""
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    out_dir = Path(out_dir)
    text = [s for pair in pairs for s in pair] + ["Le chien court.", "Un chat doarme."]
    with tempfile.TemporaryDirectory() as tmp:
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(text),
            model_writer=model,
            vocab_size=120,
            model_type="unigram",
            character_coverage=1.0,
            hard_vocab_limit=False,
            bos_id=-1,
            eos_id=-1,
            unk_id=0,
            minloglevel=2,
        )
        spm_path = Path(tmp) / "spm.model"
        spm_path.write_bytes(model.getvalue())
        sp = spm.SentencePieceProcessor(model_file=str(spm_path))
        pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
        specials = ["</s>", "<unk>", ">>fra<<", ">>ron<<"]
        vocab = {tok: i for i, tok in enumerate(dict.fromkeys(specials + pieces[1:] + ["<pad>"]))}
        (Path(tmp) / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        tok = MarianTokenizer(
            str(spm_path),
            str(spm_path),
            str(Path(tmp) / "vocab.json"),
            source_lang="en",
            target_lang=target_code,
        )
        tok.save_pretrained(out_dir)
    torch.manual_seed(seed)
    pad = vocab["<pad>"]
    cfg = MarianConfig(
        vocab_size=len(vocab),
        d_model=64,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_position_embeddings=128,
        pad_token_id=pad,
        decoder_start_token_id=pad,
        eos_token_id=0,
        forced_eos_token_id=0,
    )
    net = MarianMTModel(cfg)
    if steps:
        src = [f">>{target_code}<< {s}" for s, _ in pairs]
        batch = tok(src, text_target=[t for _, t in pairs], return_tensors="pt", padding=True)
        batch["labels"][batch["labels"] == pad] = -100
        _train(net, dict(batch), steps)
    net.generation_config.num_beams = 1
    net.generation_config.max_new_tokens = 32
    net.save_pretrained(out_dir)
    return out_dir


def build_tiny_causal(
    out_dir: Path, prompts: Sequence[tuple[list[dict[str, str]], str]] = (), steps: int = 0, seed: int = 0
) -> Path:
    """A tiny Llama chat model with a trained BPE tokenizer; trained on (messages, reply) if steps > 0."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    from vlmadapt.models.tokenizer import TokenizerSpec, train_tokenizer

    corpus = [s for pair in PAIRS_EN_RO for s in pair]
    corpus += [m["content"] for msgs, _ in prompts for m in msgs] + [r for _, r in prompts]
    specials = ("<unk>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>")
    roles = {"bos_token": "<s>", "eos_token": "<|end|>", "unk_token": "<unk>", "pad_token": "</s>"}
    spec = TokenizerSpec(leading=specials, trailing=(), roles=roles, chat_template=CHAT_TEMPLATE)
    tok = train_tokenizer(spec, corpus * 4, vocab_size=600 - len(specials))  # 600 in all, as before
    tok.save_pretrained(out_dir)
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    net = LlamaForCausalLM(cfg)
    if steps and prompts:
        _train(net, _chat_batch(tok, prompts), steps)
    net.generation_config = GenerationConfig(
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        do_sample=False,
        max_new_tokens=32,
    )
    net.save_pretrained(out_dir)
    return Path(out_dir)


def _chat_batch(tok: Any, prompts: Sequence[tuple[list[dict[str, str]], str]]) -> dict[str, Any]:
    """input_ids / attention_mask / labels for chat examples; only the reply (and <|end|>) is supervised."""
    import torch

    rows, labels = [], []
    for messages, reply in prompts:
        prompt = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        r_ids = tok(reply + "<|end|>", add_special_tokens=False)["input_ids"]
        rows.append(p_ids + r_ids)
        labels.append([-100] * len(p_ids) + r_ids)
    width = max(map(len, rows))
    pad = tok.pad_token_id
    return {
        "input_ids": torch.tensor([r + [pad] * (width - len(r)) for r in rows]),  # [B, T]
        "attention_mask": torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows]),
        "labels": torch.tensor([lab + [-100] * (width - len(lab)) for lab in labels]),
    }


def _train(net: Any, batch: dict[str, Any], steps: int) -> None:
    import torch

    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    net.train()
    for _ in range(steps):
        loss = net(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    net.eval()
