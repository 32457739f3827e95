"""Language packs: the registry, a user's own pack, located errors, the CLI, every shipped pack's shape."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vlmadapt.errors import ConfigError, UnknownNameError
from vlmadapt.evaluate.answers import normalize_vqa, parse_option, parse_yes_no
from vlmadapt.languages import LANGUAGES, language, lowercase, normalize, pack
from vlmadapt.languages.pack import Language

Cli = Callable[[list[str]], tuple[int, str, str]]

SWISS_GERMAN = """\
# a user's pack: Alemannic, starting from nothing but its own words
code: gsw
name: Swiss German
yes: [jo, joo]
no: [nei]
negations: [nei, nöd, nid]
hedges: [weiss nöd]
numbers: {eis: 1, zwei: 2, drüü: 3}
options:
  phrases: ['d\\s+antwort\\s+isch']
prompts:
  yes_no: "{question} Antwort jo oder nei."
"""


@pytest.fixture
def user_packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory in $VLMADAPT_LANGUAGE_PACKS; the registry is read again before and after."""
    folder = tmp_path / "packs"
    folder.mkdir()
    monkeypatch.setenv("VLMADAPT_LANGUAGE_PACKS", str(folder))
    LANGUAGES.reload()
    yield folder
    monkeypatch.delenv("VLMADAPT_LANGUAGE_PACKS")
    LANGUAGES.reload()


def test_a_user_pack_adds_a_language_the_code_never_heard_of(user_packs: Path) -> None:
    (user_packs / "gsw.yaml").write_text(SWISS_GERMAN, encoding="utf-8")
    assert "gsw" in LANGUAGES
    assert parse_yes_no("Jo.", "gsw").label == "yes"
    assert parse_yes_no("Nei, es het kei Hund.", "gsw").label == "no"
    assert (parse_yes_no("Ich weiss nöd.", "gsw").label, parse_yes_no("Ich weiss nöd.", "gsw").rule) == (
        None,
        "hedge",
    )
    assert parse_option("D Antwort isch B.", ["x", "y", "z"], "gsw").index == 1
    assert normalize_vqa("Drüü", "gsw") == "3"


def test_a_pack_added_at_run_time_replaces_what_was_worked_out_without_it(tmp_path: Path) -> None:
    from vlmadapt.languages import add_pack_file

    assert parse_yes_no("Jo.", "gsw").label is None  # no pack yet: English words only
    path = tmp_path / "gsw.yaml"
    path.write_text(SWISS_GERMAN, encoding="utf-8")
    try:
        add_pack_file(path)
        assert parse_yes_no("Jo.", "gsw").label == "yes"
        assert normalize_vqa("drüü", "gsw") == "3"
    finally:
        LANGUAGES._added.clear()
        LANGUAGES.reload()
    assert parse_yes_no("Jo.", "gsw").label is None


def test_a_user_pack_extends_a_shipped_one(user_packs: Path) -> None:
    (user_packs / "fr-ca.yaml").write_text(
        "extends: fr\ncode: fr-CA\nname: Canadian French\nyes: [oui, ouin, ben oui]\n", encoding="utf-8"
    )
    canadian = language("fr-CA")
    assert canadian.yes == ["oui", "ouin", "ben oui"]  # lists replace
    assert canadian.no == language("fr").no  # the rest is French
    assert canadian.normalize.typography == "french"
    assert parse_yes_no("Ouin.", "fr-CA").label == "yes"
    assert parse_yes_no("Ouin.", "fr").label is None


def test_yaml_no_and_yes_stay_words(tmp_path: Path) -> None:
    # YAML 1.1 reads `no` as False: a Norwegian pack (`code: no`) or `no: [no]` would break.
    path = tmp_path / "nb.yaml"
    path.write_text("code: no\nname: Norwegian\nyes: [ja]\nno: [nei, no]\n", encoding="utf-8")
    from vlmadapt.languages import add_pack_file

    try:
        got = add_pack_file(path)
        assert (got.code, got.no) == ("no", ["nei", "no"])
    finally:
        LANGUAGES.reload()
        LANGUAGES._added.clear()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code: de\nname: German\nyes: [ja]\nno: [nein]\nnumbers:\n  eins: one\n", ":6: numbers.eins: "),
        ("code: de\nname: German\nyes: [ja]\nno: [nein, ja]\n", ":4: no: words both in yes and no: ja"),
        ("code: Deutsch\nname: German\n", ":1: code: 'Deutsch' is not a language code"),
        (
            "code: de\nname: German\noptions:\n  phrase: [x]\n",
            ":4: options.phrase: unknown key; known keys here",
        ),
        ("code: de\nname: German\noptions:\n  phrases: ['die (Antwort']\n", ":4: options.phrases: phrase 0"),
        (
            "code: de\nname: German\nmetrics:\n  bleu_tokenize: moses\n",
            ":4: metrics.bleu_tokenize: unknown sacre",
        ),
        ("code: de\nname: German\nextends: xx\n", ": extends: 'xx' is not a known language pack"),
        ("- de\n", ": a language pack is a mapping"),
        ("code: [de\n", ": not valid YAML"),
    ],
)
def test_a_bad_pack_is_a_located_error(user_packs: Path, text: str, message: str) -> None:
    path = user_packs / "de.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        list(LANGUAGES)
    assert str(e.value).startswith(str(path)) and message in str(e.value)


