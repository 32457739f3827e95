"""The synthesize stage against a real OpenAI-compatible HTTP server on 127.0.0.1 with scripted replies.

The DevServer answers each request from a script keyed by the image's first caption and the retry seed,
so every check (schema, retries, grounding, language, dedupe, balance, resume) sees real HTTP, the real
cache and the real backends, with replies chosen to exercise it.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from vlmadapt.errors import ConfigError, VlmadaptError
from vlmadapt.evaluate.answers import fold
from vlmadapt.jsonl import iter_jsonl, read_records, write_jsonl
from vlmadapt.llm.devserver import DevServer
from vlmadapt.records import Example
from vlmadapt.synthesize import SynthesizeConfig, run
from vlmadapt.synthesize.balance import Vocabulary, sample_absent
from vlmadapt.synthesize.items import Obj
from vlmadapt.synthesize.text import caption_vocabulary, content_words

FAST = {"backoff_s": 0.01, "backoff_max_s": 0.05}


def _reply(objects: Sequence[str], qa: Sequence[tuple[str, str]]) -> str:
    return json.dumps(
        {"objects": list(objects), "qa": [{"question": q, "answer": a} for q, a in qa]}, ensure_ascii=False
    )


class Script:
    """Replies per image (keyed by its first caption) and per attempt; the judge's verdict per answer."""

    def __init__(self, replies: dict[str, list[str]], judge: Callable[[str], str] | None = None) -> None:
        self.replies, self.judge = replies, judge
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, body: dict[str, Any]) -> str:
        self.bodies.append(body)
        system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
        if system.startswith("You check") and self.judge is not None:
            return self.judge(user)
        first = user.split("\n")[1].removeprefix("- ")
        script = self.replies[first]
        return script[min(body.get("seed", 0), len(script) - 1)]


def _captions(path: Path, images: dict[str, list[str]], lang: str = "ro") -> Path:
    records = [
        Example(id=f"c{i}", task="caption", lang=lang, image=image, answers=caps, meta={"split": "train"})
        for i, (image, caps) in enumerate(images.items())
    ]
    return write_jsonl(path, records)


def _cfg(tmp_path: Path, url: str, **kw: Any) -> SynthesizeConfig:
    data = {
        "input": tmp_path / "captions.jsonl",
        "output": tmp_path / "qa.jsonl",
        "target": "ro",
        "backend": {"name": "openai", "model": "dev", "url": url, **FAST},
        "progress": False,
        **kw,
    }
    return SynthesizeConfig.model_validate(data)


def _rows(path: Path) -> list[dict[str, Any]]:
    return [raw for _, raw in iter_jsonl(path)]


def _summary(cfg: SynthesizeConfig) -> dict[str, Any]:
    return json.loads(cfg.summary_path().read_text(encoding="utf-8"))


DOG = "Un câine aleargă în parc cu o minge."
CAT = "O pisică doarme pe o canapea."
TWO = {
    DOG: [
        _reply(
            ["un câine", "o minge", "Un copac"],  # no tree in the captions: dropped
            [("Ce prinde câinele?", "Mingea."), ("Există un câine în imagine?", "Da, există.")],
        )
    ],
    CAT: [_reply(["o pisică", "o canapea"], [("Unde doarme pisica?", "Pe canapea.")])],
}


