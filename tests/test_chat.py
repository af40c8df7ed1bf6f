"""Chapter 8: code extraction, semantic entropy, evaluation helpers, base vs instruct, chat, API, CLI.

The language-model tests ask for a handful of tokens only (a loaded 2-core machine is slow);
the sandbox's abuse cases are in test_chat_sandbox.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pizarra.chat import code, evaluate
from pizarra.chat import hallucination as h
from pizarra.errors import BadInput

FIXTURE_DATA = Path(__file__).parent / "fixtures" / "chat_data"


def _model_installed(name: str) -> bool:
    from pizarra.assets import models

    return bool(models.status(name)["found"])


PAGE = "/capitulo/instrucciones-chat-alucinaciones"


# ------------------------------------------------------------------------------ code extraction


def test_extract_code_from_a_fenced_reply():
    reply = "Aquí está el código:\n\n```python\nx = float(input())\nprint(x * 2)\n```\n\nEste código pide un número."
    assert code.extract_code(reply) == "x = float(input())\nprint(x * 2)\n"


def test_extract_code_prefers_the_longest_block_that_parses():
    reply = (
        "```\n$ python imc.py\n```\n```python\nprint(1)\n```\n"
        "```py\npeso = float(input())\nprint(peso)\n```\n```python\nthis is not python (\n```"
    )
    assert code.extract_code(reply) == "peso = float(input())\nprint(peso)\n"


def test_extract_code_without_fences_or_unterminated():
    assert code.extract_code("peso = 70\nprint(peso)") == "peso = 70\nprint(peso)\n"
    assert code.extract_code("Sure! Here it is:\nx = 3\nprint(x)\nThat prints 3.") == "x = 3\nprint(x)\n"
    assert code.extract_code("```python\nprint('cut off')") == "print('cut off')\n"  # max_tokens hit mid-block
    assert code.extract_code("No tengo código para ti, lo siento.") is None
    assert code.extract_code("") is None


def test_check_bmi():
    assert code.BMI_VALUE == 22.86
    assert code.check_bmi("Tu indice de masa corporal es 22.86\n") == {"right_value": True, "phrase": True}
    assert code.check_bmi("Your body mass index is 22.86") == {"right_value": True, "phrase": True}
    assert code.check_bmi("IMC: 22.857142")["right_value"] is False  # not rounded to two decimals
    assert code.check_bmi("122.86")["right_value"] is False
    assert code.check_bmi("Tu índice de masa corporal es 22.9") == {"right_value": False, "phrase": True}


def test_run_reply_runs_the_extracted_code():
    r = code.run_reply("```python\n" + code.BMI_REFERENCE + "```")
    assert r["result"]["status"] == "ok" and "22.86" in r["result"]["stdout"]
    assert code.run_reply("sin código")["result"] is None


# ------------------------------------------------------------------------------ semantic entropy


def test_semantic_entropy_values():
    assert h.semantic_entropy([0, 0, 0, 0, 0]) == 0.0
    assert h.semantic_entropy([0, 1, 2, 3, 4]) == pytest.approx(math.log(5))
    p = np.array([2, 2, 1]) / 5
    assert h.semantic_entropy([0, 0, 1, 1, 2]) == pytest.approx(float(-(p * np.log(p)).sum()))


def test_greedy_clustering_compares_with_each_clusters_first_answer():
    v = np.array([[1, 0], [0.96, 0.28], [0, 1], [0.28, 0.96], [0.6, 0.8]], np.float32)  # unit rows
    assert h.cluster_answers(v, 0.9) == [0, 0, 1, 1, 2]
    assert h.cluster_answers(v, 0.5) == [0, 0, 1, 1, 0]  # cos(v4, v0) = 0.6 >= 0.5: joins the first
    assert h.cluster_answers(v, 1.0) == [0, 1, 2, 3, 4]


def test_analyse_with_minilm_separates_agreement_from_confabulation():
    same = [
        "The capital of France is Paris.",
        "Paris is the capital of France.",
        "Paris is France's capital.",
        "The capital city of France is Paris.",
        "France's capital city is Paris.",
    ]
    made_up = [
        "They played the violin in an orchestra.",
        "Jesús was a drummer in a rock band.",
        "The book was published in 1987 by Planeta.",
        "José Ignacio sang opera in Milan.",
        "They never played any instrument.",
    ]
    a, b = h.analyse(same, 0.85, 0.9, "minilm"), h.analyse(made_up, 0.85, 0.9, "minilm")
    assert a["semantic_entropy"] < 0.9 and not a["flag"]
    assert b["semantic_entropy"] == pytest.approx(math.log(5), abs=1e-3) and b["flag"]
    assert len(b["clusters"]) == 5 and sorted(b["labels"]) == [0, 1, 2, 3, 4]
    assert sum(c["size"] for c in a["clusters"]) == 5
    assert np.allclose(np.diag(a["similarity"]), 1.0, atol=1e-3)
    assert a["mean_similarity"] > b["mean_similarity"]
    with pytest.raises(BadInput):
        h.analyse(["only one"])
    with pytest.raises(BadInput, match="Unknown encoder"):
        h.analyse(same, encoder="bert")


# Answers of the kind Qwen2.5-Coder gives at temperature 1 (same fact, different words), and made-up ones.
EASY = {
    "es": [
        "La capital de Francia es París.",
        "París es la capital de Francia.",
        "La capital de Francia es París.",
        "París.",
        "La capital de Francia es la ciudad de París.",
    ],
    "en": [
        "The capital of France is Paris.",
        "Paris is the capital of France.",
        "The capital of France is Paris.",
        "Paris.",
        "The capital city of France is Paris.",
    ],
}
MADE_UP = {
    "es": [
        "Tocaban la guitarra eléctrica en un grupo de rock.",
        "Jesús era batería y José Ignacio cantaba.",
        "El libro se publicó en 1987 en la editorial Planeta.",
        "Tocaban el violín en una orquesta de Sevilla.",
        "Nunca tocaron ningún instrumento: eran cantantes de ópera.",
    ],
    "en": [
        "They played the electric guitar in a rock band.",
        "Jesús was the drummer and José Ignacio sang.",
        "The book was published in 1987 by Planeta.",
        "They played the violin in an orchestra in Seville.",
        "They never played an instrument: they were opera singers.",
    ],
}


EASY_Q = {"es": "¿Cuál es la capital de Francia?", "en": "What is the capital of France?"}
MADE_UP_Q = {"es": h.EXAMPLE_QUESTIONS["es"][1], "en": h.EXAMPLE_QUESTIONS["en"][1]}


def test_answer_core_keeps_what_the_answer_adds():
    assert h.answer_core("La capital de Francia es París.", EASY_Q["es"]) == "París"
    assert h.answer_core("The capital of France is Paris.", EASY_Q["en"]) == "Paris"
    miller = "What nationality was James Henry Miller's wife?"
    assert h.answer_core("James Henry Miller's wife was Scottish.", miller) == "Scottish"
    band = h.answer_core("Tocaban la guitarra eléctrica en un grupo de rock.", MADE_UP_Q["es"])
    assert band == "guitarra eléctrica rock"
    assert h.answer_core("Sí, ambos.", "¿Son ambos futbolistas?") == "Sí"  # yes / no are answers
    assert h.answer_core("La capital de Francia.", EASY_Q["es"]) == "La capital de Francia."  # nothing added: whole


@pytest.mark.parametrize("lang", ["es", "en"])
def test_default_detector_lets_an_easy_fact_pass_and_flags_made_up_answers(lang):
    """The page's defaults (multilingual USE on the answers' cores, measured thresholds) on fixed
    answers, in both languages."""
    easy, made_up = h.analyse(EASY[lang], question=EASY_Q[lang]), h.analyse(MADE_UP[lang], question=MADE_UP_Q[lang])
    assert easy["encoder"] == "use" == h.DEFAULTS["encoder"] and easy["cores"][0] in ("París", "Paris")
    assert easy["semantic_entropy"] == 0.0 and len(easy["clusters"]) == 1
    assert not easy["flag"] and easy["semantic_entropy"] < h.DEFAULTS["flag_at"], easy["clusters"]
    assert made_up["flag"] and made_up["semantic_entropy"] > easy["semantic_entropy"]
    assert made_up["mean_similarity"] < easy["mean_similarity"]


def test_use_understands_that_spanish_answers_agree_where_minilm_does_not():
    """Why the detector clusters with the multilingual USE: MiniLM reads Spanish as English subwords."""
    pair = ["La capital de Francia es París.", "París es la capital francesa."]
    other = ["La capital de Francia es París.", "Jesús tocaba la batería en un grupo de rock."]

    def cos(texts, enc):
        v = h.embed(texts, enc)
        return float(v[0] @ v[1])

    gap = {enc: cos(pair, enc) - cos(other, enc) for enc in h.ENCODERS}
    assert gap["use"] > 0.3 and gap["use"] > gap["minilm"], gap


# ------------------------------------------------------------------------------ evaluation helpers


def test_auroc_and_judges():
    assert evaluate.auroc([1, 1, 0, 0], [0.9, 0.8, 0.1, 0.2]) == 1.0
    assert evaluate.auroc([1, 1, 0, 0], [0.1, 0.2, 0.9, 0.8]) == 0.0
    assert evaluate.auroc([1, 0], [0.5, 0.5]) == 0.5
    assert evaluate.auroc([1, 1], [0.5, 0.4]) is None
    assert evaluate.halueval_correct("The head office is in Delhi.", "Delhi")
    assert not evaluate.halueval_correct("Mumbai, the financial capital.", "Delhi")
    assert evaluate.halueval_correct("It was President Nixon", "President Richard Nixon")  # F1 0.8
    assert evaluate.token_f1("", "x") == 0.0
    # whole-sentence answers of an instruct model, judged by what they say (seen in HaluEval QA)
    assert evaluate.halueval_correct("U.S. Highway 60 gives access to Zilpo Road.", "US 60")
    assert evaluate.halueval_correct("Both Nicholas Ray and Elia Kazan are directors.", "director")
    assert evaluate.halueval_correct("The female main protagonist of Catching Fire is 16 years old.", "16-year-old")
    assert not evaluate.halueval_correct("It was recorded in Albany County.", "Ulster County")  # half: not enough
    assert evaluate.halueval_correct("No, they are not.", "no")
    assert not evaluate.halueval_correct("Yes, both are American rock bands, no doubt.", "no")
    tq = (["The watermelon seeds pass through your digestive system"], ["You grow watermelons in your stomach"])
    assert evaluate.truthfulqa_correct("They just pass through the digestive system.", *tq)
    assert not evaluate.truthfulqa_correct("A watermelon will grow in your stomach.", *tq)


def _fake_rows(pairs):
    d = evaluate.default_config()
    return [{"wrong": w, "scores": {d: s, "lexical": 1 - s}, "seconds": 1.0} for w, s in pairs]


def test_summarise_reports_held_out_auroc_and_baseline():
    # index % 3 == 0 tunes (rows 0, 3, 6), the others test
    rows = _fake_rows([(1, 1.6), (1, 1.0), (0, 0.0), (0, 0.5), (1, 0.2), (1, 1.2), (0, 0.1), (0, 0.3), (1, 1.4)])
    r = evaluate.summarise(rows, "halueval", "qwen-coder-1.5b", 5, 32, 1.0, 0.9, 9.0, 9)
    assert r["questions_done"] == 9 and r["n_tune"] == 3 and r["n_test"] == 6
    assert r["wrong_rate"] == pytest.approx(5 / 9, abs=1e-4)
    d = evaluate.default_config()
    assert r["detector"] == d and r["encoder"] == "use"
    # test rows 1, 2, 4, 5, 7, 8: wrong scores 1.0, 0.2, 1.2, 1.4 vs right 0.0, 0.3 -> 7/8 pairs ordered
    assert r["auroc"] == pytest.approx(7 / 8, abs=1e-4) == r["by_config"][d]["auroc_test"]
    assert r["by_config"]["lexical"]["auroc_test"] == pytest.approx(1 / 8, abs=1e-4)
    assert r["best_on_tune"]["config"] == d and r["by_config"][d]["auroc_tune"] == 1.0
    # flag at 0.9 on the test part: flags rows 1, 5, 8 (all wrong); misses row 4 -> 5/6 right; majority 4/6
    assert r["flag_accuracy"] == pytest.approx(5 / 6, abs=1e-4)
    assert r["majority_baseline_accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert r["rows"] is rows


def test_flag_threshold_split_and_previous_summary():
    assert evaluate.flag_threshold([1, 1, 0, 0], [0.9, 0.7, 0.1, 0.7]) == 0.9  # J: 0.5 at 0.9 and at 0.7
    assert evaluate.flag_threshold([1, 1, 0, 0], [0.9, 0.8, 0.1, 0.2]) == 0.8
    assert evaluate.flag_threshold([1, 1], [0.9, 0.8]) is None
    assert [evaluate.split_of(i) for i in range(6)] == ["tune", "test", "test", "tune", "test", "test"]
    old = {"model": "smollm2", "encoder": "minilm", "auroc": 0.5312, "questions_done": 68, "rows": [{}]}
    assert evaluate.previous_summary(old, "qwen-coder-1.5b") == {
        "model": "smollm2",
        "encoder": "minilm",
        "auroc": 0.5312,
        "questions_done": 68,
    }
    newer = {"model": "qwen-coder-1.5b", "encoder": "use", "previous": {"model": "smollm2", "auroc": 0.53}}
    assert evaluate.previous_summary(newer, "qwen-coder-1.5b") == {"model": "smollm2", "auroc": 0.53}
    assert evaluate.previous_summary({"model": "qwen-coder-1.5b", "encoder": "use"}, "qwen-coder-1.5b") is None


def test_row_scores_rank_made_up_answers_above_agreeing_ones():
    easy = evaluate.row_scores(EASY["es"], EASY["es"][0], EASY_Q["es"])
    made_up = evaluate.row_scores(MADE_UP["es"], MADE_UP["es"][0], MADE_UP_Q["es"])
    assert set(easy) == set(made_up) and evaluate.default_config() in easy
    assert {
        "use:spread",
        "minilm:spread",
        "use:greedy",
        "lexical",
        "use:se@0.85",
        "minilm:se@0.6",
        "use:core-se@0.7",
        "minilm:core-spread",
        "core-lexical",
    } <= set(easy)
    assert easy["use:core-se@0.7"] == 0.0 and easy["core-lexical"] < easy["lexical"]  # «París» five times
    for name in ("use:spread", "use:greedy", "lexical", "use:core-spread", "core-lexical", evaluate.default_config()):
        assert made_up[name] > easy[name], name


# ------------------------------------------------------------------------------ language models


def test_chat_view_shows_the_template_and_special_tokens():
    from pizarra.chat.core import chat_view

    v = chat_view([{"role": "user", "content": "Hola"}], system="Sé breve.")
    assert (
        v["prompt"]
        == "<|im_start|>system\nSé breve.<|im_end|>\n<|im_start|>user\nHola<|im_end|>\n<|im_start|>assistant\n"
    )
    texts = [t["text"] for t in v["tokens"]]
    assert texts[0] == "<|im_start|>" and texts.count("<|im_end|>") == 2
    assert "".join(texts) == v["prompt"] and v["n_tokens"] == len(texts) and v["dropped_turns"] == 0


def test_long_conversation_drops_oldest_turns():
    from pizarra.chat.core import chat_view

    long = "palabra " * 450  # about 900 SmolLM2 tokens each
    msgs = []
    for i in range(3):
        msgs += [{"role": "user", "content": f"{i} {long}"}, {"role": "assistant", "content": "Vale."}]
    msgs.append({"role": "user", "content": "¿Qué te dije primero?"})
    v = chat_view(msgs, model="smollm2", system="Sistema")
    assert v["dropped_turns"] >= 2
    assert v["prompt"].startswith("<|im_start|>system\nSistema") and "¿Qué te dije primero?" in v["prompt"]
    assert v["n_tokens"] <= 2048


def test_base_vs_instruct_and_one_reply():
    from pizarra.chat.core import base_vs_instruct, reply

    r = base_vs_instruct("Escribe un resumen de El Quijote.", max_tokens=4, temperature=0.0)
    assert r["base"]["model"] == "gemma-base" and r["instruct"]["model"] == "smollm2"
    assert r["base"]["received"] == "Escribe un resumen de El Quijote."
    assert r["instruct"]["received"].endswith("<|im_start|>assistant\n")
    assert 1 <= r["base"]["n_tokens"] <= 4 and 1 <= r["instruct"]["n_tokens"] <= 4
    one = reply([{"role": "user", "content": "Hi"}], max_tokens=3, temperature=0.0)
    assert one["model"] == "qwen-coder-1.5b" and isinstance(one["reply"], str) and one["n_tokens"] <= 3
    with pytest.raises(BadInput, match="end with a message from the user"):
        reply([{"role": "assistant", "content": "Hi"}])


def test_check_validates_before_sampling_and_combines_the_steps(monkeypatch):
    with pytest.raises(BadInput):
        h.check("", n=2)
    with pytest.raises(BadInput):
        h.check("Why?", n=1)
    with pytest.raises(BadInput):
        h.check("Why?", threshold=0)
    seen = {}

    def fake_sample(question, model, n, temperature, max_tokens, system, seed=0, on_answer=None):
        seen.update(question=question, n=n, system=system)
        return ["Paris is the capital of France.", "The capital of France is Paris.", "It is Lyon, in the south."]

    monkeypatch.setattr(h, "sample_answers", fake_sample)  # the real sampling: test_api_hallucination_stream
    r = h.check("  What is the capital of France? ", n=3, lang="en", encoder="minilm", threshold=0.85, flag_at=0.9)
    assert seen == {"question": "What is the capital of France?", "n": 3, "system": h.DEFAULT_SYSTEM["en"]}
    assert r["labels"] == [0, 0, 1] and r["semantic_entropy"] == pytest.approx(0.6365, abs=1e-3)
    assert r["flag"] is False and r["max_entropy"] == pytest.approx(math.log(3), abs=1e-4)
    h.check("¿Cuál es la capital de Francia?", n=3)
    assert seen["system"] == h.DEFAULT_SYSTEM["es"]  # Spanish unless told otherwise
    with pytest.raises(BadInput, match="Unknown language"):
        h.check("Why?", n=2, lang="fr")


# ------------------------------------------------------------------------------ web


@pytest.fixture(scope="module")
def client():
    from pizarra.web.app import create_app

    return TestClient(create_app())


def _events(text: str) -> list[dict]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_the_chat_page_offers_the_measured_models_and_speaks_the_readers_language(client):
    from typing import get_args

    from pizarra.chat.core import CHAT_MODEL, CHAT_MODELS, CODE_MODEL, DEFAULT_SYSTEM
    from pizarra.llm.types import LLM_NAMES
    from pizarra.web.routers.chat import ChatIn, ChatModel

    assert get_args(ChatModel) == CHAT_MODELS and ChatIn.model_fields["model"].default == CHAT_MODEL
    assert set(CHAT_MODELS) <= set(LLM_NAMES) and CODE_MODEL in LLM_NAMES
    es, en = client.get(f"{PAGE}?lang=es").text, client.get(f"{PAGE}?lang=en").text
    assert (
        DEFAULT_SYSTEM["es"] in es
        and DEFAULT_SYSTEM["en"] in en
        and "You are a helpful assistant.</textarea>" not in es
    )
    assert all(f'<option value="{m}">' in es for m in CHAT_MODELS)
    assert f'id="code-lab" data-model="{CODE_MODEL}"' in es


@pytest.mark.parametrize("lang,word", [("es", "Alucinaciones"), ("en", "Hallucinations")])
def test_page_in_both_languages(client, lang, word):
    r = client.get(f"{PAGE}?lang={lang}")
    assert r.status_code == 200
    assert word in r.text and "Jesús y José Ignacio" in r.text and "Escribe un resumen de El Quijote" in r.text
    assert "chat." not in "".join(line for line in r.text.splitlines() if ">chat." in line)  # no raw keys


def test_api_run_code_and_abuse(client):
    ok = client.post("/api/chat/run", json={"code": code.BMI_REFERENCE, "stdin": "70\n1.75\n"}).json()
    assert ok["result"]["status"] == "ok" and ok["bmi_check"]["right_value"]
    bad = client.post("/api/chat/run", json={"reply": "```python\nimport os\nprint(os.listdir('/'))\n```"}).json()
    assert bad["result"]["status"] == "refused" and bad["code"].startswith("import os")
    r = client.post("/api/chat/run?lang=es", json={"reply": "nada"})  # the shared client may hold lang=en
    assert r.status_code == 422 and "código Python" in r.json()["error"]["message"]  # Spanish first (issue #18)
    assert client.post("/api/chat/run", json={"code": "x" * 20_001}).status_code == 422


def test_api_stream_and_reply(client):
    body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "temperature": 0.0}
    events = _events(client.post("/api/chat/stream", json=body).text)
    assert events[0]["type"] == "start" and events[-1]["type"] == "done"
    assert 1 <= sum(e["type"] == "token" for e in events) <= 4 and events[-1]["n_tokens"] <= 3
    r = client.post("/api/chat/stream", json={"messages": [{"role": "assistant", "content": "Hi"}]})
    assert r.status_code == 422
    r = client.post("/api/chat/stream", json={**body, "max_tokens": 100_000})
    assert r.status_code == 422 and "max_tokens" in r.json()["error"]["message"]
    out = client.post("/api/chat/reply", json=body).json()
    assert out["model"] == "qwen-coder-1.5b" and "reply" in out  # the chat default (chat.core.CHAT_MODEL)


def test_api_hallucination_stream(client):
    events = _events(
        client.post(
            "/api/chat/hallucination?lang=es",  # the page's language (a cookie may say en)
            json={"question": "Who wrote Don Quixote?", "n": 2, "max_tokens": 5},
        ).text
    )
    assert [e["type"] for e in events] == ["answer", "answer", "result"]
    res = events[-1]
    assert len(res["answers"]) == 2 and "semantic_entropy" in res and isinstance(res["flag"], bool)
    assert res["model"] == h.DEFAULT_MODEL and res["encoder"] == "use" and res["system"] == h.DEFAULT_SYSTEM["es"]
    en = _events(
        client.post(
            "/api/chat/hallucination?lang=en", json={"question": "Who wrote Don Quixote?", "n": 2, "max_tokens": 4}
        ).text
    )[-1]
    assert en["system"] == h.DEFAULT_SYSTEM["en"]
    assert client.post("/api/chat/hallucination", json={"question": "x", "n": 50}).status_code == 422
    assert client.post("/api/chat/hallucination", json={"question": "x", "encoder": "bert"}).status_code == 422


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_hallucination_lab_asks_in_the_pages_language(client, lang):
    html = client.get(f"{PAGE}?lang={lang}").text
    lab = html[html.index('id="halluc-lab"') : html.index('id="numbers-lab"')]
    for q in h.EXAMPLE_QUESTIONS[lang]:
        assert f'data-q="{q}"'.replace("'", "&#39;") in lab, q
    assert ("¿Cuál es la capital de Francia?" in lab) == (lang == "es")
    assert ("What is the capital of France?" in lab) == (lang == "en")
    assert "Jesús y José Ignacio" in lab  # the lecture's story, as the slide tells it
    assert ("footballers Jesús and José Ignacio" in lab) == (lang == "en")


@pytest.mark.slow
@pytest.mark.skipif(not _model_installed(h.DEFAULT_MODEL), reason=f"{h.DEFAULT_MODEL} is not installed")
@pytest.mark.parametrize(
    "question,lang", [("¿Cuál es la capital de Francia?", "es"), ("What is the capital of France?", "en")]
)
def test_the_real_detector_does_not_flag_the_easy_fact(question, lang):
    """What a teacher tried first (SmolLM2 + MiniLM flagged «What is the capital of France?»):
    the default model, encoder and thresholds, as the page uses them."""
    r = h.check(question, lang=lang)
    assert not r["flag"], r["answers"]
    assert any("Par" in a for a in r["answers"]), r["answers"]


def test_api_template_and_info(client):
    v = client.post("/api/chat/template", json={"messages": [{"role": "user", "content": "Hola"}]}).json()
    assert v["prompt"].endswith("<|im_start|>assistant\n") and v["tokens"][0]["text"] == "<|im_start|>"
    info = client.get("/api/chat/info").json()
    assert info["bmi"] == {"stdin": "70\n1.75\n", "expected": "22.86"}
    assert info["sandbox"]["cpu_s"] == 2 and info["prompts"]["quijote"].startswith("Escribe un resumen")


def test_instruction_examples_with_and_without_data(client, monkeypatch):
    monkeypatch.delenv("PIZARRA_DATA", raising=False)
    shipped = client.get("/api/chat/instructions?limit=3").json()
    assert shipped["source"] == "shipped" and shipped["total"] == 8 and len(shipped["examples"]) == 3
    monkeypatch.setenv("PIZARRA_DATA", str(FIXTURE_DATA))
    seed = client.get("/api/chat/instructions?part=seed&offset=1&limit=5").json()
    assert seed["source"] == "self_instruct/seed" and seed["total"] == 3 and len(seed["examples"]) == 2
    assert seed["examples"][0]["instruction"] == "What is the relation between the given pairs?"
    pred = client.get("/api/chat/instructions?part=predictions").json()
    assert pred["total"] == 2 and pred["examples"][0]["output"]
    assert client.get("/api/chat/instructions?part=nope").status_code == 422


# ------------------------------------------------------------------------------ CLI


@pytest.fixture(scope="module")
def cli_app():
    import typer

    from pizarra.chat.cli import app as chat_app

    root = typer.Typer()
    root.add_typer(chat_app)  # as the lab mounts it: `pizarra chat`, `pizarra hallucination ...`
    return root


def test_cli_code_run(cli_app, tmp_path):
    prog = tmp_path / "imc.py"
    prog.write_text(code.BMI_REFERENCE)
    r = CliRunner().invoke(cli_app, ["code", "run", str(prog), "--json"])
    out = json.loads(r.stdout)
    assert r.exit_code == 0 and out["status"] == "ok" and "22.86" in out["stdout"]
    prog.write_text("import socket\nsocket.socket()")
    r = CliRunner().invoke(cli_app, ["code", "run", str(prog), "--json"])
    assert json.loads(r.stdout)["status"] == "refused"


def test_cli_chat_one_turn_and_hallucination_check(cli_app):
    r = CliRunner().invoke(cli_app, ["chat", "--prompt", "Hi", "--max-tokens", "3", "--temperature", "0", "--json"])
    out = json.loads(r.stdout)
    assert r.exit_code == 0 and out["model"] == "qwen-coder-1.5b" and isinstance(out["reply"], str)
    r = CliRunner().invoke(cli_app, ["hallucination", "check", "Who is José Ignacio?", "--n", "1", "--json"])
    assert r.exit_code == 2 and "between 2 and 20" in json.loads(r.stdout)["error"]["message"]
    r = CliRunner().invoke(cli_app, ["chat", "--model", "/nope/model.gguf", "--prompt", "Hi", "--json"])
    assert r.exit_code == 2 and "No GGUF file" in json.loads(r.stdout)["error"]["message"]


def test_cli_hallucination_eval_writes_the_report_and_keeps_the_previous_one(cli_app, tmp_path, monkeypatch):
    """The eval command's plumbing, with the model and the encoders replaced by fakes (fast)."""
    items = [{"question": f"Q{i}", "context": "passage", "right": "Paris" if i % 2 else "Rome"} for i in range(7)]
    monkeypatch.setattr(evaluate, "_items", lambda dataset, n: items[:n])
    monkeypatch.setattr(evaluate, "_ask", lambda model, item, s: "Paris" if s.temperature == 0 else f"x{s.seed}")
    monkeypatch.setattr(
        evaluate, "row_scores", lambda samples, greedy, question: {evaluate.default_config(): len(greedy) / 10}
    )
    report = tmp_path / "chat_halueval.json"
    report.write_text(
        json.dumps(
            {
                "model": "smollm2",
                "encoder": "minilm",
                "auroc": 0.5312,
                "questions_done": 68,
                "rows": [{"question": "old"}],
            }
        )
    )
    args = ["hallucination", "eval", "--questions", "5", "--threads", "0", "--report", str(report), "--json"]
    r = CliRunner().invoke(cli_app, args)
    assert r.exit_code == 0, r.output
    saved = json.loads(report.read_text())
    assert saved["model"] == h.DEFAULT_MODEL and saved["questions_done"] == 5 and len(saved["rows"]) == 5
    assert saved["previous"] == {"model": "smollm2", "encoder": "minilm", "auroc": 0.5312, "questions_done": 68}
    assert saved["wrong_rate"] == 0.6 and saved["command"].startswith("pizarra hallucination eval")
    # --resume goes on after the 5 rows; the old model's numbers stay as "previous"
    r = CliRunner().invoke(cli_app, [*args[:3], "7", *args[4:], "--resume"])
    saved = json.loads(report.read_text())
    assert r.exit_code == 0 and saved["questions_done"] == 7 and saved["previous"]["auroc"] == 0.5312
    assert len(saved["commands"]) == 2  # both sittings: the rows' provenance


