"""Chapter 8, "Instrucciones, chat y alucinaciones": base vs instruct, chat, code, hallucinations.

    from pizarra.chat import sandbox, hallucination
    sandbox.run_python('print(input())', stdin="hola\n").stdout     # 'hola\n'
    hallucination.check("Who wrote 'The Silent Orchard of Valdemora'?")["semantic_entropy"]

Modules: ``core`` (base vs instruct, chat template view, one chat turn, instruction data),
``sandbox`` (run untrusted Python: process, namespace, rlimits, audit hook), ``code`` (the
lecture's BMI program: extract, run, check, evaluate), ``hallucination`` (semantic entropy with
the multilingual USE), ``evaluate`` (HaluEval / TruthfulQA AUROC), ``cli``. Importing is cheap: models load on use.
"""
