"""Every error answer of the API speaks the request's language (issue #18: one language system).

Many malformed requests go to every ``/api/`` route of the real app (enumerated from
``app.routes``, so a new router is covered as soon as it exists): no body, a body that is not JSON,
a body of the wrong shape, each field missing, of the wrong type or out of range, unknown model,
method and vector names, unknown words, a formula with a syntax error. Each answer's message is
scanned for words of the other language, leaving out what is not prose: quoted text (user input,
field names, allowed values), identifiers and the values the request sent.

Only validation and early checks are exercised: no request here runs a model for long (each
mutation of a valid body touches a name that is checked before any model work).
"""

from __future__ import annotations

import copy
import re
import tempfile
import time
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from pizarra import i18n
from pizarra.errors import BadInput, PizarraError
from pizarra.web.app import Settings, create_app

# Whole words that give a message away as English, or as Spanish. Words both languages write the
# same ("error", "no", "a", "es" the language code, "final") are left out.
ENGLISH = {
    "the",
    "should",
    "must",
    "field",
    "required",
    "input",
    "not",
    "valid",
    "invalid",
    "unknown",
    "choose",
    "between",
    "is",
    "are",
    "has",
    "have",
    "give",
    "write",
    "least",
    "most",
    "with",
    "of",
    "and",
    "or",
    "to",
    "be",
    "there",
    "this",
    "that",
    "was",
    "cannot",
    "allowed",
    "only",
    "missing",
    "empty",
    "too",
    "long",
    "short",
    "got",
    "expected",
    "than",
    "found",
    "word",
    "words",
    "sentence",
    "characters",
    "failed",
    "refused",
    "running",
    "done",
    "cancelled",
    "please",
    "limit",
    "value",
    "number",
    "integer",
    "string",
    "list",
    "object",
    "request",
    "body",
    "parsing",
    "no-one",
    "vocabulary",
    "syntax",
    "position",
    "at",
}
SPANISH = {
    "el",
    "la",
    "los",
    "las",
    "del",
    "que",
    "debe",
    "entre",
    "una",
    "para",
    "con",
    "por",
    "elige",
    "falta",
    "válido",
    "válida",
    "texto",
    "palabra",
    "palabras",
    "está",
    "hay",
    "como",
    "más",
    "puede",
    "escribe",
    "mucho",
    "mínimo",
    "número",
    "entero",
    "petición",
    "cuerpo",
    "obligatorio",
    "valores",
    "estos",
    "desconocido",
    "desconocida",
    "caracteres",
    "vocabulario",
    "posición",
}

QUOTED = re.compile(r"«[^»]*»|“[^”]*”|\"[^\"]*\"|`[^`]*`|(?<!\w)'[^']*'(?!\w)")
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
IDENTIFIER = re.compile(r"\S*[._/\\=<>{}\[\]#@]\S*|\S*\d\S*")  # body.text, max_tokens, a/b, x=1, 3cosadd

UNKNOWN = "zzqx"  # a name no model, method, vector set or word is called
NAME_FIELDS = {  # body or query fields that hold a name the handler looks up: checked before any work
    "model",
    "models",
    "kind",
    "method",
    "vectors",
    "metric",
    "collection",
    "encoder",
    "mode",
    "part",
    "lang",
    "word",
    "words",
    "a",
    "b",
    "c",
    "formula",
    "status",
}
SLOW_S = 20.0  # a request over this means the test is running models: fail loudly

_tmp = Path(tempfile.mkdtemp(prefix="pizarra-i18n-errors-"))
app = create_app(Settings(db_path=_tmp / "jobs.sqlite"))
SCHEMA = app.openapi()
COMPONENTS = SCHEMA.get("components", {}).get("schemas", {})


def api_operations() -> list[tuple[str, str, dict]]:
    """(method, path, OpenAPI operation) of every /api/ route, from ``app.routes``."""
    ops = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not context.path.startswith("/api/"):
            continue
        for method in sorted(set(context.methods or ()) - {"HEAD", "OPTIONS"}):
            op = SCHEMA["paths"].get(context.path, {}).get(method.lower(), {})
            ops.append((method, context.path, op))
    return ops


def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].split("/")[-1]]
    return schema