def test_records_of_two_images(tmp_path: Path) -> None:
    _captions(tmp_path / "captions.jsonl", {"7.jpg": [DOG, "Câinele prinde mingea."], "8.jpg": [CAT]})
    script = Script(TWO)
    with DevServer(respond=script) as server:
        cfg = _cfg(tmp_path, server.url)
        run(cfg)
    rows = {r["id"]: r for r in _rows(cfg.output)}
    assert list(rows) == ["7-qa-0", "7-qa-1", "7-yes-0", "7-no-0", "7-no-1", "8-qa-0", "8-yes-0", "8-no-0"]
    assert rows["7-qa-0"] == {
        "id": "7-qa-0",
        "task": "open_vqa",
        "lang": "ro",
        "image": "7.jpg",
        "question": "Ce prinde câinele?",
        "answers": ["Mingea."],
        "meta": {
            "synthesis": {"kind": "generated", "item": 0, "attempts": 1, "captions": ["c0"]},
            "split": "train",
        },
    }
    # A yes/no answer makes a yes/no record; the full answer stays in meta.
    assert (rows["7-qa-1"]["task"], rows["7-qa-1"]["answers"]) == ("yes_no", ["da"])
    assert rows["7-qa-1"]["meta"]["synthesis"]["answer"] == "Da, există."
    # The dog is already asked about, so the present-object question is about the ball; one generated
    # yes + one present yes -> two absent objects, both from the other image.
    assert (rows["7-yes-0"]["question"], rows["7-yes-0"]["answers"]) == ("Există o minge în imagine?", ["da"])
    absent = {rows[i]["question"]: rows[i]["meta"]["synthesis"]["sampling"] for i in ("7-no-0", "7-no-1")}
    assert set(absent) == {"Există o pisică în imagine?", "Există o canapea în imagine?"}
    assert sorted(absent.values()) == ["popular", "random"]
    # Image 8's absent question (sampling popular: a tie, broken alphabetically) is about the dog.
    assert rows["8-no-0"]["question"] == "Există un câine în imagine?"
    assert rows["8-no-0"]["meta"]["synthesis"] == {
        "kind": "absent",
        "object": "un câine",
        "sampling": "popular",
        "captions": ["c1"],
    }
    summary = _summary(cfg)
    assert (summary["yes"], summary["no"], summary["yes_ratio"]) == (3, 3, 0.5)
    assert (summary["objects"], summary["objects_dropped"], summary["requests"]) == (4, 1, 2)
    # The two requests run concurrently: pick the dog image's by its content, not by arrival.
    (system, user) = next(b["messages"] for b in script.bodies if DOG in b["messages"][-1]["content"])
    assert "model in Romanian" in system["content"] and '{"objects": [' in system["content"]
    assert user["content"] == (
        "Descriptions of one image:\n- Un câine aleargă în parc cu o minge.\n- Câinele prinde mingea.\n\n"
        "Write 3 question-answer pairs in Romanian."
    )


def test_invalid_reply_is_retried_with_seeded_sampling(tmp_path: Path) -> None:
    valid = TWO[CAT][0]
    _captions(tmp_path / "captions.jsonl", {"8.jpg": [CAT]})
    script = Script({CAT: ["Sure! Here are three questions about the cat.", f"```json\n{valid}\n```"]})
    with DevServer(respond=script) as server:
        cfg = _cfg(tmp_path, server.url)
        run(cfg)
    assert server.completions == 2
    assert [(b["temperature"], b.get("seed")) for b in script.bodies] == [(0.0, None), (0.7, 1)]
    first = _rows(cfg.output)[0]
    assert (first["id"], first["meta"]["synthesis"]["attempts"]) == ("8-qa-0", 2)
    assert not cfg.rejects_path().exists()


def test_exhausted_attempts_reject_the_image_and_the_run_goes_on(tmp_path: Path) -> None:
    bad = '{"objects": [], "qa": [{"question": "Ce face pisica?"}]}'  # no answer: fails the schema
    _captions(tmp_path / "captions.jsonl", {"7.jpg": [DOG], "8.jpg": [CAT]})
    script = Script({DOG: TWO[DOG], CAT: [bad]})
    with DevServer(respond=script) as server:
        cfg = _cfg(tmp_path, server.url, max_attempts=3)
        run(cfg)
    assert server.completions == 1 + 3
    assert [r["id"] for r in _rows(cfg.output)] == ["7-qa-0", "7-qa-1", "7-yes-0"]  # nothing absent is left
    (reject,) = _rows(cfg.rejects_path())
    assert reject["where"] == "8.jpg"
    assert reject["reason"] == "invalid_reply: qa.0.answer: missing required field (after 3 attempts)"
    assert reject["record"]["reply"] == bad
    summary = _summary(cfg)
    assert (summary["images_failed"], summary["rejects"]) == (1, {"invalid_reply": 1})


UMBRELLA = "Un bărbat ține o umbrelă roșie pe stradă."


