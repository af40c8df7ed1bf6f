"""Chapter 6: sentence similarity (fast ONNX path = sentence-transformers), map, search, eval, CLI, API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pizarra.errors import AssetMissing, BadInput

FIXTURE_DATA = Path(__file__).parent / "fixtures" / "data"
SOURCE = "Me encanta el baloncesto"
CANDIDATES = ["Me encanta el fútbol", "Nada me gusta más que el baloncesto"]
LONG = "la casa " * 150  # 300 word pieces in 1,200 characters: beyond MiniLM's 256-token window


@pytest.fixture(scope="module", autouse=True)
def own_cache(tmp_path_factory):
    """One cache per module: the ONNX graph is built once here (about a second), then reused."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PIZARRA_CACHE", str(tmp_path_factory.mktemp("cache")))
    from pizarra.similarity import encoders, search

    encoders._encoders.clear()
    search._indexes.clear()
    yield
    encoders._encoders.clear()
    search._indexes.clear()
    mp.undo()


# ------------------------------------------------------------------------------- encoders


def test_onnx_graph_equals_sentence_transformers():
    """Glass box = black box: the hand-built ONNX graph computes SentenceTransformer.encode,
    on a padded batch of very different lengths and on a text cut to the 256-token window."""
    from pizarra.similarity.encoders import MiniLMOnnx, MiniLMTorch

    texts = [SOURCE, *CANDIDATES, "Hi", "I love my dog, and my dog loves me back every single day.", LONG]
    fast, ref = MiniLMOnnx(n_threads=1), MiniLMTorch()
    a, b = fast.encode(texts, batch_size=4), ref.encode(texts, batch_size=4)
    assert a.vectors.shape == (len(texts), 384)
    np.testing.assert_allclose(a.vectors, b.vectors, atol=2e-5)
    assert a.truncated == b.truncated == [False] * 5 + [True]
    assert a.tokens == b.tokens


def test_int8_bulk_path_ranks_like_fp32_but_is_a_separate_encoder():
    """The int8 graph (search indexes) keeps the ranking; the exact path stays the default."""
    from pizarra.assets.models import model_files
    from pizarra.similarity.encoders import get_encoder, onnx_cache_path

    exact, bulk = get_encoder("minilm"), get_encoder("minilm", bulk=True)
    assert exact.inner.precision == "fp32" and bulk.inner.precision == "int8" and exact is not bulk
    weights = model_files("minilm")["model/model.safetensors"]
    q8, f32 = onnx_cache_path(weights, "int8"), onnx_cache_path(weights, "fp32")
    assert q8.is_file() and q8.stat().st_size < 0.75 * f32.stat().st_size  # int8 linear weights
    texts = [SOURCE, *CANDIDATES, "I love my dog", "I adore my dog", "Hi, how's it going?", "El perro ladra"]
    a, b = exact.encode(texts).vectors, bulk.encode(texts).vectors
    sa, sb = a @ a.T, b @ b.T
    iu = np.triu_indices(len(texts), 1)
    assert np.abs(sa - sb).max() < 0.05  # close, not exact
    assert np.corrcoef(np.argsort(np.argsort(sa[iu])), np.argsort(np.argsort(sb[iu])))[0, 1] > 0.93
    assert [round(float(x), 3) for x in sa[0, 1:3]] == [0.655, 0.838]  # exact path: the lecture's numbers


