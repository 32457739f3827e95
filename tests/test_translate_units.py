"""Structure protection, phrasebook, post-editing and cache keys: tables of literal expected values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlmadapt.errors import ConfigError
from vlmadapt.llm.cache import ResponseCache, cache_key, signature_digest
from vlmadapt.llm.chat import clean_model_output
from vlmadapt.translate.phrasebook import Phrasebook, load_phrasebook
from vlmadapt.translate.postedit import NBSP, NNBSP, PostEditConfig, postedit
from vlmadapt.translate.protect import segment_problems, split_text, text_problems


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        # LLaVA-1.5 conversation turn: the image token and the line break are never shown to the model.
        (
            "<image>\nWhat is the man holding?\nAnswer the question using a single word or phrase.",
            [
                ("<image>\n", False),
                ("What is the man holding?", True),
                ("\n", False),
                ("Answer the question using a single word or phrase.", True),
            ],
        ),
        # ScienceQA-style options inside a turn: letters are literal, option texts are segments.
        (
            "Which animal is a mammal?\nA. whale\nB. (C) shark\n(C) 12",
            [
                ("Which animal is a mammal?", True),
                ("\nA. ", False),
                ("whale", True),
                ("\nB. (C) ", False),
                ("shark", True),
                ("\n(C) 12", False),
            ],
        ),
        (
            "Is there a car in the image? <image>",
            [("Is there a car in the image?", True), (" <image>", False)],
        ),
        (
            "Look at <image> and http://a.org/x?y=1 now",
            [("Look at <image> and http://a.org/x?y=1 now", True)],
        ),
        ("  - 3 dogs  \n", [("  - ", False), ("3 dogs", True), ("  \n", False)]),
        ("42.5 %", [("42.5 %", False)]),
        ("", []),
    ],
)
def test_split_text(text: str, parts: list[tuple[str, bool]]) -> None:
    got = split_text(text)
    assert list(zip(got.parts, got.is_segment, strict=True)) == parts
    assert got.join({s: s for s in got.segments}) == text


@pytest.mark.parametrize(
    ("source", "translation", "langs", "problems"),
    [
        ("There are 3 dogs.", "Il y a 3 chiens.", ("en", "fr"), []),
        ("It costs 3.50 dollars.", "Cela coûte 3,50 dollars.", ("en", "fr"), []),
        ("4 people fix a bike", "Quatre personnes réparent un vélo", ("en", "fr"), []),
        ("four people", "4 oameni", ("en", "ro"), []),
        ("There are 3 dogs.", "Il y a des chiens.", ("en", "fr"), ["number 3 missing"]),
        ("Look at <image> here", "Regardez ici", ("en", "fr"), ["placeholder <image> missing"]),
        (
            "see https://x.org/a",
            "voir https://x.org/b",
            ("", ""),
            ["url https://x.org/a missing", "url https://x.org/b added"],
        ),
        ("One line", "Une\nligne", ("", ""), ["a line break appeared"]),
        ("Hello", "  ", ("", ""), ["empty translation"]),
        ("7 and 7", "7", ("", ""), ["number 7 missing"]),
        ("7, 7 and 7", "7", ("", ""), ["number 7 x2 missing"]),
    ],
)
def test_segment_problems(source: str, translation: str, langs: tuple[str, str], problems: list[str]) -> None:
    assert segment_problems(source, translation, langs) == problems


def test_text_problems_checks_lines_and_markers() -> None:
    assert text_problems("Q?\nA. cat\nB. dog", "Q ?\nA. chat\nB. chien") == []
    assert text_problems("Q?\nA. cat\nB. dog", "Q ?\nA. chat\nC. chien") == [
        "line 3: marker 'B.' became 'C.'"
    ]
    assert text_problems("a\nb", "a b") == ["2 lines became 1"]


@pytest.mark.parametrize(
    ("source", "target", "text", "expected"),
    [
        ("en", "ro", "yes", "da"),
        ("en", "ro", "No", "Nu"),
        ("en", "fr", "YES", "OUI"),
        ("en", "fr", "No.", "Non."),
        (
            "en",
            "fr",
            "Answer the question using a single word or phrase.",
            "Répondez à la question par un seul mot ou une courte expression.",
        ),
        ("en", "ro", "yes, there is", None),
        ("en", "ro", "Nobody", None),
        ("en", "de", "yes", "ja"),  # German: its pack's yes / no
        ("en", "de", "Answer yes or no.", "Antworten Sie mit Ja oder Nein."),  # its pack's phrasebook
        ("en", "gsw", "yes", None),  # no pack: a model translates it
    ],
)
def test_phrasebook(source: str, target: str, text: str, expected: str | None) -> None:
    assert Phrasebook(source, target).lookup(text) == expected


def test_phrasebook_file_overrides_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "pb.yaml"
    path.write_text(
        "'Describe the image in one sentence.': Descrie imaginea.\nHello: Salut\n", encoding="utf-8"
    )
    book = load_phrasebook("en", "ro", path)
    assert book.lookup("Describe the image in one sentence.") == "Descrie imaginea."
    assert book.lookup("Hello") == "Salut"
    assert book.lookup("yes") == "da"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pb.yaml: must map each source string"):
        load_phrasebook("en", "ro", path)
    with pytest.raises(ConfigError, match=r"missing.yaml: no such file"):
        load_phrasebook("en", "ro", tmp_path / "missing.yaml")


def test_phrasebook_file_with_direction_sections(tmp_path: Path) -> None:
    path = tmp_path / "pb.json"
    sections = {"ro-en": {"Ce culoare are steaua?": "What colour is the star?"}, "en-ro": {"red": "roșu"}}
    path.write_text(json.dumps(sections, ensure_ascii=False), encoding="utf-8")
    assert load_phrasebook("ro", "en", path).lookup("Ce culoare are steaua?") == "What colour is the star?"
    assert load_phrasebook("ro", "en", path).lookup("red") is None  # each direction reads its own section
    assert load_phrasebook("en", "ro", path).lookup("red") == "roșu"
    assert load_phrasebook("en", "fr", path).lookup("red") is None  # no section: built-ins only
    path.write_text(json.dumps({"ro-en": {"a": 1}}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pb.json: section ro-en: entry 'a': must map"):
        load_phrasebook("ro", "en", path)


@pytest.mark.parametrize(
    ("lang", "text", "cfg", "expected"),
    [
        ("ro", "Ştefan îşi ţine câinele", {}, "Ștefan își ține câinele"),
        ("ro", "s\u0326i t\u0327", {}, "și ț"),  # combining comma below / cedilla -> precomposed comma-below
        (
            "fr",
            "Qui est-ce? Un chat! Voici: l'image",
            {},
            f"Qui est-ce{NNBSP}? Un chat{NNBSP}! Voici{NBSP}: l’image",
        ),
        ("fr", "Il a dit «bonjour» ;", {}, f"Il a dit «{NBSP}bonjour{NBSP}»{NNBSP};"),
        ("fr", "À 10:30, voir http://a.fr/?q=1 ?!", {}, f"À 10:30, voir http://a.fr/?q=1{NNBSP}?!"),
        ("fr", f"Quoi{NNBSP}? l’homme", {"fr_spaces": "plain", "fr_apostrophe": "ascii"}, "Quoi ? l'homme"),
        ("fr", "Quoi? l'homme", {"fr_spaces": "keep", "fr_apostrophe": "keep"}, "Quoi? l'homme"),
        ("en", "Cafe\u0301?", {}, "Café?"),
    ],
)
def test_postedit(lang: str, text: str, cfg: dict[str, str], expected: str) -> None:
    assert postedit(text, lang, PostEditConfig.model_validate(cfg)) == expected


@pytest.mark.parametrize(
    ("source", "reply", "expected"),
    [
        ("A dog.", "<think>short</think>\nUn câine.", "Un câine."),
        ("A dog.", '"Un câine."', "Un câine."),
        ('"Hi," she said.', '"Salut", a spus ea.', '"Salut", a spus ea.'),
        ("A dog.", "```\nUn câine.\n```", "Un câine."),
        ("A dog.", "  Un câine.  ", "Un câine."),
    ],
)
def test_clean_model_output(source: str, reply: str, expected: str) -> None:
    assert clean_model_output(source, reply) == expected


def test_cache_key_changes_with_every_setting(tmp_path: Path) -> None:
    base = {
        "backend": "openai",
        "model": "m",
        "source": "en",
        "target": "ro",
        "prompt_version": "p1",
        "decoding": {"temperature": 0.0},
    }
    key = cache_key(signature_digest(base), "A dog.")
    assert key == cache_key(signature_digest(dict(reversed(base.items()))), "A dog.")  # order-free
    variants = [
        {**base, "backend": "seq2seq"},
        {**base, "model": "m2"},
        {**base, "source": "fr"},
        {**base, "target": "fr"},
        {**base, "prompt_version": "p2"},
        {**base, "decoding": {"temperature": 0.7}},
    ]
    keys = {cache_key(signature_digest(v), "A dog.") for v in variants}
    keys |= {
        cache_key(signature_digest(base), "A dog!"),
        cache_key(signature_digest(base), "A dog.", attempt=1),
    }
    assert len(keys) == 8 and key not in keys
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        cache.put(key, "Un câine.")
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        assert cache.get_many([key, "absent"]) == {key: "Un câine."}
        assert len(cache) == 1


def test_phrasebook_backend_refuses_or_keeps_a_text_without_entry() -> None:
    from vlmadapt.llm.backends import BackendConfig, make_backend

    strict = make_backend(BackendConfig(name="phrasebook"), "en", "ro")
    with pytest.raises(ConfigError, match=r"phrasebook backend \(en->ro\): no entry for 'purple'"):
        list(strict.translate(["purple"]))
    keep = make_backend(BackendConfig(name="phrasebook", missing="keep"), "en", "ro")
    assert list(keep.translate(["purple", "on the lef"])) == [(0, "purple"), (1, "on the lef")]
    assert keep.signature() != strict.signature()  # cached translations of one never serve the other
