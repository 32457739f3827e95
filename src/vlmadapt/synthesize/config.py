"""The typed config of the synthesize stage; every default lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vlmadapt.languages import LANGUAGES, Language, language
from vlmadapt.llm.backends import BackendConfig
from vlmadapt.synthesize.prompts import JUDGE_PROMPT, SYSTEM_PROMPT
from vlmadapt.translate.postedit import PostEditConfig

Sampling = Literal["random", "popular", "adversarial"]
SAMPLINGS: tuple[Sampling, ...] = ("random", "popular", "adversarial")


def _synthesizable(lang: Language) -> bool:
    words = lang.synthesis
    return bool(lang.yes and lang.no and words.exists_question and words.indefinite_articles)


def _with_prompt(value: Any, prompt: str) -> Any:
    """A backend section (mapping or BackendConfig) whose prompt defaults to `prompt`, not to the
    translator's."""
    defaults = {"system_prompt": prompt, "user_template": "{text}"}
    if isinstance(value, BackendConfig):
        return value.model_copy(update={k: v for k, v in defaults.items() if k not in value.model_fields_set})
    return {**defaults, **value} if isinstance(value, dict) else value


class YesNoConfig(BaseModel):
    """Object-existence questions added per image, POPE style (Li et al., 2023)."""

    model_config = ConfigDict(extra="forbid")

    per_image: int = Field(
        default=1, ge=0, description="Present-object questions per image, and as many absent ones."
    )
    # How absent objects are drawn from other images' objects; the j-th absent question of the i-th image
    # uses sampling[(i + j) % len(sampling)], so the three are mixed evenly over the set.
    sampling: list[Sampling] = Field(
        default_factory=lambda: list(SAMPLINGS),
        min_length=1,
        description="How absent objects are drawn from other images' objects (POPE's three).",
    )
    # per language, overriding the pack's synthesis.exists_question
    templates: dict[str, str] = Field(default_factory=dict)
    balance: bool = Field(
        default=True, description="Add present/absent questions to even out the generated yes/no answers."
    )

    def template(self, lang: str) -> str:
        given = self.templates.get(lang) or language(lang).synthesis.exists_question
        if given is None:
            raise ValueError(f"{lang!r}: no object question; set synthesis.exists_question in its pack")
        return given


class DedupeConfig(BaseModel):
    """Near-duplicate questions of one image: the later one is dropped."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["tokens", "chrf"] = Field(
        default="tokens", description="Jaccard of content words, or chrF of the texts."
    )
    threshold: float = Field(
        default=0.8, ge=0, le=1, description="Similarity above which a question is a duplicate."
    )


class SynthesizeConfig(BaseModel):
    """What `vlmadapt synthesize` needs; defaults live here."""

    model_config = ConfigDict(extra="forbid")

    input: Path = Field(
        description="Caption records (task caption) in the target language, several captions per image."
    )
    output: Path = Field(description="QA records (.jsonl), appended per image; a re-run resumes.")
    target: str = Field(
        min_length=2, max_length=8, description="Language of the captions and of the QA (a pack's code)."
    )
    backend: BackendConfig = Field(default_factory=lambda: BackendConfig(system_prompt=SYSTEM_PROMPT))
    per_image: int = Field(default=3, ge=1, le=50, description="QA pairs asked of the LLM per image.")
    max_attempts: int = Field(
        default=3, ge=1, le=10, description="Asks per image on invalid JSON; then the image is a reject."
    )
    response_format: Literal["none", "json_object", "json_schema"] = Field(
        default="none", description="Constrained decoding (openai backend)."
    )
    grounding: Literal["lexical", "judge", "none"] = Field(
        default="lexical", description="How each answer is checked against the captions."
    )
    judge: BackendConfig | None = Field(
        default=None,
        description="The grounding judge (grounding=judge; default: `backend` with the judge's prompt).",
    )
    dedupe: DedupeConfig = Field(default_factory=DedupeConfig)
    language_check: Literal["drop", "flag", "off"] = Field(
        default="drop", description="What to do with QA identified as another language."
    )
    # languages the check tells the target from (lingua codes of packs); besides the target, English, the
    # language models slip into. More candidates cost recall: lingua calls "Unde este bicicleta?" Portuguese.
    language_candidates: list[str] = Field(
        default_factory=lambda: ["en"], description="Languages the check tells the target from."
    )
    yes_no: YesNoConfig = Field(default_factory=YesNoConfig)
    postedit: PostEditConfig = Field(default_factory=PostEditConfig)
    seed: int = Field(default=0, description="Seed of the yes/no balancing.")
    cache: Path | None = Field(
        default=None, description="SQLite cache (default: synthesize-cache.sqlite beside the output)."
    )
    progress: bool = Field(default=True, description="Show the progress bars.")

    @field_validator("backend", mode="before")
    @classmethod
    def _generation_prompt(cls, value: Any) -> Any:
        return _with_prompt(value, SYSTEM_PROMPT)

    @field_validator("judge", mode="before")
    @classmethod
    def _judge_prompt(cls, value: Any) -> Any:
        return _with_prompt(value, JUDGE_PROMPT)

    @field_validator("target")
    @classmethod
    def _known_language(cls, value: str) -> str:
        known = [c for c in LANGUAGES if _synthesizable(LANGUAGES[c])]
        if value not in known:
            raise ValueError(
                f"{value!r}: no language pack with yes/no words, an object question "
                f"(synthesis.exists_question) and indefinite articles; packs with them: {', '.join(known)}"
            )
        return value

    def cache_path(self) -> Path:
        return self.cache or self.output.parent / "synthesize-cache.sqlite"

    def rejects_path(self) -> Path:
        return self.output.with_name(self.output.name.removesuffix(".jsonl") + ".rejects.jsonl")

    def summary_path(self) -> Path:
        return self.output.with_name(self.output.name.removesuffix(".jsonl") + ".summary.json")

    def judge_backend(self) -> BackendConfig:
        """The judge's backend: `judge` when given, else the generator's with the judge prompt."""
        if self.judge is not None:
            return self.judge
        update = {"system_prompt": JUDGE_PROMPT, "user_template": "{text}", "max_new_tokens": 8}
        return self.backend.model_copy(update=update)
