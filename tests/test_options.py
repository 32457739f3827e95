"""Commands generated from configs (options.py): one way in for every stage, no option restating a field."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest
import typer
from pydantic import BaseModel, ConfigDict, Field

from vlmadapt.options import Commands, build_command, settings


def _flat(text: str) -> str:
    """Help text without rich's boxes and line breaks."""
    return " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


Cli = Callable[[list[str]], tuple[int, str, str]]


class Backend(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="openai", description="Backend name.")
    temperature: float = Field(default=0.0, description="Sampling temperature.")
    extra: dict[str, float] = Field(default_factory=dict)  # no option: key=value only


class Toy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: Path = Field(description="Input file.")
    target: str = Field(description="Target language.")
    runs: int = Field(default=3, ge=1, description="How many.")
    mode: Literal["fast", "slow"] = Field(default="fast", description="Speed.")
    keep: list[str] = Field(default_factory=lambda: ["high"], description="Tiers kept.")
    seeds: list[int] = Field(default_factory=list, description="Seeds.")
    check: bool = Field(default=True, description="Check things.")
    backend: Backend = Field(default_factory=Backend)


seen: list[Toy] = []
app = Commands(no_args_is_help=True)


@app.config_command("toy", f"{__name__}:Toy", arguments=("input",), aliases={"to": "target"})
def toy(cfg: Toy, shout: bool = False) -> None:
    """A toy command."""
    seen.append(cfg)
    if shout:
        print("SHOUT")


@app.config_command("many", f"{__name__}:Many", arguments=("files",))
def many(cfg: Many) -> None:
    """Files, then overrides."""
    seen.append(cfg)  # type: ignore[arg-type]


