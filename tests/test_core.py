"""Config loading, per-language normalisation, the CLI shell, import hygiene."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from vlmadapt.config import apply_overrides, load_config
from vlmadapt.errors import ConfigError, UnknownNameError, lookup
from vlmadapt.languages import language, normalize


class _Optim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lr: float = 2e-4
    steps: int = 500


class _Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    family: str
    optim: _Optim = _Optim()
    eval: _Optim | None = None


def test_yaml_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("family: qwen2_vl\noptim:\n  steps: 10\n")
    cfg = load_config(_Recipe, path, ["optim.lr=1e-4", "family=mllama"])
    assert cfg == _Recipe(family="mllama", optim=_Optim(lr=1e-4, steps=10))


def test_override_reads_yaml_1_1_exponents_as_numbers() -> None:
    assert apply_overrides({}, ["a.b=2e-4", "c=true", "d="]) == {"a": {"b": 2e-4}, "c": True, "d": ""}


@pytest.mark.parametrize(
    ("text", "overrides", "message"),
    [
        (
            "family: qwen2_vl\noptim:\n  step: 3\n",
            [],
            r"r.yaml: optim.step: unknown key; known keys here: lr, steps",
        ),
        ("family: qwen2_vl\n", ["optim.steps=many"], r"r.yaml: optim.steps: Input should be a valid integer"),
        ("optim: {}\n", [], r"r.yaml: family: Field required"),
        (
            "family: x\neval:\n  lr: 1\n",
            ["eval.stpes=3"],
            r"r.yaml: eval.stpes: unknown key; known keys here: lr, steps",
        ),
        ("family: [unclosed\n", [], r"r.yaml: not valid YAML"),
        ("- a\n- b\n", [], r"r.yaml: a recipe must be a mapping"),
        ("family: x\n", ["nonsense"], r"override 'nonsense' must look like key=value"),
    ],
)
def test_config_errors_name_file_and_key(
    tmp_path: Path, text: str, overrides: list[str], message: str
) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(_Recipe, path, overrides)


@pytest.mark.parametrize(
    ("text", "lang", "kwargs", "expected"),
    [
        ("Un bărbat stă pe o bancă în faţa şcolii.", "ro", {}, "Un bărbat stă pe o bancă în fața școlii."),
        ("ŞI ŢARA", "ro", {"lowercase": True}, "și țara"),
        ("şi", "fr", {}, "şi"),  # cedilla folding is Romanian-only
        ("C\u2019est l\u2019été\u202f!", "fr", {}, "C'est l'été !"),
        ("«\u00a0Bonjour\u00a0», dit-il.", "fr", {"strip_punct": True}, "Bonjour dit il"),
        ("e\u0301te\u0301", "fr", {}, "été"),  # NFD -> NFC
        ("  Două   pisici. ", "ro", {"strip_punct": True, "lowercase": True}, "două pisici"),
    ],
)
def test_normalize(text: str, lang: str, kwargs: dict[str, bool], expected: str) -> None:
    assert normalize(text, lang, **kwargs) == expected


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(
        UnknownNameError,
        match="unknown language 'xx'; known: ar, bn, cs, da, de, el, en, es, fa, fi, fil, fr, he, hi, hr",
    ):
        language("xx")
    with pytest.raises(UnknownNameError, match="unknown widget 'c'; known: a, b"):
        lookup({"b": 1, "a": 2}, "c", "widget")


def test_cli_help_lists_the_stage_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "vlmadapt.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "data import" in out
    for command in ("data", "models"):
        assert command in out


def test_importing_vlmadapt_loads_no_heavy_library() -> None:
    code = (
        "import sys, vlmadapt, vlmadapt.cli, vlmadapt.records, vlmadapt.jsonl, vlmadapt.config; "
        "print(sorted(m for m in ('torch', 'transformers', 'peft', 'datasets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