def test_runtime_path_needs_no_torch():
    import subprocess
    import sys

    code = (
        "import sys; from pizarra.similarity import compare; r = compare(%r, %r); "
        "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules, 'heavy import'; "
        "print(r['scores'])" % (SOURCE, CANDIDATES)
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[0.655, 0.838]"


class FakeEncoder:
    """Counts what it is asked to encode; vectors are one-hot by first letter."""

    name, dim, max_tokens = "fake", 26, None

    def __init__(self):
        import threading

        self.lock = threading.Lock()
        self.calls: list[list[str]] = []

    def encode(self, texts, batch_size=32):
        from pizarra.similarity.encoders import Encoded

        self.calls.append(list(texts))
        v = np.zeros((len(texts), 26), np.float32)
        v[np.arange(len(texts)), [ord(t[0]) % 26 for t in texts]] = 1
        return Encoded(v, [len(t) for t in texts], [False] * len(texts))


def test_lru_cache_is_bounded_and_evicts_least_recently_used():
    from pizarra.similarity.encoders import CachedEncoder

    inner = FakeEncoder()
    enc = CachedEncoder(inner, maxsize=3)
    e = enc.encode(["a", "b", "a"])
    assert inner.calls == [["a", "b"]]  # duplicates encoded once
    np.testing.assert_array_equal(e.vectors[0], e.vectors[2])
    enc.encode(["c"])
    enc.encode(["a"])  # hit: "a" becomes the most recently used
    assert inner.calls[-1] == ["c"] and enc.hits == 2
    enc.encode(["d"])  # over the bound: "b" (least recently used) goes
    assert list(enc.cache) == ["c", "a", "d"]
    enc.encode(["b"])
    assert inner.calls[-1] == ["b"] and len(enc.cache) == 3


# -------------------------------------------------------------------------------- compare


def test_lecture_numbers_minilm():
    from pizarra.similarity import compare

    r = compare(SOURCE, CANDIDATES, "minilm")
    assert r["scores"] == [0.655, 0.838]  # the lecture's widget, to the third decimal
    assert [row["index"] for row in r["ranking"]] == [1, 0]
    assert r["notices"] == [] and r["truncated"] == []


def test_use_knows_spanish_and_crosses_languages():
    from pizarra.similarity import compare

    mini = compare("Adoro a mi perro", ["I adore my dog", "La bolsa cayó hoy"], "minilm")["scores"]
    use = compare("Adoro a mi perro", ["I adore my dog", "La bolsa cayó hoy"], "use")["scores"]
    assert use[0] > 0.8 and use[0] - use[1] > 0.5  # multilingual: a translation is the closest
    assert mini[0] < use[0] - 0.3  # English MiniLM does not see the translation


@pytest.mark.parametrize(
    "source,candidates,message",
    [
        ("", ["x"], "empty"),
        ("  ", ["x"], "empty"),
        (SOURCE, [], "at least one"),
        (SOURCE, ["ok", " "], "sentence 2 is empty"),
        (SOURCE, ["x"] * 101, "limit is 100"),
        ("x" * 2001, ["x"], "limit is 2000"),
    ],
)
def test_bad_input(source, candidates, message):
    from pizarra.similarity import compare

    with pytest.raises(BadInput, match=message):
        compare(source, candidates)


def test_unknown_model():
    from pizarra.similarity import compare

    with pytest.raises(BadInput, match="minilm, use"):
        compare(SOURCE, CANDIDATES, "bert")


def test_long_text_is_truncated_with_a_notice():
    from pizarra.similarity import compare

    r = compare(SOURCE, ["hola", LONG])
    assert r["truncated"] == [2]
    assert "256 tokens" in r["notices"][0]
    assert len(r["scores"]) == 2


def test_hundred_candidates_in_order():
    from pizarra.similarity import compare

    cands = [f"frase número {i}" for i in range(100)]
    r = compare(SOURCE, cands)
    assert len(r["scores"]) == 100
    assert [row["score"] for row in r["ranking"]] == sorted(r["scores"], reverse=True)


# ------------------------------------------------------------------------------------ map


def test_semantic_map_puts_the_dogs_together():
    from pizarra.similarity.core import semantic_map

    r = semantic_map(
        [
            "I love my dog",
            "I adore my dog",
            "Hi, how's it going?",
            "Hello, how are you?",
            "The stock market fell today",
            "Shares dropped sharply",
        ],
        k=3,
    )
    by = {p["text"]: p for p in r["points"]}
    assert by["I love my dog"]["nearest"] == "I adore my dog"
    assert by["I love my dog"]["cluster"] == by["I adore my dog"]["cluster"] != by["Hi, how's it going?"]["cluster"]
    xy = {t: np.array([p["x"], p["y"]]) for t, p in by.items()}
    assert np.linalg.norm(xy["I love my dog"] - xy["I adore my dog"]) < np.linalg.norm(
        xy["I love my dog"] - xy["Hi, how's it going?"]
    )


def test_map_bad_input():
    from pizarra.similarity.core import semantic_map

    with pytest.raises(BadInput, match="at least two"):
        semantic_map(["solo una", "solo una", ""])
    with pytest.raises(BadInput, match="pca, tsne or umap"):
        semantic_map(["a", "b"], method="isomap")


def test_umap_map_keeps_the_lecture_neighbours_together():
    from pizarra.similarity.core import semantic_map

    sentences = [
        "I love my dog",
        "I adore my dog",
        "I like my dog",
        "Hi, how's it going?",
        "Hello, how are you?",
        "Hey, what's up?",
        "I love watching soccer",
        "I enjoyed watching the world cup",
    ]
    m = semantic_map(sentences, method="umap", k=3)
    assert m["method"] == "umap"
    xy = {p["text"]: np.array([p["x"], p["y"]]) for p in m["points"]}
    dogs, greetings = sentences[:3], sentences[3:6]
    within = np.mean([np.linalg.norm(xy[a] - xy[b]) for a in dogs for b in dogs if a != b])
    across = np.mean([np.linalg.norm(xy[a] - xy[b]) for a in dogs for b in greetings])
    assert within < across  # on the UMAP picture itself, not only in the embedding space


def test_pca_and_kmeans_on_known_points():
    from pizarra.similarity.core import kmeans_cosine, pca_2d

    x = np.array([[1, 0, 0], [0.99, 0.1, 0], [0, 1, 0], [0.1, 0.99, 0]], np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = kmeans_cosine(x, 2)
    assert labels[0] == labels[1] != labels[2] == labels[3]
    pts = pca_2d(x)
    assert pts.shape == (4, 2)
    assert np.linalg.norm(pts[0] - pts[1]) < np.linalg.norm(pts[0] - pts[2])


# --------------------------------------------------------------------------------- search


PASSAGES = [
    {"text": t, "doc": "test"}
    for t in (
        "El caballero atacó a los molinos de viento creyendo que eran gigantes.",
        "La cena tenía pan, queso y un poco de vino tinto.",
        "El barco navegaba por el mar durante la tormenta.",
    )
]
STORIES = [
    {"text": "La niña encontró un gato perdido bajo la lluvia y se lo llevó a casa.", "doc": "cuentos"},
    {"text": "El viejo contaba el dinero de la venta del trigo en la plaza del pueblo.", "doc": "cuentos"},
]


@pytest.fixture
def tiny_lab(tmp_path, monkeypatch):
    """A fresh install in miniature: an empty cache, and an index shipped in artifacts/sim-index/
    made by the same code as the real one, from six passages (USE only: no ONNX graph to build)."""
    from pizarra.similarity import search as s
    from pizarra.similarity.index_card import write_index_artifact

    monkeypatch.setenv("PIZARRA_CACHE", str(tmp_path / "cache"))
    art = write_index_artifact(
        {"quijote": PASSAGES, "cuentos": STORIES}, ("use",), root=tmp_path / "art", progress=False
    )
    monkeypatch.setenv("PIZARRA_ARTIFACTS", str(tmp_path / "art"))
    s._indexes.clear()
    yield art
    s._indexes.clear()


def test_a_fresh_install_searches_the_shipped_index_without_building(tiny_lab):
    """Issue #18: no index in the cache, no data folder, no command: the first search answers."""
    from pizarra.similarity import search as s

    cache_index = s.index_path("quijote", "use")
    assert not cache_index.exists()
    r = s.search("gigantes que en realidad eran molinos", "quijote", "use", k=2)
    assert r["source"] == "shipped" and r["passages"] == 3 and len(r["results"]) == 2
    assert r["results"][0]["text"].startswith("El caballero")
    assert r["results"][0]["score"] >= r["results"][1]["score"]
    assert s.search("un gato", "cuentos", "use", k=1)["results"][0]["text"].startswith("La niña")
    assert not cache_index.exists()  # searching writes nothing
    card = tiny_lab.card
    assert card["data"]["collections"]["quijote"]["passages"] == 3 and card["command"].endswith("index_card")
    assert card["metrics"]["int8_top10_overlap"]["quijote/use"] == 1.0
    assert [x["source"] for x in s.index_status() if x["model"] == "use"] == ["shipped", "shipped"]
    with pytest.raises(BadInput):
        s.search("x", "quijote", "use", k=0)


def test_index_built_from_the_fixture_corpus_is_used_first(tiny_lab, monkeypatch):
    from pizarra.similarity import search as s

    monkeypatch.setenv("PIZARRA_DATA", str(FIXTURE_DATA))
    info = s.build_index("quijote", "use")  # tests/fixtures/data: one paragraph of 8+ words
    assert info["passages"] == 1 and Path(info["path"]).is_file()
    r = s.search("un hidalgo de la Mancha", "quijote", "use", k=5)
    assert r["source"] == "cache" and r["passages"] == 1 and r["results"][0]["text"].startswith("En un lugar")
    s._indexes.clear()  # a new process reads the same index from disk
    assert s.search("comida", "quijote", "use", k=1)["source"] == "cache"


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # a build cut short


def _old_format(path: Path) -> None:  # what the first version wrote: pickled objects, no format
    np.savez(path, vectors=np.ones((1, 512), np.float16), texts=np.array(["x"], object), docs=np.array(["d"], object))


def _garbage(path: Path) -> None:
    path.write_bytes(b"not an index at all")


def _nan_scales(path: Path) -> None:
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["scales_use"] = np.full_like(arrays["scales_use"], np.nan)
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def _wrong_shape(path: Path) -> None:
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["vectors_use"] = arrays["vectors_use"][:, :100]
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


@pytest.mark.parametrize("damage", [_truncated, _old_format, _garbage, _nan_scales, _wrong_shape])
def test_a_broken_cache_index_is_detected_removed_and_the_search_still_answers(tiny_lab, damage, caplog):
    """A partial, old or corrupt index in the cache never crashes a search: it is noticed when
    read, deleted (the next `pizarra similarity index` writes a whole one) and the shipped one answers."""
    from pizarra.similarity import search as s

    path = Path(s.build_index("quijote", "use", passages=PASSAGES[:1])["path"])
    damage(path)
    s._indexes.clear()
    r = s.search("gigantes que en realidad eran molinos", "quijote", "use", k=1)
    assert r["source"] == "shipped" and r["passages"] == 3 and r["results"][0]["text"].startswith("El caballero")
    assert not path.exists() and "broken search index" in caplog.text
    s.build_index("quijote", "use", passages=PASSAGES[1:2])  # rebuilt: whole again, used again
    s._indexes.clear()
    assert s.search("molinos", "quijote", "use", k=1)["source"] == "cache"


def test_a_damaged_shipped_index_is_a_clear_error_not_a_crash(tiny_lab):
    from pizarra.similarity import search as s
    from pizarra.web.app import create_app

    shipped = tiny_lab.path / "quijote.npz"
    shipped.write_bytes(shipped.read_bytes()[:100])  # its checksum no longer matches the card
    with pytest.raises(AssetMissing, match="reinstall Pizarra") as err:
        s.search("molinos", "quijote", "use")
    assert err.value.i18n_key == "err.similarity.shipped_index"
    r = TestClient(create_app()).get("/api/similarity/search", params={"q": "molinos"})
    assert r.status_code == 503
    message = r.json()["error"]["message"]
    assert "reinstala Pizarra" in message and "pizarra similarity" not in message  # no command for a student


def test_index_file_int8_keeps_cosines_and_refuses_the_wrong_model(tmp_path):
    from pizarra.similarity.index_file import BrokenIndex, read_index, save_index

    rng = np.random.default_rng(0)
    v = rng.normal(size=(50, 384)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    path = save_index(tmp_path / "i.npz", [f"t{i}" for i in range(50)], ["d"] * 50, {"minilm": v})
    back = read_index(path, "minilm")
    assert back["texts"][7] == "t7" and back["docs"] == ["d"] * 50
    assert np.abs(back["vectors"] @ v.T - v @ v.T).max() < 5e-3  # int8 rows: cosines to ~1e-3
    with pytest.raises(BrokenIndex, match="no vectors for model 'use'"):
        read_index(path, "use")
    assert [p.name for p in tmp_path.iterdir()] == ["i.npz"]  # no temporary file left behind


def test_the_shipped_index_covers_both_collections_and_finds_the_windmills():
    """The real artifacts/sim-index/: checksummed, under 20 MB, and the page's example query finds
    the windmill adventure among Don Quijote's paragraphs."""
    from pizarra.assets.artifacts import load_artifact
    from pizarra.config import REPO_ROOT
    from pizarra.similarity import search as s

    art = load_artifact("sim-index", root=REPO_ROOT / "artifacts")  # raises on a checksum mismatch
    assert sum(f["bytes"] for f in art.card["files"].values()) < 20 * 1024 * 1024
    assert art.card["data"]["collections"]["quijote"]["passages"] > 4000
    assert art.card["data"]["collections"]["cuentos"]["passages"] > 10000
    for key in ("quijote/use", "quijote/minilm", "cuentos/use", "cuentos/minilm"):
        assert art.card["metrics"]["int8_top10_overlap"][key] >= 0.9 and art.card["metrics"]["seconds"][key] > 0
    s._indexes.clear()
    r = s.search("gigantes que son molinos de viento", "quijote", "use", k=5)
    assert r["source"] == "shipped" and r["passages"] == art.card["data"]["collections"]["quijote"]["passages"]
    assert any("molinos" in p["text"] for p in r["results"])
    r = s.search("una tormenta en el mar", "cuentos", "minilm", k=3)
    assert len(r["results"]) == 3 and r["results"][0]["score"] >= r["results"][2]["score"]
    s._indexes.clear()


def test_split_passages():
    from pizarra.similarity.search import split_passages

    text = (
        "Corto.\n\nUna frase de más de ocho palabras para que cuente aquí.\n  \n"
        "Otra   línea\ncon ocho o más palabras partida en dos."
    )
    assert split_passages(text) == [
        "Una frase de más de ocho palabras para que cuente aquí.",
        "Otra línea con ocho o más palabras partida en dos.",
    ]


# ------------------------------------------------------------------------------------ eval


def test_pair_scores_and_spearman():
    from pizarra.similarity.evaluate import pair_scores, spearman

    pairs = [("aa", "ab", 5.0), ("ba", "ca", 0.0), ("da", "db", 4.0), ("ea", "fa", 1.0)]
    cos, gold = pair_scores(lambda s: FakeEncoder().encode(s).vectors, pairs)
    assert cos == [1.0, 0.0, 1.0, 0.0] and gold == [5.0, 0.0, 4.0, 1.0]
    assert spearman([1, 2, 3], [2, 4, 9]) == pytest.approx(1.0)
    assert spearman([1, 2], [1, 2]) is None


# ----------------------------------------------------------------------------- CLI and API


def test_cli_compare_json_and_errors():
    from pizarra.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["similarity", SOURCE, *CANDIDATES, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {
        "model": "minilm",
        "scores": [0.655, 0.838],
        "ranking": json.loads(r.stdout)["ranking"],
        "notices": [],
    }
    r = runner.invoke(app, ["similarity", "compare", SOURCE, CANDIDATES[0], "--model", "use", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["model"] == "use"
    r = runner.invoke(app, ["similarity", "", "x", "--json"])
    assert r.exit_code == 2 and json.loads(r.stdout)["error"]["type"] == "BadInput"


def test_cli_eval_on_fixture(monkeypatch):
    from pizarra.cli import app

    monkeypatch.setenv("PIZARRA_DATA", str(FIXTURE_DATA))
    r = CliRunner().invoke(app, ["similarity", "eval", "--model", "minilm", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["results"]
    assert [row["set"] for row in rows] == ["stsb_en_test", "stsb_es_test", "sts2017_es_es"]
    assert rows[0]["reference"] == 0.8203 and rows[0]["pairs"] == 2


def test_api_compare_map_search_and_page():
    from pizarra.web.app import create_app

    c = TestClient(create_app())
    r = c.post("/api/similarity/compare", json={"source": SOURCE, "candidates": CANDIDATES})
    assert r.status_code == 200 and r.json()["scores"] == [0.655, 0.838]
    r = c.post("/api/similarity/compare", json={"source": " ", "candidates": ["x"]})
    assert r.status_code == 422 and "Falta texto" in r.json()["error"]["message"]  # Spanish first (issue #18)
    r = c.post("/api/similarity/compare?lang=en", json={"source": " ", "candidates": ["x"]})
    assert r.status_code == 422 and "no text" in r.json()["error"]["message"]
    r = c.post("/api/similarity/compare", json={"source": "x", "candidates": ["y"] * 101})
    assert r.status_code == 422
    r = c.post("/api/similarity/map", json={"sentences": ["I love my dog", "I adore my dog", "Hola"], "k": 2})
    assert r.status_code == 200 and len(r.json()["points"]) == 3
    r = c.get("/api/similarity/search", params={"q": "molinos", "collection": "cuentos"})
    assert r.status_code == 200 and r.json()["source"] == "shipped" and len(r.json()["results"]) == 5
    page = c.get("/capitulo/entender-texto")
    assert page.status_code == 200 and 'id="compare-form"' in page.text and SOURCE in page.text
    assert "Me encanta el fútbol" in c.get("/capitulo/entender-texto?lang=en").text
