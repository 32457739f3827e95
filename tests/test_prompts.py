"""Task prompts per language, shared by training and prediction."""

from __future__ import annotations

import pytest

from vlmadapt.errors import ConfigError
from vlmadapt.prompts import PromptConfig, conversation_turns, target_answer, user_prompt
from vlmadapt.records import Example, Turn


def _ex(**kw: object) -> Example:
    return Example.model_validate({"id": "1", **kw})


@pytest.mark.parametrize(
    ("lang", "question", "expected"),
    [
        ("en", "Is there a dog in the image?", "Is there a dog in the image? Answer yes or no."),
        (
            "fr",
            "Y a-t-il un chien dans l'image ?",
            "Y a-t-il un chien dans l'image ? Répondez par oui ou par non.",
        ),
        ("ro", "Există un câine în imagine?", "Există un câine în imagine? Răspundeți cu da sau nu."),
    ],
)
def test_pope_prompt_asks_for_yes_no_in_the_question_language(
    lang: str, question: str, expected: str
) -> None:
    ex = _ex(task="yes_no", lang=lang, question=question, answers=["x"])
    assert user_prompt(ex) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "en",
            "Context: Unități de măsură.\nCe lungime are creionul?\nOptions:\nA. 12 cm\nB. 12 m\n"
            "Answer with the option's letter.",
        ),
        (
            "fr",
            "Contexte : Unități de măsură.\nCe lungime are creionul?\nOptions :\nA. 12 cm\nB. 12 m\n"
            "Répondez avec la lettre de la bonne option.",
        ),
        (
            "ro",
            "Context: Unități de măsură.\nCe lungime are creionul?\nVariante:\nA. 12 cm\nB. 12 m\n"
            "Răspundeți cu litera variantei corecte.",
        ),
    ],
)
def test_scienceqa_prompt_lists_lettered_options(lang: str, expected: str) -> None:
    ex = _ex(
        task="multiple_choice",
        lang=lang,
        question="Ce lungime are creionul?",
        choices=["12 cm", "12 m"],
        answer_index=0,
        meta={"hint": "Unități de măsură."},
    )
    assert user_prompt(ex) == expected
    assert target_answer(ex) == "A"


def test_caption_prompt_asks_for_one_sentence() -> None:
    ex = _ex(task="caption", lang="ro", answers=["Un câine aleargă."])
    assert user_prompt(ex) == "Descrieți imaginea într-o propoziție."
    assert conversation_turns(ex) == [
        ("user", "Descrieți imaginea într-o propoziție."),
        ("assistant", "Un câine aleargă."),
    ]


def test_recipe_templates_override_defaults_and_missing_language_is_a_config_error() -> None:
    prompts = PromptConfig(templates={"open_vqa": {"ro": "Întrebare: {question}"}})
    assert user_prompt(_ex(task="open_vqa", lang="ro", question="Ce face?", answers=["doarme"]), prompts) == (
        "Întrebare: Ce face?"
    )
    # a language pack's prompt is the default; a language without one is a config error
    german = _ex(task="yes_no", lang="de", question="Gibt es einen Hund?", answers=["ja"])
    assert user_prompt(german) == "Gibt es einen Hund? Antworten Sie mit Ja oder Nein."
    with pytest.raises(ConfigError, match=r"prompts.templates.yes_no: no template for language 'gsw'"):
        user_prompt(_ex(task="yes_no", lang="gsw", question="Hätts en Hund?", answers=["jo"]))


def test_conversation_turns_pass_through_and_empty_answers_are_refused() -> None:
    conv = _ex(
        task="conversation",
        lang="fr",
        turns=[Turn(role="user", content="Que voit-on ?"), Turn(role="assistant", content="Un chat.")],
    )
    assert conversation_turns(conv) == [("user", "Que voit-on ?"), ("assistant", "Un chat.")]
    with pytest.raises(ValueError, match="empty answer"):
        target_answer(_ex(task="open_vqa", lang="fr", question="Quoi ?", answers=["  "]))
