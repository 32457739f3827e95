"""The schema of a language pack: every rule vlmadapt applies to one language, as data.

A pack is one YAML file (`packs/<code>.yaml` inside the package, or a user's file): the words that answer
yes or no, hedge, negate or introduce an option letter; articles and number words; normalisation rules;
the tokenisation each metric uses; prompts; MT codes. Code never names a language: it reads the pack.

Packs are read with YAML 1.2 booleans (only `true` / `false`), so `no: [nein]`, `code: no` (Norwegian)
and `yes: [yes]` mean what they say instead of YAML 1.1's `False: [False]`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from vlmadapt.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OptionWords(_Section):
    """How an answer names a multiple-choice option in this language."""

    # Regular expressions (matched case-insensitively, at a word start) after which a letter is the
    # chosen option: "la (bonne )?réponse est", "die Antwort ist", "răspunsul (corect )?este".
    phrases: list[str] = Field(default_factory=list)
    # Words after which a letter names the option inside an opinion ("Je pense que c'est B.",
    # "Cred că este D.", "Ich glaube, es ist C."): copulas and "it is" forms.
    copulas: list[str] = Field(default_factory=list)
    # Words that name an option before its letter ("option B", "varianta C", "Antwort B").
    option_words: list[str] = Field(default_factory=list)
    # Words that follow a letter that names the option, in languages that put the verb last ("Cです",
    # "C입니다", "C라고 생각합니다").
    after_letter: list[str] = Field(default_factory=list)
    # Words of the language written as one capital letter ("A" in ro/es/it/pt, "À" in fr, "O" in pt,
    # "E" in it): a sentence they start is never read as option A / E / O.
    letter_words: list[str] = Field(default_factory=list)

    @field_validator("phrases")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for i, pattern in enumerate(value):
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(f"phrase {i} ({pattern!r}) is not a valid regular expression: {e}") from None
        return value


class Normalization(_Section):
    """Text normalisation applied to hypotheses and references before every metric (after NFC)."""

    # One character (or string) for another: Romanian cedilla ş ţ -> comma-below ș ț; Persian yeh / kaf.
    replace: dict[str, str] = Field(default_factory=dict)
    # Characters deleted: single characters or ranges "\u064b-\u065f" (Arabic harakat), "\u0640" (tatweel).
    remove: list[str] = Field(default_factory=list)
    # "turkic": İ -> i and I -> ı when lowercasing (az, tr); Python's lower() gives "i̇" and "i".
    casing: Literal["default", "turkic"] = "default"
    # "3,5" is three and a half in VQA answers (fr, ro, de, ...), not "35".
    decimal_comma: bool = False
    # Elided clitics written with an apostrophe ("l'enfant", "dell'uomo"): one word for WER, and the
    # clitic is split off as an article in VQA normalisation (fr, it, ca).
    elision: bool = False
    # Fold diacritics when matching words (yes/no, hedges, options): "raspunsul" finds "răspunsul". False
    # where diacritics tell words apart (Vietnamese không "no" / khổng "giant", có "yes" / cô "girl").
    fold_diacritics: bool = True
    # French typography after translation: no-break spaces before ; : ! ? and inside « ».
    typography: Literal["plain", "french"] = "plain"

    @field_validator("remove")
    @classmethod
    def _ranges(cls, value: list[str]) -> list[str]:
        for item in value:
            if not (len(item) == 1 or (len(item) == 3 and item[1] == "-" and item[0] <= item[2])):
                raise ValueError(f"{item!r}: give one character or a range like '\\u064b-\\u065f'")
        return value


class MetricRules(_Section):
    """How the corpus metrics read this language."""

    # sacrebleu tokenizer for BLEU: 13a, intl, zh, ja-mecab, ko-mecab, char, flores200, flores101, none.
    bleu_tokenize: str = "13a"
    # Units of ROUGE-L, WER and word-level answer matching: "words" where words are separated by spaces,
    # "chars" for scripts written without them (zh, ja, th); then the error rate is CER, not WER.
    unit: Literal["words", "chars"] = "words"
    bertscore_model: str = "bert-base-multilingual-cased"
    bertscore_layers: int | None = None  # None: bert-score's own default for the model
    bertscore_rescale: bool = False  # bert-score ships a rescale baseline for this language

    @field_validator("bleu_tokenize")
    @classmethod
    def _tokenizer(cls, value: str) -> str:
        known = {"13a", "intl", "zh", "ja-mecab", "ko-mecab", "char", "flores200", "flores101", "spm", "none"}
        if value not in known:
            raise ValueError(f"unknown sacrebleu tokenizer {value!r}; known: {', '.join(sorted(known))}")
        return value


class MTCodes(_Section):
    """The codes MT model families use for this language (None: the family does not cover it)."""

    flores: str | None = None  # NLLB-200 (FLORES-200), e.g. "ron_Latn"
    iso3: str | None = None  # OPUS-MT multi-target tokens ">>ron<<"
    m2m100: str | None = None  # M2M100 "__ro__"
    madlad: str | None = None  # MADLAD-400 "<2ro>"


class Prompts(_Section):
    """Task prompts in this language. {question}, {options}, {hint} as in `vlmadapt.prompts`."""

    yes_no: str | None = None
    multiple_choice: str | None = None
    caption: str | None = None
    open_vqa: str = "{question}"
    hint: str | None = None  # "Context: {}\n": prefixed to a multiple-choice question's hint


class SynthesisWords(_Section):
    """What QA synthesis needs (`vlmadapt synthesize --lang`)."""

    exists_question: str | None = None  # POPE-style "Is there {obj} in the image?"
    indefinite_articles: list[str] = Field(default_factory=list)  # what such an {obj} phrase starts with
    stopwords: list[str] = Field(default_factory=list)  # never content a caption must support
    interrogatives: list[str] = Field(default_factory=list)  # question words, kept for near-duplicates
    # Word starts that talk about the source text, not the image ("caption", "descri"): such QA is dropped.
    mention_stems: list[str] = Field(default_factory=list)


class Language(_Section):
    """One language pack. Word lists are matched lowercased and without diacritics (see answers.fold)."""

    code: str  # ISO 639-1 where one exists (639-3 otherwise): the `lang` of records
    name: str  # English name, used in MT prompts ("Translate ... from English to {name}")
    native_name: str | None = None
    script: str = "Latn"  # ISO 15924
    sources: list[str] = Field(default_factory=list)  # where the words came from
    extends: str | None = None  # a user pack may start from a shipped one and change some keys

    yes: list[str] = Field(default_factory=list)  # decide an answer as its first word
    no: list[str] = Field(default_factory=list)
    affirmations: list[str] = Field(default_factory=list)  # decide it anywhere in the first sentence
    negations: list[str] = Field(default_factory=list)
    hedges: list[str] = Field(default_factory=list)  # decline to answer: "not sure", "je ne sais pas"
    answer_prefixes: list[str] = Field(default_factory=list)  # "Answer: no", "Réponse : non"
    articles: list[str] = Field(default_factory=list)  # removed in VQA normalisation
    numbers: dict[str, int] = Field(default_factory=dict)  # number words -> value (0-20 and tens)
    # Words written without their apostrophe -> with it, restored in VQA normalisation ("dont" -> "don't";
    # English holds the official VQA table).
    contractions: dict[str, str] = Field(default_factory=dict)
    # Further words read as numbers in VQA answers only (the official VQA map reads English "none" as 0).
    answer_numbers: dict[str, int] = Field(default_factory=dict)
    # Reviewed translations of vlmadapt's English instruction lines (the `phrasebook` translation backend).
    phrasebook: dict[str, str] = Field(default_factory=dict)

    options: OptionWords = Field(default_factory=OptionWords)
    normalize: Normalization = Field(default_factory=Normalization)
    metrics: MetricRules = Field(default_factory=MetricRules)
    prompts: Prompts = Field(default_factory=Prompts)
    synthesis: SynthesisWords = Field(default_factory=SynthesisWords)
    mt: MTCodes = Field(default_factory=MTCodes)
    lingua: str | None = None  # the ISO 639-1 code lingua knows the language by ("ro"; "tl" for fil)
    confusable: list[str] = Field(default_factory=list)  # languages lingua mistakes this one for
    # English yes/no words that are other words here, never read as English in this language (pt "no" =
    # "in the", hr "no" = "but")
    not_english: list[str] = Field(default_factory=list)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", value):
            raise ValueError(f"{value!r} is not a language code (ISO 639-1 like 'de', or 639-3 like 'fil')")
        return value

    @field_validator("no")
    @classmethod
    def _not_yes(cls, value: list[str], info: ValidationInfo) -> list[str]:
        clash = sorted(set(value) & set(info.data.get("yes", [])))
        if clash:
            raise ValueError(f"words both in yes and no: {', '.join(clash)}")
        return value

    # --- views the parsers use ---------------------------------------------------------------------------

    @property
    def number_words(self) -> dict[str, str]:
        """Number words -> digits as strings ("deux" -> "2")."""
        return {w: str(v) for w, v in self.numbers.items()}

    @property
    def spaced(self) -> bool:
        """Words are separated by spaces (False for zh, ja, th: metrics count characters)."""
        return self.metrics.unit == "words"

    def missing(self) -> list[str]:
        """What this pack cannot do, as a user would name it (empty for a complete pack)."""
        gaps = []
        if not (self.yes and self.no):
            gaps.append("yes/no parsing")
        if not self.numbers:
            gaps.append("number words")
        if not self.options.phrases:
            gaps.append("option phrases")
        if not self.prompts.yes_no:
            gaps.append("task prompts")
        return gaps


# --- reading pack files ------------------------------------------------------------------------------------


class _PackLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: `no`, `yes`, `on`, `off` stay strings."""


_PackLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PackLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_pack_data(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    """The mapping in a pack file and its YAML node tree (for line numbers in errors)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read language pack: {e.strerror}") from None
    try:
        node = yaml.compose(text, Loader=_PackLoader)
        data = yaml.load(text, Loader=_PackLoader)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a language pack is a mapping of keys (code, name, yes, no, ...)")
    return data, node


def build_pack(data: dict[str, Any], path: Path, node: yaml.Node | None = None) -> Language:
    """Validate pack data; an error names the file, the line and the dotted key."""
    try:
        return Language.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = tuple(first["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = f"unknown key; known keys here: {', '.join(_known_keys(loc))}"
        line = _line_of(node, loc)
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(f"{where}: {key}: {msg}") from None


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = Language
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return sorted(model.model_fields)


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest node on `loc` that exists in the YAML tree."""
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