def plain(schema: dict) -> dict:
    """The schema of a field, with ``X | None`` reduced to X."""
    schema = resolve(schema)
    for option in schema.get("anyOf", []):
        option = resolve(option)
        if option.get("type") != "null":
            return {**option, **{k: v for k, v in schema.items() if k != "anyOf"}}
    return schema


def example(schema: dict, name: str = ""):
    """A value ``schema`` accepts (its example or default when it has one)."""
    schema = plain(schema)
    if schema.get("examples"):
        return copy.deepcopy(schema["examples"][0])
    if "default" in schema and schema["default"] is not None:
        return copy.deepcopy(schema["default"])
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "string":
        return {"word": "rey", "a": "hombre", "b": "mujer", "c": "rey"}.get(name, "hola mundo")
    if kind == "integer":
        return int(schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1))
    if kind == "number":
        return schema.get("minimum", 0.5)
    if kind == "boolean":
        return False
    if kind == "array":
        n = max(1, schema.get("minItems", 1))
        words = ["rey", "reina", "hombre", "mujer", "perro", "gato"]
        item = plain(schema.get("items", {}))
        if item.get("type") == "string":
            return words[:n] if n <= len(words) else [f"palabra {i}" for i in range(n)]
        return [example(item) for _ in range(n)]
    if kind == "object" or "properties" in schema:
        required = schema.get("required", [])
        return {k: example(v, k) for k, v in schema.get("properties", {}).items() if k in required}
    return "hola"


def wrong_type(schema: dict):
    kind = plain(schema).get("type")
    return {
        "string": 12345,
        "integer": "muchos",
        "number": "mucho",
        "boolean": "quizá",
        "array": "no-lista",
        "object": 7,
    }.get(kind, [1, {"x": 2}])


def out_of_range(schema: dict) -> list:
    s = plain(schema)
    values = []
    for bound, delta in (("maximum", 1), ("exclusiveMaximum", 0), ("minimum", -1), ("exclusiveMinimum", 0)):
        if bound in s:
            values.append(s[bound] + delta)
    if "maxLength" in s and s["maxLength"] <= 20_000:
        values.append("x" * (s["maxLength"] + 1))
    if s.get("minLength"):
        values.append("")
    if "maxItems" in s and s["maxItems"] <= 1000:
        values.append([example(s.get("items", {}))] * (s["maxItems"] + 1))
    if "minItems" in s:
        values.append([])
    if "enum" in s:
        values.append(UNKNOWN)
    return values


def body_schema(op: dict) -> dict | None:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    return resolve(content["schema"]) if content else None


def requests_for(method: str, path: str, op: dict):  # noqa: C901 - one malformed request per kind of route parameter
    """(description, request kwargs) of the malformed requests for one operation."""
    params = [p for p in op.get("parameters", []) if p["in"] in ("query", "path", "header")]
    good = {
        p["name"]: example(p.get("schema", {}), p["name"]) for p in params if p.get("required") or p["in"] == "path"
    }
    url = path

    def call(query: dict, body=None, raw: bytes | None = None, headers: dict | None = None) -> dict:
        target = url
        for p in params:
            if p["in"] == "path":
                target = target.replace("{" + p["name"] + "}", str(query.get(p["name"], 1)))
        kwargs = {
            "params": {k: v for k, v in query.items() if any(p["name"] == k and p["in"] == "query" for p in params)}
        }
        kwargs["headers"] = {
            **(headers or {}),
            **{k: str(v) for k, v in query.items() if any(p["name"] == k and p["in"] == "header" for p in params)},
        }
        if raw is not None:
            kwargs["content"] = raw
            kwargs["headers"]["content-type"] = "application/json"
        elif body is not None:
            kwargs["json"] = body
        return {"method": method, "url": target, **kwargs}

    schema = body_schema(op)
    valid_body = example(schema) if schema else None
    # parameters: wrong type, out of range, missing, unknown names
    for p in params:
        name, s = p["name"], p.get("schema", {})
        yield (
            f"{name}: wrong type",
            call({**good, name: wrong_type(s) if plain(s).get("type") != "string" else "x" * 5000}, valid_body),
        )
        for i, v in enumerate(out_of_range(s)):
            yield f"{name}: out of range {i}", call({**good, name: v}, valid_body)
        if p.get("required") and p["in"] == "query":
            yield f"{name}: missing", call({k: v for k, v in good.items() if k != name}, valid_body)
        if name in NAME_FIELDS and plain(s).get("type") in ("string", None):
            yield f"{name}: unknown", call({**good, name: UNKNOWN}, valid_body)
    if schema is None:
        return
    # the body as a whole
    if method in ("POST", "PUT", "PATCH"):
        yield "no body", call(good)
        yield "bad JSON", call(good, raw=b'{"text": "hola",')
        yield "not an object", call(good, body=[1, 2, 3])
        if schema.get("required"):
            yield "empty object", call(good, body={})
    # each field of the body
    for name, field in schema.get("properties", {}).items():
        yield f"body.{name}: wrong type", call(good, body={**valid_body, name: wrong_type(field)})
        for i, v in enumerate(out_of_range(field)):
            yield f"body.{name}: out of range {i}", call(good, body={**valid_body, name: v})
        if name in schema.get("required", []):
            yield f"body.{name}: missing", call(good, body={k: v for k, v in valid_body.items() if k != name})
        if name in NAME_FIELDS:
            value = [UNKNOWN, UNKNOWN + "b", UNKNOWN + "c"] if plain(field).get("type") == "array" else UNKNOWN
            yield f"body.{name}: unknown", call(good, body={**valid_body, name: value})
    if schema.get("additionalProperties") is False:
        yield "extra field", call(good, body={**valid_body, "zzextra": 1})


