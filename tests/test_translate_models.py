"""Real transformers models: a tiny Marian MT model, a tiny chat LLM locally and behind `transformers serve`.

Both models are built from real configs with locally trained tokenizers, trained for a few seconds to
reproduce six English -> Romanian pairs, and saved with `save_pretrained`; the backends load them from
disk exactly as they load a user's checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serving import transformers_serve, wait_served
from vlmadapt.errors import VlmadaptError
from vlmadapt.jsonl import read_records, write_jsonl
from vlmadapt.llm.backends import BackendConfig, make_backend
from vlmadapt.llm.chat import chat_messages
from vlmadapt.llm.tiny import PAIRS_EN_RO, build_tiny_causal, build_tiny_marian
from vlmadapt.records import Example
from vlmadapt.translate import TranslateConfig, run

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one thread for tiny models

SOURCES = [s for s, _ in PAIRS_EN_RO]
TARGETS = [t for _, t in PAIRS_EN_RO]


@pytest.fixture(scope="module")
def marian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_marian(tmp_path_factory.mktemp("marian"), steps=150, seed=0)


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = BackendConfig(name="causal")
    prompts = [(chat_messages(cfg, "en", "ro", s), t) for s, t in PAIRS_EN_RO]
    return build_tiny_causal(tmp_path_factory.mktemp("chat"), prompts, steps=100, seed=0)


def test_marian_translates_with_its_target_token(marian: Path) -> None:
    cfg = BackendConfig(name="seq2seq", model=str(marian), num_beams=1, batch_size=4, device="cpu")
    backend = make_backend(cfg, "en", "ro")
    assert backend.codes.family == "marian-multi" and backend.codes.prefix == ">>ron<< "  # type: ignore[attr-defined]
    got = dict(backend.translate(SOURCES))  # batches of 4, longest first: indices must come back right
    assert [got[i] for i in range(len(SOURCES))] == TARGETS
    with pytest.raises(VlmadaptError, match=r"multi-target Marian model without a token for 'de'.*>>fra<<"):
        make_backend(cfg, "en", "de")


def test_marian_run_with_phrasebook_and_structure(marian: Path, tmp_path: Path) -> None:
    records = [
        Example(id="1", task="yes_no", lang="en", question="Is there a dog in the image?", answers=["Yes"]),
        Example(
            id="2",
            task="conversation",
            lang="en",
            turns=[
                {"role": "user", "content": "<image>\nWhat is the man holding?"},
                {"role": "assistant", "content": "A dog runs on the beach."},
            ],
        ),
        Example(
            id="3",
            task="multiple_choice",
            lang="en",
            question="Which animal is this?",
            choices=["cat", "10"],
            answer_index=0,
        ),
    ]
    src = write_jsonl(tmp_path / "en.jsonl", records)
    backend = BackendConfig(name="seq2seq", model=str(marian), num_beams=1, device="cpu")
    out = read_records(
        run(
            TranslateConfig(
                input=src, output=tmp_path / "ro.jsonl", target="ro", backend=backend, progress=False
            )
        )
    )
    assert (out[0].question, out[0].answers) == ("Există un câine în imagine?", ["Da"])
    assert [t.content for t in out[1].turns or []] == [
        "<image>\nCe ține bărbatul în mână?",
        "Un câine aleargă pe plajă.",
    ]
    assert (out[2].question, out[2].choices) == ("Ce animal este acesta?", ["pisică", "10"])


def test_missing_local_model_is_named(tmp_path: Path) -> None:
    cfg = BackendConfig(name="seq2seq", model=str(tmp_path / "nowhere"), device="cpu")
    with pytest.raises(VlmadaptError, match=r"backend.model: cannot load '.*nowhere' as a seq2seq model"):
        make_backend(cfg, "en", "ro")


def test_local_causal_llm_translates(chat_model: Path) -> None:
    cfg = BackendConfig(name="causal", model=str(chat_model), batch_size=4, max_new_tokens=24, device="cpu")
    backend = make_backend(cfg, "en", "ro")
    got = dict(backend.translate(SOURCES))
    assert [got[i] for i in range(len(SOURCES))] == TARGETS


@pytest.fixture(scope="module", autouse=True)
def serve_process(
    chat_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, str, Path]]:
    """`transformers serve` of the tiny chat model, started first so that it boots while the Marian tests
    run; yields (process or None, base URL, log path)."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with transformers_serve(chat_model, log) as (proc, url):
        yield proc, url, log