def test_screening_drops_ungrounded_english_duplicate_and_caption_talk(tmp_path: Path) -> None:
    qa = [
        ("Ce ține bărbatul în mână?", "O umbrelă roșie."),
        ("Ce culoare are umbrela?", "Albastră."),
        ("Ce ține bărbatul în mâna sa?", "O umbrelă."),
        ("What is the man holding?", "The man is holding a red umbrella."),
        ("Ce spune descrierea despre bărbat?", "Că ține o umbrelă."),
        ("Unde stă bărbatul?", "Pe stradă."),
        ("Este umbrela neagră?", "Nu."),
        ("Există o pisică în imagine?", "Nu."),
    ]
    _captions(tmp_path / "captions.jsonl", {"u.jpg": [UMBRELLA]})
    with DevServer(respond=Script({UMBRELLA: [_reply(["un bărbat", "o umbrelă"], qa)]})) as server:
        cfg = _cfg(tmp_path, server.url, per_image=8, yes_no={"per_image": 0})
        run(cfg)
    assert [(r["id"], r["task"]) for r in _rows(cfg.output)] == [
        ("u-qa-0", "open_vqa"),
        ("u-qa-5", "open_vqa"),
        ("u-qa-6", "yes_no"),  # a "no" about the umbrella, which the captions name: kept
        ("u-yes-0", "yes_no"),  # balances the generated "no"
    ]
    assert [(r["record"]["id"], r["reason"]) for r in _rows(cfg.rejects_path())] == [
        ("u-qa-1", "ungrounded: not in the captions: albastra"),
        ("u-qa-3", "language: question is 'en', answer is 'en'"),
        ("u-qa-4", "mentions_captions: talks about the descriptions, not the image"),
        ("u-qa-7", "ungrounded: not in the captions: pisica"),
        ("u-qa-2", "duplicate: of 'Ce ține bărbatul în mână?'"),
    ]
    assert _summary(cfg)["rejects"] == {
        "duplicate": 1,
        "language": 1,
        "mentions_captions": 1,
        "ungrounded": 2,
    }


def test_language_flag_keeps_the_item_and_says_why(tmp_path: Path) -> None:
    qa = [("What is the man holding?", "O umbrelă roșie.")]
    _captions(tmp_path / "captions.jsonl", {"u.jpg": [UMBRELLA]})
    with DevServer(respond=Script({UMBRELLA: [_reply([], qa)]})) as server:
        cfg = _cfg(tmp_path, server.url, language_check="flag")
        run(cfg)
    (row,) = _rows(cfg.output)
    assert row["meta"]["synthesis"]["lang_id"] == {"question": "en"}


def test_french_grounding_elisions_and_typography(tmp_path: Path) -> None:
    beach, sofa = "Un chien brun court sur la plage avec une balle.", "Un chat dort sur le canapé de l'hôtel."
    replies = {
        beach: [
            _reply(
                ["un chien", "une balle"],
                [("Où court le chien ?", "Sur la plage."), ("Quelle couleur a le chien ?", "Noir.")],
            )
        ],
        sofa: [_reply(["un chat", "Un canape"], [("Où dort le chat ?", "Sur le canapé de l’hôtel.")])],
    }
    _captions(tmp_path / "captions.jsonl", {"b.jpg": [beach], "s.jpg": [sofa]}, lang="fr")
    with DevServer(respond=Script(replies)) as server:
        cfg = _cfg(tmp_path, server.url, target="fr", yes_no={"sampling": ["popular"]})
        run(cfg)
    rows = {r["id"]: (r["question"], r["answers"][0]) for r in _rows(cfg.output)}
    assert rows == {
        "b-qa-0": ("Où court le chien\u202f?", "Sur la plage."),
        "b-yes-0": ("Y a-t-il un chien dans l’image\u202f?", "oui"),
        "b-no-0": ("Y a-t-il un canape dans l’image\u202f?", "non"),  # "canape" grounds in "canapé"
        "s-qa-0": ("Où dort le chat\u202f?", "Sur le canapé de l’hôtel."),
        "s-yes-0": ("Y a-t-il un chat dans l’image\u202f?", "oui"),
        "s-no-0": ("Y a-t-il une balle dans l’image\u202f?", "non"),  # popular: a tie, "balle" < "chien"
    }
    assert [r["reason"] for r in _rows(cfg.rejects_path())] == ["ungrounded: not in the captions: noir"]