def test_the_default_chat_answers_the_easy_spanish_fact(cli_app):
    """What a Spanish teacher tried first (SmolLM2 answered «El capital de Francia es Londana»)."""
    r = CliRunner().invoke(
        cli_app,
        ["chat", "--prompt", "¿Cuál es la capital de Francia?", "--max-tokens", "24", "--temperature", "0", "--json"],
    )
    reply = json.loads(r.stdout)["reply"]
    assert r.exit_code == 0 and ("París" in reply or "Paris" in reply), reply


def test_cli_interactive_commands(cli_app, tmp_path):
    out = tmp_path / "c.json"
    r = CliRunner().invoke(cli_app, ["chat", "--system", "Sé breve."], input=f"/reset\n/export {out}\n/exit\n")
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text()) == {"model": "qwen-coder-1.5b", "system": "Sé breve.", "messages": []}
    r = CliRunner().invoke(cli_app, ["chat", "--json"])
    assert r.exit_code == 2  # --json is for one turn (--prompt)


def test_api_compare(client):
    r = client.post(
        "/api/chat/compare", json={"prompt": "Escribe un resumen de El Quijote.", "max_tokens": 2, "temperature": 0.0}
    ).json()
    assert r["base"]["received"] == "Escribe un resumen de El Quijote."
    texts = [t["text"] for t in r["instruct"]["tokens"]]
    assert "".join(texts[texts.index("<|im_start|>", 1) :]).startswith("<|im_start|>user")
    assert "".join(texts).endswith("<|im_start|>assistant\n")
    assert client.post("/api/chat/compare", json={"prompt": "x", "max_tokens": 257}).status_code == 422