# Requests no schema can guess: a word without a vector (the Spanish FastText builds one for any
# word of letters, so: a word with a digit, or GloVe), a formula with a syntax error...
EXTRA = [
    ("unknown word", {"method": "GET", "url": "/api/embeddings/neighbors", "params": {"word": "qwxzv2"}}),
    (
        "unknown word, glove",
        {"method": "GET", "url": "/api/embeddings/neighbors", "params": {"word": "qwxzv", "vectors": "glove"}},
    ),
    (
        "unknown analogy words",
        {
            "method": "GET",
            "url": "/api/embeddings/analogy",
            "params": {"a": "qwxzv", "b": "woman", "c": "king", "vectors": "glove"},
        },
    ),
    ("formula syntax", {"method": "POST", "url": "/api/embeddings/formula", "json": {"formula": "LERP(rey, reina,"}}),
    ("formula unknown function", {"method": "POST", "url": "/api/embeddings/formula", "json": {"formula": "FOO(rey)"}}),
    (
        "formula unknown word",
        {"method": "POST", "url": "/api/embeddings/formula", "json": {"formula": "king - qwxzv", "vectors": "glove"}},
    ),
    ("formula bad char", {"method": "POST", "url": "/api/embeddings/formula", "json": {"formula": "rey $ reina"}}),
    ("project few words", {"method": "POST", "url": "/api/embeddings/project", "json": {"words": ["rey"]}}),
    ("project nothing", {"method": "POST", "url": "/api/embeddings/project", "json": {}}),
    ("tokenize empty", {"method": "POST", "url": "/api/text/tokenize", "json": {"text": "   "}}),
    ("vectorize punctuation", {"method": "POST", "url": "/api/text/vectorize", "json": {"sentences": ["!!", "?"]}}),
    ("job kind", {"method": "POST", "url": "/api/jobs", "json": {"kind": "no.such.kind"}}),
    ("job params", {"method": "POST", "url": "/api/jobs", "json": {"kind": "demo.count", "params": {"n": "muchos"}}}),
    ("job missing", {"method": "GET", "url": "/api/jobs/987654"}),
    ("a job to follow", {"method": "POST", "url": "/api/jobs", "json": {"kind": "demo.count", "params": {"n": 1}}}),
    ("job events bad seq", {"method": "GET", "url": "/api/jobs/1/events", "headers": {"last-event-id": "abc"}}),
    ("formula arguments", {"method": "POST", "url": "/api/embeddings/formula", "json": {"formula": "LERP(rey)"}}),
    ("formula two vectors", {"method": "POST", "url": "/api/embeddings/formula", "json": {"formula": "rey * reina"}}),
    ("formula zero", {"method": "POST", "url": "/api/embeddings/formula", "json": {"formula": "rey / 0"}}),
    ("formula mixed", {"method": "POST", "url": "/api/embeddings/formula", "json": {"formula": "rey + 2"}}),
    ("formula close word", {"method": "POST", "url": "/api/embeddings/formula", "json": {"formula": "reyy - hombre"}}),
    ("instructions part", {"method": "GET", "url": "/api/chat/instructions", "params": {"part": UNKNOWN}}),
    (
        "images cancel out",
        {
            "method": "POST",
            "url": "/api/images/arithmetic",
            "json": {"terms": [{"text": "perro", "weight": 1}, {"text": "perro", "weight": -1}]},
        },
    ),
    ("generation choice", {"method": "POST", "url": "/api/generation/step", "json": {"text": "hola", "choice": 10**9}}),
    ("job cancel missing", {"method": "POST", "url": "/api/jobs/987654/cancel"}),
    ("gandalf level", {"method": "POST", "url": "/api/gandalf/guess", "json": {"level": 99, "guess": "x"}}),
    ("gandalf empty guess", {"method": "POST", "url": "/api/gandalf/guess", "json": {"level": 1, "guess": " "}}),
    ("chat run nothing", {"method": "POST", "url": "/api/chat/run", "json": {"reply": "no code here"}}),
    (
        "chat last message",
        {
            "method": "POST",
            "url": "/api/chat/template",
            "json": {"messages": [{"role": "assistant", "content": "hola"}]},
        },
    ),
    (
        "similarity empty",
        {"method": "POST", "url": "/api/similarity/compare", "json": {"source": " ", "candidates": ["a"]}},
    ),
    (
        "similarity search collection",
        {"method": "GET", "url": "/api/similarity/search", "params": {"q": "hola", "collection": UNKNOWN}},
    ),
    ("images caption", {"method": "POST", "url": "/api/images/generate", "json": {"caption": "!!!"}}),
    ("generation empty", {"method": "POST", "url": "/api/generation/next", "json": {"prefix": "   "}}),
    ("sentiment empty", {"method": "POST", "url": "/api/sentiment/predict", "json": {"text": "   "}}),
    (
        "form body",
        {
            "method": "POST",
            "url": "/api/text/tokenize",
            "content": b"text=hola",
            "headers": {"content-type": "application/x-www-form-urlencoded"},
        },
    ),
    ("unknown route", {"method": "GET", "url": "/api/no-such-thing"}),
    ("wrong method", {"method": "DELETE", "url": "/api/health"}),
]