def test_judge_grounding_asks_once_per_answer_and_is_cached(tmp_path: Path) -> None:
    qa = [
        ("Ce ține bărbatul?", "O umbrelă."),
        ("Unde este bărbatul?", "Pe plajă."),
        ("Ce culoare?", "Roșie."),
    ]
    verdicts = {"O umbrelă.": ["Yes."], "Pe plajă.": ["No, the descriptions say a street."]}

    def judge(user: str) -> str:
        answer = user.split("Answer: ")[1].split("\n")[0]
        return verdicts.get(answer, ["I cannot tell."])[0]

    _captions(tmp_path / "captions.jsonl", {"u.jpg": [UMBRELLA]})
    script = Script({UMBRELLA: [_reply([], qa)]}, judge=judge)
    with DevServer(respond=script) as server:
        cfg = _cfg(tmp_path, server.url, grounding="judge", max_attempts=2, yes_no={"per_image": 0})
        run(cfg)
        assert server.completions == 1 + 3 + 1  # generation, three verdicts, one retry of the unclear one
        judged = [b for b in script.bodies if b["messages"][0]["content"].startswith("You check")]
        assert {b["max_tokens"] for b in judged} == {8}
        asked = [b["messages"][1]["content"] for b in judged]  # concurrent requests: any order
        assert any(
            a.endswith(
                "Question: Ce ține bărbatul?\nAnswer: O umbrelă.\n\nDo the descriptions support this answer? "
                "Reply yes or no."
            )
            for a in asked
        )
        (tmp_path / "qa.jsonl").unlink()
        run(cfg)
        assert server.completions == 5  # everything from the cache
    assert [r["id"] for r in _rows(cfg.output)] == ["u-qa-0"]
    rejected = _rows(cfg.rejects_path())
    assert [r["reason"] for r in rejected] == [
        "ungrounded: the judge said no",
        "ungrounded: no verdict from the judge (no yes/no answer: 'I cannot tell.')",
    ]
    assert rejected[0]["record"] == {
        "id": "u-qa-1",
        "question": "Unde este bărbatul?",
        "answer": "Pe plajă.",
        "captions": ["c0"],
        "attempts": 1,
    }


# A world of 20 images with two objects each, named in their captions.
NOUNS = [
    ("un câine", "câinele"),
    ("o pisică", "pisica"),
    ("un cal", "calul"),
    ("o minge", "mingea"),
    ("un copil", "copilul"),
    ("o femeie", "femeia"),
    ("un bărbat", "bărbatul"),
    ("o bicicletă", "bicicleta"),
    ("o mașină", "mașina"),
    ("un copac", "copacul"),
]


def _world(n: int) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    images, replies = {}, {}
    for i in range(n):
        (a, a_def), (b, b_def) = NOUNS[i % 10], NOUNS[(3 * i + 1) % 10 if (3 * i + 1) % 10 != i % 10 else 0]
        caps = [f"{a[0].upper()}{a[1:]} și {b} în parc, ziua {i}.", f"Se vede {a} lângă {b}."]
        yes_no = (f"Există {b} în imagine?", "Da.") if i % 4 else (f"Doarme {b_def}?", "Nu.")
        images[f"img{i}.jpg"] = caps
        replies[caps[0]] = [_reply([a, b], [(f"Unde este {a_def}?", "În parc."), yes_no])]
    return images, replies