def test_api_compare_streams_both_columns(client):
    """Base first, then instruct (they take turns on the CPU): each side's start, its tokens, its done; the
    tokens of each side add up to what the same request answers whole."""
    body = {"prompt": "Escribe un resumen de El Quijote.", "max_tokens": 4, "temperature": 0.0, "seed": 0}
    r = client.post("/api/chat/compare/stream", json=body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
    order = [(e["type"], e["side"]) for e in events if e["type"] in ("start", "done")]
    assert order == [("start", "base"), ("done", "base"), ("start", "instruct"), ("done", "instruct")]
    starts = {e["side"]: e for e in events if e["type"] == "start"}
    assert starts["base"]["received"] == body["prompt"] and starts["base"]["model"] == "gemma-base"
    assert starts["instruct"]["received"].endswith("<|im_start|>assistant\n") and starts["instruct"]["tokens"]
    whole = client.post("/api/chat/compare", json=body).json()
    for side in ("base", "instruct"):
        streamed = "".join(e["text"] for e in events if e["type"] == "token" and e["side"] == side)
        assert streamed == whole[side]["text"]
        done = next(e for e in events if e["type"] == "done" and e["side"] == side)
        assert done["n_tokens"] == whole[side]["n_tokens"] <= 4
    bad = client.post("/api/chat/compare/stream?lang=es", json={"prompt": "   "})
    assert bad.status_code == 422 and "dos modelos" in bad.json()["error"]["message"]


REFERENCE_PROGRAMS = {  # one correct answer to each of our own code tasks: the checks must pass them
    "sum-es": "n = int(input())\nprint(f'La suma es {sum(range(1, n + 1))}')\n",
    "max-es": "a = int(input('Primero: '))\nb = int(input('Segundo: '))\nprint('El mayor es', max(a, b))\n",
    "celsius-es": "c = float(input())\nprint(f'{c * 9 / 5 + 32:.1f} °F')\n",
    "vowels-en": "w = input().strip()\nprint(sum(ch in 'aeiou' for ch in w.lower()))\n",
    "reverse-en": "print(input()[::-1])\n",
}


@pytest.mark.parametrize("name", sorted(code.TASKS))
def test_each_code_task_is_solvable_and_its_check_is_right(name):
    task = code.TASKS[name]
    res = code.run_reply(f"```python\n{REFERENCE_PROGRAMS[name]}```", stdin=task.stdin)["result"]
    assert res["status"] == "ok" and code.found_in(res["stdout"], task.expected), res
    assert not code.found_in(res["stdout"].replace(task.expected, task.expected + "1"), task.expected)


def test_found_in_wants_a_whole_token():
    assert code.found_in("La suma es 55.", "55") and code.found_in("55\n", "55")
    assert not code.found_in("155", "55") and not code.found_in("55.5", "55") and not code.found_in("x55", "55")
    assert code.found_in("77.0 °F", "77.0") and not code.found_in("77.05", "77.0")


def test_the_default_code_model_is_the_one_that_met_the_floor():
    """The page's and the CLI's code model is chosen on measurements: its BMI reports (20 samples at 0.7,
    Spanish and English) pass the issue's 60 % floor; the 0.5B's English one does not."""
    from pizarra.chat.core import CODE_MODEL
    from pizarra.config import reports_dir

    suffix = {"qwen-coder-1.5b": "qwen15", "qwen-coder-0.5b": "qwen05"}[CODE_MODEL]
    for lang in ("es", "en"):
        r = json.loads((reports_dir() / f"chat_bmi_{lang}_{suffix}.json").read_text(encoding="utf-8"))
        assert r["model"] == CODE_MODEL and r["n"] >= 20 and r["temperature"] == 0.7
        assert r["right_value"] / r["n"] >= 0.6, (lang, r["right_value"])
    small = json.loads((reports_dir() / "chat_bmi_en_qwen05.json").read_text(encoding="utf-8"))
    assert small["right_value"] / small["n"] < 0.6  # why the default moved to the 1.5B