def all_requests() -> list[tuple[str, dict]]:
    out = []
    for method, path, op in api_operations():
        for what, req in requests_for(method, path, op):
            out.append((f"{method} {path} [{what}]", req))
    out += [(f"{r['method']} {r['url']} [{what}]", r) for what, r in EXTRA]
    return out


def sent_strings(req: dict) -> set[str]:
    """Every string the request sent (the answer may quote them without quotes)."""
    found: set[str] = set()

    def walk(x):
        if isinstance(x, str):
            found.add(x)
        elif isinstance(x, dict):
            for k, v in x.items():
                found.add(str(k))
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)

    walk(req.get("json"))
    walk(req.get("params"))
    return {s for s in found if s.strip()}


def prose_words(message: str, skip: set[str]) -> list[str]:
    """The words of ``message`` that are prose: no quoted text, identifiers, nor sent values."""
    for s in sorted(skip, key=len, reverse=True):
        if len(s) > 2:
            message = message.replace(s, " ")
    message = QUOTED.sub(" ", message)
    message = IDENTIFIER.sub(" ", message)
    return [w.lower() for w in WORD.findall(message)]


def wrong_language(body: dict, lang: str, skip: set[str]) -> list[str]:
    """The other language's words found in an error body's message and field messages."""
    error = body.get("error", {}) if isinstance(body, dict) else {}
    texts = [str(error.get("message", ""))] + [str(f.get("message", "")) for f in error.get("fields") or []]
    skip = skip | {str(f.get("field", "")) for f in error.get("fields") or []}
    skip |= {part for f in error.get("fields") or [] for part in str(f.get("field", "")).split(".")}
    other = ENGLISH if lang == "es" else SPANISH
    return sorted({w for text in texts for w in prose_words(text, skip) if w in other})