def test_yes_ratio_is_balanced_and_absent_objects_are_absent(tmp_path: Path) -> None:
    images, replies = _world(20)
    _captions(tmp_path / "captions.jsonl", images)
    with DevServer(respond=Script(replies)) as server:
        balanced = _cfg(tmp_path, server.url, per_image=2)
        run(balanced)
        plain = _cfg(tmp_path, server.url, per_image=2, output=tmp_path / "plain.jsonl")
        plain.yes_no.balance = False
        run(plain)
        assert server.completions == 20  # the second run took every reply from the cache
    summary = _summary(balanced)
    assert (summary["yes"], summary["no"], summary["yes_ratio"]) == (40, 40, 0.5)
    assert summary["tasks"] == {"open_vqa": 20, "yes_no": 80}
    # 15 images with a generated "yes" get 1 present + 2 absent questions, 5 with a generated "no" get
    # 2 present + 1 absent; the j-th absent question of image i is drawn by samplings[(i + j) % 3].
    assert summary["sampling"] == {"adversarial": 11, "popular": 12, "random": 12}
    # Without balancing, the 15 generated "yes" and 5 "no" tip the set.
    assert _summary(plain)["yes_ratio"] == pytest.approx(35 / 60, abs=1e-4)
    captions_by_image = {img: fold(" ".join(caps)) for img, caps in images.items()}
    rows = _rows(balanced.output)
    for row in rows:
        about = row["meta"]["synthesis"]
        if about["kind"] in ("present", "absent"):
            stem = fold(content_words(about["object"], "ro")[0])[:4]  # câine -> cain, pisică -> pisi
            assert (stem in captions_by_image[row["image"]]) == (about["kind"] == "present"), row


def test_an_image_that_cannot_even_out_is_made_up_for_by_the_next(tmp_path: Path) -> None:
    replies = {
        # Two grounded "no" answers but a single object to ask a "yes" about: this image stays 1 yes, 2 no.
        UMBRELLA: [
            _reply(["o umbrelă"], [("Este umbrela neagră?", "Nu."), ("Este bărbatul pe plajă?", "Nu.")])
        ],
        CAT: [_reply(["o pisică", "o canapea"], [("Unde doarme pisica?", "Pe canapea.")])],
    }
    _captions(tmp_path / "captions.jsonl", {"u.jpg": [UMBRELLA], "8.jpg": [CAT]})
    with DevServer(respond=Script(replies)) as server:
        cfg = _cfg(tmp_path, server.url)
        run(cfg)
    rows = {r["id"]: (r["question"], r["answers"][0]) for r in _rows(cfg.output)}
    assert rows == {
        "u-qa-0": ("Este umbrela neagră?", "nu"),
        "u-qa-1": ("Este bărbatul pe plajă?", "nu"),
        "u-yes-0": ("Există o umbrelă în imagine?", "da"),
        "8-qa-0": ("Unde doarme pisica?", "Pe canapea."),
        # The cat image gets two present questions (its own one plus the umbrella image's missing yes)
        # and one absent, so the set ends even.
        "8-yes-0": ("Există o canapea în imagine?", "da"),
        "8-yes-1": ("Există o pisică în imagine?", "da"),
        "8-no-0": ("Există o umbrelă în imagine?", "nu"),
    }
    assert _summary(cfg)["yes_ratio"] == 0.5


def test_sampling_strategies_on_a_constructed_vocabulary() -> None:
    def obj(text: str) -> Obj:
        return Obj(text, tuple(content_words(text, "ro")))

    dog, ball, cat, horse = obj("un câine"), obj("o minge"), obj("o pisică"), obj("un cal")
    vocab = Vocabulary([[dog, ball], [dog, ball], [cat], [cat], [cat], [horse], [dog]])
    own = [dog]
    plain = caption_vocabulary(["Un câine aleargă pe iarbă."], "ro")
    with_ball = caption_vocabulary(["Un câine se joacă cu mingea."], "ro")  # the ball was not listed

    def draw(strategy: str, captions: frozenset[str], seed: int = 0) -> str | None:
        got = sample_absent(strategy, own, captions, vocab, random.Random(seed), set())
        return None if got is None else got.text

    assert draw("popular", plain) == "o pisică"  # the most frequent object that is not the dog
    assert draw("adversarial", plain) == "o minge"  # the one seen with dogs
    assert draw("adversarial", with_ball) == "o pisică"  # "mingea" is in the captions: not absent
    assert {draw("random", plain, seed) for seed in range(40)} == {"o minge", "o pisică", "un cal"}
    assert {draw("random", with_ball, seed) for seed in range(40)} == {"o pisică", "un cal"}
    taken = {cat.key, horse.key}
    assert sample_absent("popular", own, with_ball, vocab, random.Random(0), taken) is None


