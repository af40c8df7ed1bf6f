"""Generative AI writes a program: the lecture's BMI request, the code pulled out of the reply,
run in the sandbox on example inputs, and checked.

    extract_code(reply) -> str | None      the Python inside a chat reply (fenced block or bare code)
    run_reply(reply, stdin)                extract + run in the sandbox -> {"code", "result"}
    check_bmi(stdout)                      did it print the right BMI? (70 kg, 1.75 m -> 22.86)
    eval_bmi(n=20, ...)                    how often the local model's program runs and is right
    eval_task(TASKS[name], n=20, ...)      the same for small stdin -> stdout tasks of our own
"""

from __future__ import annotations

import ast
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Callable

from .sandbox import Limits, run_python

# The slide "IA generativa en acción", word for word (accents restored).
BMI_PROMPT_ES = (
    "Tengo que escribir un programa Python que pida al usuario su peso (en kg) y estatura (en metros), "
    "calcule el índice de masa corporal y lo almacene en una variable, y muestre por pantalla la frase "
    '"Tu índice de masa corporal es <imc>" donde <imc> es el índice de masa corporal calculado '
    "redondeado con dos decimales."
)
BMI_PROMPT_EN = (
    "Write a Python program that asks the user for their weight (in kg) and height (in meters), "
    "computes the body mass index and stores it in a variable, and prints the sentence "
    '"Your body mass index is <bmi>" where <bmi> is the computed body mass index rounded to two decimals.'
)
BMI_STDIN = "70\n1.75\n"  # 70 kg, 1.75 m
BMI_VALUE = round(70 / 1.75**2, 2)  # 22.86
# The answer on the slide (ChatGPT's), completed: the reference that must pass the check.
BMI_REFERENCE = """peso = float(input("Ingresa tu peso en kg: "))
estatura = float(input("Ingresa tu estatura en metros: "))
imc = peso / (estatura ** 2)
imc_redondeado = round(imc, 2)
print(f"Tu índice de masa corporal es {imc_redondeado}")
"""

FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)


def _compiles(code: str) -> bool:
    try:
        ast.parse(code)
        return True
    except (SyntaxError, ValueError):
        return False


def extract_code(reply: str) -> str | None:
    """The Python program in a reply: the longest fenced block tagged python (or untagged) that
    parses; else the whole reply if it parses; else its longest run of lines that parses."""
    blocks = [(lang.lower(), body.strip("\n")) for lang, body in FENCE.findall(reply or "")]
    pythonish = [b for lang, b in blocks if lang in ("python", "py", "python3", "") and b.strip()]
    for body in sorted(pythonish, key=len, reverse=True):
        if _compiles(body):
            return body.rstrip() + "\n"
    if pythonish:  # a block that does not parse: run it anyway, the error is the lesson
        return max(pythonish, key=len).rstrip() + "\n"
    text = (reply or "").strip()
    if not text:
        return None
    if _compiles(text) and any(ch in text for ch in "=()"):
        return text + "\n"
    lines = text.splitlines()
    best = ""
    for i in range(len(lines)):  # longest run of consecutive lines that parses as Python with a call
        for j in range(len(lines), i, -1):
            chunk = "\n".join(lines[i:j])
            if len(chunk) <= len(best):
                break
            if "(" in chunk and _compiles(chunk) and not _is_prose(chunk):
                best = chunk
                break
    return best + "\n" if best else None


def _is_prose(chunk: str) -> bool:
    """A sentence such as ``Here (below) is the code`` may parse; real code has an assignment or a call."""
    try:
        tree = ast.parse(chunk)
    except SyntaxError:
        return True
    return not any(isinstance(n, (ast.Assign, ast.Call, ast.FunctionDef, ast.Import)) for n in ast.walk(tree))


def run_reply(reply: str, stdin: str = BMI_STDIN, limits: Limits = Limits()) -> dict:
    """Extract the code of ``reply`` and run it: ``{"code", "result"}`` (result None if no code)."""
    code = extract_code(reply)
    return {"code": code, "result": run_python(code, stdin, limits).to_dict() if code else None}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def check_bmi(stdout: str) -> dict:
    """Did the program print 22.86 (BMI of 70 kg and 1.75 m, two decimals), and the slide's sentence?"""
    value = f"{BMI_VALUE:.2f}"
    right = re.search(rf"(?<![\d.]){re.escape(value)}(?!\d)", stdout or "") is not None
    phrase = any(p in _fold(stdout or "") for p in ("tu indice de masa corporal es", "your body mass index is"))
    return {"right_value": right, "phrase": phrase}


@dataclass(frozen=True)
class Task:
    """A small program to ask for: what it reads (stdin) and what it must print (a whole token)."""

    name: str
    prompt: str
    stdin: str
    expected: str