def scan(client: TestClient, lang: str) -> tuple[int, list[str]]:
    """Send every request in ``lang``; (error answers seen, descriptions of those in the wrong language)."""
    seen, bad = 0, []
    for what, req in all_requests():
        req = copy.deepcopy(req)
        req["headers"] = {**req.get("headers", {}), "accept-language": lang, "accept": "application/json"}
        start = time.monotonic()
        r = client.request(**req)
        elapsed = time.monotonic() - start
        assert elapsed < SLOW_S, f"{what} took {elapsed:.1f} s: the test must not run models"
        if r.status_code < 400:
            continue
        seen += 1
        try:
            body = r.json()
        except ValueError:
            bad.append(f"{what} → {r.status_code} not JSON: {r.text[:200]}")
            continue
        if r.status_code >= 500 and body.get("error", {}).get("kind") not in ("AssetMissing", "ChecksumMismatch"):
            bad.append(f"{what} → {r.status_code}: a server error ({body.get('error', {}).get('message', '')[:200]})")
        words = wrong_language(body, lang, sent_strings(req))
        if words:
            bad.append(f"{what} → {r.status_code} {words}: {body.get('error', {}).get('message', '')[:300]}")
    return seen, bad


@pytest.fixture(scope="module")
def client():
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_api_error_is_in_the_requests_language(client, lang):
    seen, bad = scan(client, lang)
    assert seen > 300, f"only {seen} error answers: the request generator found too few routes"
    assert not bad, f"{len(bad)} of {seen} error answers are not in {lang}:\n" + "\n".join(bad)


def test_the_scanner_finds_english_and_spanish():
    """The heuristic itself: English prose is caught, quoted input and field names are not."""
    en = {"error": {"message": "Not in the vocabulary of 'es': «perro»."}}
    assert wrong_language(en, "es", set()) == ["not", "of", "the", "vocabulary"]
    es = {
        "error": {
            "message": "Algunos datos no son válidos. «text»: falta, y es obligatorio.",
            "fields": [{"field": "body.text", "message": "falta, y es obligatorio"}],
        }
    }
    assert wrong_language(es, "es", set()) == []
    assert "obligatorio" in wrong_language(es, "en", set())
    assert wrong_language({"error": {"message": "Unknown model 'zzqx' or max_tokens"}}, "en", {"zzqx"}) == []


# ----------------------------------------------------------------------------------------------
# The mechanism: keys and parameters on errors, pydantic's types through the catalogue.


def test_an_error_with_a_key_is_shown_in_each_language_with_its_numbers():
    err = BadInput("The text has 6000 characters; the limit is 5000.", key="err.text.too_long", n=6000, limit=5000)
    assert str(err) == "The text has 6000 characters; the limit is 5000."  # logs and CLI fallback
    es, en = i18n.error_text(err, "es"), i18n.error_text(err, "en")
    assert "5000" in es and "6000" in es and "texto" in es
    assert "5,000" in en or "5000" in en
    assert i18n.error_text(BadInput("Plain English."), "es") == "Plain English."  # no key: str()


def test_an_error_missing_its_parameters_falls_back_to_its_sentence():
    err = BadInput("The text has 6000 characters.", key="err.text.too_long")  # no params
    assert i18n.error_text(err, "es") == "The text has 6000 characters."


def test_every_error_key_raised_in_the_code_is_in_both_catalogues():
    root = Path(__file__).parents[1] / "src" / "pizarra"
    used = set()
    for path in root.rglob("*.py"):
        text = path.read_text()
        used |= set(re.findall(r"""\bkey=["']([\w.\-]+)["']""", text))  # raise BadInput(..., key="err.x")
        used |= set(re.findall(r"""\bi18n_key = ["']([\w.\-]+)["']""", text))  # class attribute
        used |= set(re.findall(r"""\bPhrase\(["']([\w.\-]+)["']""", text))  # parts of messages
        used |= set(re.findall(r"""["']((?:err|sandbox|jobs\.error)\.[\w.\-]+)["']""", text))
    used = {key for key in used if not key.endswith(".")}  # a prefix completed at run time
    assert len(used) > 50, used
    for lang in i18n.LANGS:
        missing = used - set(i18n.catalogue(lang))
        assert not missing, (lang, sorted(missing))


@pytest.mark.parametrize(
    "err, es, en",
    [
        ({"type": "missing", "loc": ("body", "text"), "msg": "Field required"}, "obligatorio", "required"),
        ({"type": "less_than_equal", "ctx": {"le": 2.5}, "msg": "x"}, "2,5", "2.5"),
        (
            {"type": "literal_error", "ctx": {"expected": "'pca', 'tsne' or 'umap'"}, "msg": "x"},
            "«pca», «tsne», «umap»",
            "«pca», «tsne», «umap»",
        ),
        ({"type": "string_too_short", "ctx": {"min_length": 1}, "msg": "x"}, "vacío", "empty"),
        ({"type": "string_too_long", "ctx": {"max_length": 20000}, "msg": "x"}, "20.000", "20,000"),
        (
            {"type": "some_new_type", "msg": "Some new English message"},
            "no es un valor válido",
            "Some new English message",
        ),
    ],
)
def test_pydantic_errors_through_the_catalogue(err, es, en):
    assert es in i18n.validation_text(err, "es")
    assert en in i18n.validation_text(err, "en")