def test_resume_after_interruption_duplicates_nothing_and_asks_nothing(tmp_path: Path) -> None:
    images, replies = _world(12)
    _captions(tmp_path / "captions.jsonl", images)
    with DevServer(respond=Script(replies)) as server:
        cfg = _cfg(tmp_path, server.url)
        run(cfg)
        whole = cfg.output.read_bytes()
        lines = whole.splitlines(keepends=True)
        cfg.output.write_bytes(b"".join(lines[:17]) + lines[17][:25])  # killed mid-line
        run(cfg)
        assert cfg.output.read_bytes() == whole
        assert server.completions == 12
        assert _summary(cfg)["requests"] == 0 and _summary(cfg)["cached"] == 12
        other = _cfg(tmp_path, server.url, per_image=4)
        cfg.output.write_bytes(b"".join(lines[:17]))
        with pytest.raises(VlmadaptError, match=r"qa.jsonl: was started with different settings \(per_image"):
            run(other)
    assert len(read_records(cfg.output)) == 17


class Held:
    """Passes the first `answered` requests to `script`, then holds every later one until `release` is set;
    `arrived` lists the first caption of every request in the order they came."""

    def __init__(self, script: Script, answered: int) -> None:
        self.script, self.answered = script, answered
        self.release = threading.Event()
        self.arrived: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> str:
        with self._lock:
            self.arrived.append(body["messages"][-1]["content"].split("\n")[1].removeprefix("- "))
            held = len(self.arrived) > self.answered
        if held:
            self.release.wait(timeout=60)
        return self.script(body)