# Tasks of our own (not from the lecture), each checked on one input. A program passes when it runs
# without error and ``expected`` appears in its output as a whole token.
TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task(
            "sum-es",
            "Escribe un programa Python que lea un número entero n de la entrada estándar y muestre "
            "la suma de todos los números enteros del 1 al n.",
            "10\n",
            "55",
        ),
        Task(
            "max-es",
            "Escribe un programa Python que lea dos números enteros, uno en cada línea, y muestre el mayor de los dos.",
            "7\n12\n",
            "12",
        ),
        Task(
            "celsius-es",
            "Escribe un programa Python que lea una temperatura en grados Celsius y muestre su "
            "equivalente en grados Fahrenheit con un decimal.",
            "25\n",
            "77.0",
        ),
        Task(
            "vowels-en",
            "Write a Python program that reads one word from standard input and prints how many "
            "vowels (a, e, i, o, u) it contains.",
            "programming\n",
            "3",
        ),
        Task(
            "reverse-en",
            "Write a Python program that reads a line of text from standard input and prints it reversed.",
            "hola mundo\n",
            "odnum aloh",
        ),
    )
}


def found_in(stdout: str, expected: str) -> bool:
    """``expected`` printed as a whole token (55 in "La suma es 55.", not in "155" or "55.5")."""
    return re.search(rf"(?<![\w.]){re.escape(expected)}(?![\w]|\.\d)", stdout or "") is not None


def eval_task(
    task: Task,
    n: int = 20,
    model: str = "qwen-coder-1.5b",  # chat.core.CODE_MODEL
    temperature: float = 0.7,
    max_tokens: int = 384,
    seed: int = 0,
    progress: Callable[[int, dict], None] | None = None,
) -> dict:
    """Ask for ``task``'s program ``n`` times (seeds seed..seed+n-1), run each in the sandbox, count passes."""
    from pizarra.llm import runtime as rt

    samples = []
    t0 = time.perf_counter()
    for i in range(n):
        sampling = rt.Sampling(max_tokens=max_tokens, temperature=temperature, seed=seed + i).validated()
        reply = rt.chat(model, [{"role": "user", "content": task.prompt}], sampling).text
        run = run_reply(reply, stdin=task.stdin)
        res = run["result"]
        ok = bool(res) and res["status"] == "ok" and found_in(res["stdout"], task.expected)
        row = {
            "seed": seed + i,
            "status": res["status"] if res else "no_code",
            "passed": ok,
            "stdout": res["stdout"][:300] if res else "",
            "code": run["code"],
        }
        samples.append(row)
        if progress:
            progress(i + 1, row)
    passed = sum(1 for s in samples if s["passed"])
    return {
        "task": task.name,
        "model": model,
        "prompt": task.prompt,
        "stdin": task.stdin,
        "expected": task.expected,
        "n": n,
        "temperature": temperature,
        "passed": passed,
        "success_rate": round(passed / max(n, 1), 3),
        "seconds": round(time.perf_counter() - t0, 1),
        "samples": samples,
    }


def eval_bmi(
    n: int = 20,
    model: str = "qwen-coder-1.5b",  # chat.core.CODE_MODEL
    lang: str = "es",
    temperature: float = 0.7,
    max_tokens: int = 384,
    seed: int = 0,
    progress: Callable[[int, dict], None] | None = None,
) -> dict:
    """Ask the model for the BMI program ``n`` times (seeds seed..seed+n-1), run each reply's code
    on "70\\n1.75\\n" and count: code found, runs without error, prints 22.86, prints the sentence."""
    from pizarra.llm import runtime as rt

    prompt = BMI_PROMPT_ES if lang == "es" else BMI_PROMPT_EN
    samples = []
    t0 = time.perf_counter()
    for i in range(n):
        sampling = rt.Sampling(max_tokens=max_tokens, temperature=temperature, seed=seed + i).validated()
        reply = rt.chat(model, [{"role": "user", "content": prompt}], sampling).text
        run = run_reply(reply)
        res = run["result"]
        check = check_bmi(res["stdout"]) if res else {"right_value": False, "phrase": False}
        row = {
            "seed": seed + i,
            "reply": reply,
            "code": run["code"],
            "status": res["status"] if res else "no_code",
            "stdout": res["stdout"][:500] if res else "",
            "stderr": res["stderr"][-500:] if res else "",
            **check,
        }
        samples.append(row)
        if progress:
            progress(i + 1, row)
    k = len(samples)
    count = lambda pred: sum(1 for s in samples if pred(s))  # noqa: E731
    return {
        "task": "bmi",
        "model": model,
        "lang": lang,
        "prompt": prompt,
        "stdin": BMI_STDIN,
        "expected_value": f"{BMI_VALUE:.2f}",
        "n": k,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "code_found": count(lambda s: s["code"]),
        "runs": count(lambda s: s["status"] == "ok"),
        "right_value": count(lambda s: s["status"] == "ok" and s["right_value"]),
        "right_value_and_phrase": count(lambda s: s["status"] == "ok" and s["right_value"] and s["phrase"]),
        "success_rate": round(count(lambda s: s["status"] == "ok" and s["right_value"]) / max(k, 1), 3),
        "statuses": {st: count(lambda s, st=st: s["status"] == st) for st in sorted({s["status"] for s in samples})},
        "seconds": round(time.perf_counter() - t0, 1),
        "samples": samples,
    }