def test_a_pizarra_error_raised_in_a_validator_keeps_its_text():
    cause = BadInput("Unknown tokenizer 'x'.", key="err.text.unknown_tokenizer", kind="x", allowed=["chars", "bpe"])
    err = {"type": "value_error", "ctx": {"error": cause}, "msg": "Value error, Unknown tokenizer 'x'."}
    assert "«x»" in i18n.validation_text(err, "es") and "Unknown" not in i18n.validation_text(err, "es")


def test_field_labels():
    assert i18n.field_label(("body", "params", "n"), "es") == "«params.n»"
    assert i18n.field_label(("query", "k"), "es") == "«k» (parámetro de la dirección)"
    assert i18n.field_label(("body",), "es") == "el cuerpo de la petición"
    assert i18n.field_label(("body",), "en") == "the request body"


def test_starlettes_body_error_is_translated():
    assert "cuerpo" in i18n.http_detail_text("There was an error parsing the body", "es")
    assert i18n.http_detail_text("A router's own sentence.", "es") is None


@pytest.mark.parametrize(
    "environ, lang",
    [
        ({"PIZARRA_LANG": "en", "LANG": "es_ES.UTF-8"}, "en"),
        ({"PIZARRA_LANG": "es"}, "es"),
        ({"LANG": "es_AR.UTF-8"}, "es"),
        ({"LC_ALL": "C.UTF-8", "LANG": "es_ES.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({}, "en"),
        ({"PIZARRA_LANG": "fr", "LANG": "es_ES.UTF-8"}, "es"),
    ],
)
def test_the_cli_language_comes_from_the_environment(environ, lang):
    assert i18n.env_lang(environ) == lang


def test_pizarra_error_keeps_its_class_key_and_takes_one_at_the_raise_site():
    class Custom(PizarraError):
        i18n_key = "error.model_restarted"

    assert Custom("x").i18n_key == "error.model_restarted"
    assert Custom("x", key="err.text.too_long").i18n_key == "err.text.too_long"
    assert Custom("x").i18n_params == {}


def test_no_raise_site_passes_a_parameter_its_error_class_takes_itself():
    """``AssetMissing(name, message, key=..., name=...)`` would be a TypeError at the worst moment:
    catalogue parameters never reuse the names of the class's own arguments."""
    import ast
    import inspect

    import pizarra.errors as errors

    classes = {
        name: cls for name, cls in vars(errors).items() if isinstance(cls, type) and issubclass(cls, PizarraError)
    }
    own = {
        name: set(inspect.signature(cls.__init__).parameters) - {"self", "args", "key", "params"}
        for name, cls in classes.items()
    }
    root = Path(__file__).parents[1] / "src" / "pizarra"
    bad = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in own:
                names = {k.arg for k in node.keywords}
                if "key" in names and names & own[node.func.id]:
                    bad.append(f"{path.name}:{node.lineno} {node.func.id} {names & own[node.func.id]}")
    assert not bad, bad


@pytest.mark.parametrize("lang, words", [("es", "debe estar entre 1 y 8"), ("en", "must be between 1 and 8")])
def test_cli_errors_speak_pizarra_lang(lang, words):
    """The CLI prints its errors from the same catalogues, in $PIZARRA_LANG (else the locale's)."""
    import json

    from typer.testing import CliRunner

    from pizarra.cli import app as cli_app

    r = CliRunner().invoke(cli_app, ["gandalf", "eval", "--levels", "9", "--json"], env={"PIZARRA_LANG": lang})
    assert r.exit_code == 2
    assert words in json.loads(r.stdout)["error"]["message"]
    r = CliRunner().invoke(cli_app, ["gandalf", "eval", "--levels", "9"], env={"PIZARRA_LANG": lang})
    assert r.exit_code == 2 and words in r.output and "Error:" in r.output