def test_a_killed_run_loses_no_answer_and_resumes_to_the_uninterrupted_output(tmp_path: Path) -> None:
    images, replies = _world(8)
    src = _captions(tmp_path / "captions.jsonl", images)
    out = tmp_path / "killed" / "qa.jsonl"
    held = Held(Script(replies), answered=3)
    with DevServer(respond=held) as server:
        argv = ["synthesize", str(src), "--lang", "ro", "--out", str(out), "--no-progress"]
        argv += ["--model", "dev", "--url", server.url, "--set", "backend.concurrency=1"]  # in input order
        proc = subprocess.Popen([sys.executable, "-m", "vlmadapt.cli", *argv], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(held.arrived) < 4:  # three answered, the fourth held
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the run sent no request"
            time.sleep(0.02)
        proc.kill()
        proc.wait(timeout=30)
        held.release.set()
        cfg = _cfg(tmp_path, server.url, input=src, output=out)
        run(cfg)
    firsts = [caps[0] for caps in images.values()]
    # The three answered requests came from the cache; only the one in flight at the kill was asked again.
    assert Counter(held.arrived) == {c: 2 if i == 3 else 1 for i, c in enumerate(firsts)}
    assert (_summary(cfg)["requests"], _summary(cfg)["cached"]) == (5, 3)
    with DevServer(respond=Script(replies)) as server:
        reference = _cfg(tmp_path, server.url, input=src, output=tmp_path / "ref" / "qa.jsonl")
        run(reference)
    assert out.read_bytes() == reference.output.read_bytes()


def test_response_format_is_sent_and_needs_the_openai_backend(tmp_path: Path) -> None:
    _captions(tmp_path / "captions.jsonl", {"8.jpg": [CAT]})
    script = Script({CAT: TWO[CAT]})
    with DevServer(respond=script) as server:
        run(_cfg(tmp_path, server.url, response_format="json_schema"))
    fmt = script.bodies[0]["response_format"]
    assert (fmt["type"], fmt["json_schema"]["name"]) == ("json_schema", "qa")
    schema = fmt["json_schema"]["schema"]
    assert (schema["required"], schema["additionalProperties"]) == (["objects", "qa"], False)
    assert schema["$defs"]["QAItem"]["additionalProperties"] is False  # OpenAI's strict mode needs both
    causal = _cfg(tmp_path, "http://unused", response_format="json_object")
    causal.backend.name = "causal"
    with pytest.raises(
        ConfigError, match=r"response_format=json_object: needs the openai backend, not 'causal'"
    ):
        run(causal)


def test_cli_runs_from_a_recipe_and_prints_the_summary(
    tmp_path: Path, cli: Callable[[list[str]], tuple[int, str, str]]
) -> None:
    images, replies = _world(4)
    src = _captions(tmp_path / "captions.jsonl", images)
    out = tmp_path / "qa.ro.jsonl"
    recipe = tmp_path / "synth.yaml"
    recipe.write_text("backend:\n  name: openai\n  model: dev\nyes_no:\n  sampling: [adversarial]\n")
    with DevServer(respond=Script(replies)) as server:
        argv = ["synthesize", str(src), "--lang", "ro", "--config", str(recipe), "--url", server.url]
        argv += ["--per-image", "2", "--out", str(out), "--no-progress", "--set", "backend.max_retries=0"]
        code, stdout, stderr = cli(argv)
    assert code == 0, stderr
    assert "20 QA records from 4 images" in stdout
    assert "yes 8, no 8; yes ratio 0.500" in stdout and "absent sampling │ adversarial 7" in stdout
    provenance = json.loads((tmp_path / "qa.ro.jsonl.provenance.json").read_text(encoding="utf-8"))
    assert provenance["settings"]["backend"]["model"] == "dev"
    assert provenance["config"]["backend"]["max_retries"] == 0
    assert json.loads((tmp_path / "qa.ro.summary.json").read_text(encoding="utf-8"))["records"] == 20


def test_python_config_takes_the_synthesis_prompt() -> None:
    from vlmadapt.llm import BackendConfig
    from vlmadapt.synthesize.prompts import JUDGE_PROMPT, SYSTEM_PROMPT

    given = BackendConfig(name="openai", model="m", temperature=0.2)
    cfg = SynthesizeConfig(input=Path("c.jsonl"), output=Path("q.jsonl"), target="fr", backend=given)
    assert (cfg.backend.system_prompt, cfg.backend.temperature) == (SYSTEM_PROMPT, 0.2)
    assert (cfg.judge_backend().system_prompt, cfg.judge_backend().max_new_tokens) == (JUDGE_PROMPT, 8)
    mine = BackendConfig(name="openai", model="m", system_prompt="Write QA in {target}.")
    kept = SynthesizeConfig(input=Path("c.jsonl"), output=Path("q.jsonl"), target="fr", backend=mine)
    assert kept.backend.system_prompt == "Write QA in {target}."


def test_cli_errors_name_the_file_line_and_field(
    tmp_path: Path, cli: Callable[[list[str]], tuple[int, str, str]]
) -> None:
    src = tmp_path / "captions.jsonl"
    rows = [
        {"id": "c0", "task": "caption", "lang": "ro", "image": "0.jpg", "answers": [CAT]},
        {"id": "q1", "task": "yes_no", "lang": "ro", "image": "0.jpg", "question": "Da?", "answers": ["da"]},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    base = ["synthesize", str(src), "--lang", "ro", "--out", str(tmp_path / "qa.jsonl")]

    def error(*extra: str) -> str:
        code, _, stderr = cli([*base, *extra])
        assert code == 2
        return " ".join(stderr.split())

    assert (
        error()
        == f"error: {src}:2: task: expected a caption record, got yes_no; synthesize writes QA from captions"
    )
    write_jsonl(src, [Example(id="c0", task="caption", lang="en", image="0.jpg", answers=["A cat."])])
    assert error().startswith(
        f"error: {src}:1: lang: 'en', but the QA are to be in 'ro'; answers are checked"
    )
    _captions(src, {"0.jpg": [CAT], "1.jpg": [" "]})
    assert error() == (
        f"error: {src}:2: answers: every caption is empty; give the caption text, or drop the record"
    )
    _captions(src, {"0.jpg": [CAT]})
    assert error("--backend", "seq2seq") == (
        "error: backend.name: 'seq2seq' cannot write free text; "
        "synthesize needs an LLM backend: causal, openai"
    )
    assert error("--set", "dedupe.treshold=0.5") == (
        "error: synthesize: dedupe.treshold: unknown key; known keys here: method, threshold"
    )
    assert error("--set", "yes_no.sampling=[sideways]").startswith(
        "error: synthesize: yes_no.sampling.0: Input should be 'random', 'popular' or 'adversarial'"
    )
    code, _, stderr = cli(["synthesize", str(src), "--lang", "tlh", "--out", str(tmp_path / "qa.jsonl")])
    assert code == 2 and "target: Value error, 'tlh': no language pack with yes/no words" in stderr
