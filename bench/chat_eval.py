"""Chapter 8's measured numbers, one evaluation after another (run it in the background).

1. Code generation: the lecture's BMI request to SmolLM2-135M-Instruct, 20 samples; each reply's
   code run in the sandbox on "70\\n1.75\\n"; success = runs and prints 22.86.
   -> reports/chat_bmi_es.json (and chat_bmi_en.json with --lang en)
2. Hallucination detector (semantic entropy): HaluEval QA and a TruthfulQA subset, AUROC and flag
   accuracy, each stopped by a time budget (the report says how many questions were done).
   -> reports/chat_halueval.json, reports/chat_truthfulqa.json

    PIZARRA_DATA=../shared/data nice -n 10 python bench/chat_eval.py [--only bmi|halueval|truthfulqa]

One llama.cpp thread (a shared 2-core machine); timings in the reports were taken under load.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

REPORTS = Path(__file__).resolve().parents[1] / "reports"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["bmi", "halueval", "truthfulqa"], action="append")
    ap.add_argument("--samples", type=int, default=20, help="BMI programs to generate")
    ap.add_argument("--lang", choices=["es", "en"], action="append", help="BMI prompt language(s) (default es)")
    ap.add_argument("--halueval", type=int, default=100, help="HaluEval questions (at most)")
    ap.add_argument("--truthfulqa", type=int, default=60, help="TruthfulQA questions (at most)")
    ap.add_argument("--minutes", type=float, default=15.0, help="time budget of each detector evaluation")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--resume", action="store_true", help="go on after the questions already in the reports")
    args = ap.parse_args()
    todo = args.only or ["bmi", "halueval", "truthfulqa"]

    from pizarra.chat.code import eval_bmi
    from pizarra.chat.evaluate import default_config, eval_hallucination, pin_threads, write_report

    pin_threads("smollm2", args.threads)
    machine = {"machine": platform.machine(), "cpus": __import__("os").cpu_count(), "threads": args.threads}
    if "bmi" in todo:
        for lang in args.lang or ["es"]:
            r = eval_bmi(
                args.samples,
                lang=lang,
                progress=lambda i, row, lang=lang: log(
                    f"bmi {lang} {i}/{args.samples}: {row['status']} value={row['right_value']}"
                ),
            )
            r.update(machine=machine, command=" ".join(sys.argv))
            write_report(r, REPORTS / f"chat_bmi_{lang}.json")
            log(f"bmi {lang}: success {r['right_value']}/{r['n']}, runs {r['runs']}/{r['n']}")
    for ds, n in (("halueval", args.halueval), ("truthfulqa", args.truthfulqa)):
        if ds not in todo:
            continue
        previous = None
        if args.resume and (REPORTS / f"chat_{ds}.json").is_file():
            old = json.loads((REPORTS / f"chat_{ds}.json").read_text())
            previous = old.get("rows") or old.get("examples")
        r = eval_hallucination(
            ds,
            n,
            max_minutes=args.minutes,
            previous=previous,
            progress=lambda i, total, row, ds=ds: log(
                f"{ds} {i}/{total}: wrong={row['wrong']} score={row['scores'][default_config()]}"
            ),
        )
        r.update(machine=machine, command=" ".join(sys.argv))
        write_report(r, REPORTS / f"chat_{ds}.json")
        log(f"{ds}: {r['questions_done']} questions, AUROC {r['auroc']}, wrong rate {r['wrong_rate']}")


if __name__ == "__main__":
    main()