def test_a_language_without_a_pack_gets_unicode_rules_and_one_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    LANGUAGES.reload()
    assert normalize("Ｓｔｒａßｅ\u00a0 n’est", "tlh") == "Ｓｔｒａßｅ n'est"  # NFC, typography
    assert parse_yes_no("Yes.", "tlh").label == "yes"  # English is always read
    assert parse_yes_no("HIja'", "tlh").label is None
    pack("tlh")
    warned = capsys.readouterr().err
    assert warned.count("no language pack for 'tlh'") == 1
    assert "yes/no parsing, number words" in warned and "--language-pack FILE" in warned
    with pytest.raises(UnknownNameError, match=r"unknown language 'tlh'; known: .*en"):
        language("tlh")


def test_turkic_casing_and_unicode_normalisation(user_packs: Path) -> None:
    (user_packs / "az.yaml").write_text("code: az\nname: Azerbaijani\nnormalize: {casing: turkic}\n", "utf-8")
    assert lowercase("İSTANBUL IRMAK", "az") == "istanbul ırmak"
    assert normalize("İSTANBUL IRMAK", "az", lowercase=True) == "istanbul ırmak"
    assert lowercase("ISTANBUL", "en") == "istanbul"
    assert "İ".lower() == "i\u0307"  # what Python alone gives: i + combining dot
    # NFD input is recomposed before anything else
    assert normalize("s\u0327coala\u0306", "ro") == "școală"


def test_languages_cli(cli: Cli, tmp_path: Path) -> None:
    code, listed, _ = cli(["languages", "list"])
    assert code == 0 and f"{len(LANGUAGES)} language packs" in listed
    for row in ("│ ro   │ Romanian", "da / nu", "oui / non"):
        assert row in listed
    code, shown, _ = cli(["languages", "show", "ro"])
    assert code == 0 and "packs/ro.yaml" in shown and "'no': [nu, niciun, nicio, fals]" in shown
    # what `show` prints is a valid pack again: the starting point of a user's own
    (tmp_path / "ro.yaml").write_text(shown, encoding="utf-8")
    from vlmadapt.languages.pack import build_pack, read_pack_data

    data, node = read_pack_data(tmp_path / "ro.yaml")
    assert build_pack(data, tmp_path / "ro.yaml", node) == language("ro")
    code, _, err = cli(["languages", "show", "tlh"])
    assert code == 2 and "unknown language 'tlh'; known:" in err


def test_language_pack_option(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "gsw.yaml"
    path.write_text(SWISS_GERMAN, encoding="utf-8")
    try:
        code, listed, _ = cli(["--language-pack", str(path), "languages", "list"])
        assert code == 0 and "│ gsw" in listed and "(user)" in listed and "Swiss" in listed
        bad = tmp_path / "bad.yaml"
        bad.write_text("code: gsw\nname: x\nyes: [jo]\nno: [jo]\n", encoding="utf-8")
        code, _, err = cli(["--language-pack", str(bad), "languages", "list"])
        assert code == 2 and f"error: {bad}:4: no: words both in yes and no: jo" in err.replace("\n", "")
    finally:
        LANGUAGES._added.clear()
        LANGUAGES.reload()


def test_version(cli: Cli) -> None:
    from vlmadapt import __version__

    assert cli(["--version"]) == (0, f"vlmadapt {__version__}\n", "")


# --- every shipped pack -------------------------------------------------------------------------------------

SHIPPED = sorted(p.stem for p in (Path(__file__).parents[1] / "src/vlmadapt/languages/packs").glob("*.yaml"))


@pytest.mark.parametrize("code", SHIPPED)
def test_shipped_pack_is_complete(code: str) -> None:
    lang = language(code)
    assert isinstance(lang, Language) and lang.code == code
    assert lang.missing() == [] and lang.sources
    assert set(range(21)) | set(range(30, 100, 10)) <= set(lang.numbers.values())
    assert lang.mt.flores is None or lang.mt.flores.endswith("_" + lang.script)
    prompts = lang.prompts
    assert prompts.yes_no and "{question}" in prompts.yes_no
    assert prompts.multiple_choice and "{options}" in prompts.multiple_choice
    assert prompts.hint and "{}" in prompts.hint


def test_lingua_knows_every_pack_code() -> None:
    from lingua import IsoCode639_1

    unknown = {}
    for code in LANGUAGES:
        given = LANGUAGES[code].lingua
        try:
            if given is not None:
                IsoCode639_1.from_str(given)
        except ValueError:
            unknown[code] = given
    assert unknown == {}


def test_readme_table_lists_every_shipped_pack_as_it_is() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**Shipped packs.**") : readme.index("### Native multilingual benchmarks")]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| `"):
            rows[cells[0].strip("`")] = cells
    assert sorted(rows) == sorted(SHIPPED) == list(LANGUAGES)
    for code, cells in rows.items():
        lang = language(code)
        assert cells[3] == f"{lang.yes[0]} / {lang.no[0]}", code
        assert cells[4] == f"`{lang.metrics.bleu_tokenize}`", code
        assert cells[5] == ("CER" if lang.metrics.unit == "chars" else "WER"), code
        assert cells[6].startswith(lang.metrics.bertscore_model), code