@pytest.fixture(scope="module")
def served(serve_process: tuple[Any, str, Path]) -> str:
    """The /v1 URL of the running `transformers serve`, once it answers /health."""
    return wait_served(*serve_process)


def test_transformers_serve_matches_the_local_model(served: str, chat_model: Path) -> None:
    cfg = BackendConfig(name="openai", model=str(chat_model), url=served, concurrency=3, max_new_tokens=24)
    backend = make_backend(cfg, "en", "ro")
    got = dict(backend.translate(SOURCES))
    backend.close()
    assert [got[i] for i in range(len(SOURCES))] == TARGETS


def test_translate_cli_through_transformers_serve(served: str, chat_model: Path, tmp_path: Path) -> None:
    from vlmadapt.cli import main

    src = write_jsonl(
        tmp_path / "en.jsonl",
        [
            Example(
                id="p1",
                task="yes_no",
                lang="en",
                image="a.jpg",
                question="Is there a dog in the image?",
                answers=["no"],
            ),
            Example(id="c1", task="caption", lang="en", answers=["Two children play in the park."]),
        ],
    )
    with pytest.raises(SystemExit) as done:
        main(
            [
                "translate",
                str(src),
                "--to",
                "ro",
                "--out",
                str(tmp_path / "ro.jsonl"),
                "--backend",
                "openai",
                "--model",
                str(chat_model),
                "--url",
                served,
                "--no-progress",
                "--set",
                "backend.max_new_tokens=24",
            ]
        )
    assert done.value.code == 0
    p1, c1 = read_records(tmp_path / "ro.jsonl")
    assert (p1.question, p1.answers, c1.answers) == (
        "Există un câine în imagine?",
        ["nu"],
        ["Doi copii se joacă în parc."],
    )


def _tokenizer_with(tokens: list[str]) -> object:
    """A real fast tokenizer whose vocabulary holds `tokens` (as an NLLB/M2M100/MADLAD one would)."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(["<unk>", "a", *tokens])}
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<unk>")))


@pytest.mark.parametrize(
    ("tokens", "family", "prefix", "src_lang", "bos_token"),
    [
        (["eng_Latn", "ron_Latn", "fra_Latn"], "nllb", "", "eng_Latn", "ron_Latn"),
        (["__en__", "__ro__"], "m2m100", "", "en", "__ro__"),
        (["<2en>", "<2ro>"], "madlad", "<2ro> ", None, None),
        ([">>fra<<", ">>ron<<"], "marian-multi", ">>ron<< ", None, None),
        ([], "bilingual", "", None, None),
    ],
)
def test_language_codes_per_family(
    tokens: list[str], family: str, prefix: str, src_lang: str | None, bos_token: str | None
) -> None:
    from vlmadapt.translate.langcodes import language_codes

    tok = _tokenizer_with(tokens)
    codes = language_codes(tok, "m", "en", "ro", None, None)
    bos = tok.get_vocab()[bos_token] if bos_token else None  # type: ignore[attr-defined]
    assert (codes.family, codes.prefix, codes.src_lang, codes.forced_bos_token_id) == (
        family,
        prefix,
        src_lang,
        bos,
    )
    if tokens:
        with pytest.raises(VlmadaptError, match=r"^m: "):
            language_codes(tok, "m", "en", "ro", None, "xx_Zzzz" if family == "nllb" else "xx")