class Many(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: list[Path] = Field(min_length=1, description="Files.")
    out: Path = Field(default=Path("x"), description="Out.")


def _run(argv: list[str]) -> tuple[int, str]:
    from typer.testing import CliRunner

    seen.clear()
    result = CliRunner().invoke(app, argv)
    return result.exit_code, result.output + (str(result.exception) if result.exception else "")


def test_options_come_from_the_fields_nested_ones_one_level_down() -> None:
    paths = [s.path for s in settings(Toy)]
    assert paths == [
        "input", "target", "runs", "mode", "keep", "seeds", "check", "backend.name", "backend.temperature"
    ]  # fmt: skip
    assert "backend.extra" not in paths  # a mapping has no option


def test_help_shows_descriptions_choices_and_the_models_defaults() -> None:
    code, out = _run(["toy", "--help"])
    assert code == 0
    flat = _flat(out)
    for text in (
        "INPUT",
        "--to",
        "--target",
        "Target language. Required.",
        "--backend-temperature",
        "Sampling temperature.",
        "Speed. One of fast, slow. (default: fast)",
        "(default: 3)",
        "--no-check",
        "--config",
        "KEY=VALUE",
        "--shout",
    ):
        assert text in flat, text
    assert "--set" not in flat  # kept for old scripts, not shown


def test_config_file_then_options_then_key_value_each_wins_over_the_last(tmp_path: Path) -> None:
    cfg = tmp_path / "toy.yaml"
    cfg.write_text("input: a.jsonl\ntarget: fr\nruns: 5\nbackend: {name: seq2seq, temperature: 0.5}\n")
    assert _run(["toy", "--config", str(cfg)])[0] == 0
    assert (seen[0].target, seen[0].runs, seen[0].backend.name) == ("fr", 5, "seq2seq")
    code, _ = _run(["toy", "--config", str(cfg), "--runs", "7", "--backend-name", "x", "runs=9"])
    assert code == 0
    assert (seen[0].runs, seen[0].backend.name, seen[0].backend.temperature) == (9, "x", 0.5)


def test_aliases_lists_flags_and_the_commands_own_options() -> None:
    code, out = _run(["toy", "in.jsonl", "--to", "ro", "--keep", "high,moderate", "--no-check", "--shout"])
    assert code == 0, out
    cfg = seen[0]
    assert (cfg.input, cfg.target, cfg.keep, cfg.check) == (
        Path("in.jsonl"),
        "ro",
        ["high", "moderate"],
        False,
    )
    assert "SHOUT" in out
    assert (
        _run(
            ["toy", "in.jsonl", "--to", "ro", "--keep", "a", "--keep", "b", "--seeds", "0,1", "--seeds", "2"]
        )[0]
        == 0
    )
    assert (seen[0].keep, seen[0].seeds) == (["a", "b"], [0, 1, 2])
    assert _run(["toy", "in.jsonl", "target=ro", "backend.extra.top_p=0.9"])[0] == 0
    assert seen[0].backend.extra == {"top_p": 0.9}


def test_a_list_argument_takes_the_paths_and_leaves_the_overrides() -> None:
    code, out = _run(["many", "a", "runs/b=c", "out=elsewhere", "d"])
    assert code == 0, out
    cfg = seen[0]
    assert cfg.files == [Path("a"), Path("runs/b=c"), Path("d")]  # type: ignore[attr-defined]
    assert cfg.out == Path("elsewhere")  # type: ignore[attr-defined]


def test_a_missing_required_field_says_every_way_to_give_it(cli: Cli) -> None:
    code, _, err = cli(["evaluate", "preds.jsonl", "--task", "pope"])
    flat = " ".join(err.split())
    assert code == 2
    assert (
        "evaluate: references is required: give --references, references=VALUE, or put it in --config FILE"
        in flat
    )


def test_bad_values_name_the_key_and_the_file(tmp_path: Path, cli: Cli) -> None:
    cfg = tmp_path / "e.yaml"
    cfg.write_text("references: r.jsonl\ntask: pope\nresamples: -1\n")
    code, _, err = cli(["evaluate", "p.jsonl", "--config", str(cfg)])
    assert code == 2
    assert f"{cfg}: resamples: Input should be greater than or equal to 0" in " ".join(err.split())
    cfg.write_text("references: r.jsonl\ntask: pope\n")
    code, _, err = cli(["evaluate", "p.jsonl", "--config", str(cfg), "nope=1"])
    assert "nope: unknown key; known keys here: allow_missing" in " ".join(err.split())


STAGE_COMMANDS = [
    ["data", "import"],
    ["translate"],
    ["quality"],
    ["synthesize"],
    ["audit", "serve"],
    ["audit", "stats"],
    ["audit", "export"],
    ["train"],
    ["predict"],
    ["evaluate"],
    ["compare"],
    ["report"],
    ["demo"],
]


@pytest.mark.parametrize("command", STAGE_COMMANDS, ids=" ".join)
def test_every_stage_command_takes_a_config_file_and_key_value(command: list[str], cli: Cli) -> None:
    """And every option it shows says what it is: a field without a description would show a bare flag."""
    from vlmadapt.cli import app

    code, out, _ = cli([*command, "--help"])
    assert code == 0
    flat = _flat(out)
    assert "CONFIG" in flat if command == ["train"] else "--config" in flat
    assert "KEY=VALUE" in flat
    group = typer.main.get_command(app)
    for name in command[:-1]:
        group = group.commands[name]  # type: ignore[attr-defined]
    spec = group.commands[command[-1]].spec  # type: ignore[attr-defined]
    build_command(spec)  # aliases and arguments name real fields
    module, _, name = spec.model.partition(":")
    model = getattr(importlib.import_module(module), name)
    bare = [s.path for s in settings(model, spec.depth) if not s.field.description]
    assert bare == [], f"{' '.join(command)}: options without a description: {bare}"


def test_the_top_level_help_imports_no_stage() -> None:
    """Stage modules load scorers and language identifiers (seconds); `vlmadapt --help` needs none."""
    code = (
        "import sys; from vlmadapt.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "import json; print(json.dumps(sorted(m for m in sys.modules if m.startswith('vlmadapt.'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    stages = ("translate", "quality", "synthesize", "evaluate", "predict", "report", "train", "audit", "demo")
    assert [m for m in loaded if m.split(".")[1] in stages] == []


def test_data_import_records_its_config_beside_the_records(tmp_path: Path, cli: Cli) -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    pope = next(iter(sorted(shared.glob("**/coco_pope_random.json"))), None) if shared.is_dir() else None
    if pope is None:
        src = tmp_path / "pope.json"
        src.write_text(
            "\n".join(
                json.dumps({"question_id": i, "image": f"{i}.jpg", "text": "Is there a dog?", "label": "yes"})
                for i in range(3)
            )
        )
    else:
        src = pope
    dest = tmp_path / "out" / "pope.jsonl"
    code, _out, err = cli(["data", "import", "pope", str(src), str(dest), "lang=en"])
    assert code == 0, err
    prov = json.loads((tmp_path / "out" / "pope.jsonl.provenance.json").read_text())
    assert prov["config"]["format"] == "pope"
    assert prov["config"]["src"] == str(src)
    assert prov["result"]["written"] > 0
    assert "versions" in prov and "git" in prov
