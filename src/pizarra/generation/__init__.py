"""Chapter 7, "Generar texto": language models trained here and pretrained, one interface for all.

    lm.py        LanguageModel: encode, start, probs(ids) -> p(next | ids), logprobs(ids); get_model(name)
    ngram.py     trigram with interpolated Kneser-Ney smoothing (NumPy counts)
    neural.py    LSTM and mini-GPT built from chapter 4's modules (``pizarra.nets``)
    sampling.py  greedy, temperature, top-k, top-p, repeat penalty, seed
    generate.py  next-token table, SnapGPT step, tree of samples, streaming, perplexity
    corpus.py    the Spanish corpus split and the held-out text every model is scored on
    train.py     training (shared loop) -> artifacts gen-ngram, gen-lstm, gen-gpt
    evaluate.py  the perplexity table (reports/generation_perplexity.json)

Models: "ngram", "lstm", "gpt" (artifacts), "gemma-base", "smollm2" (GGUF through
``pizarra.llm.runtime``) or a path to any .gguf file. Plain Python + PyTorch, no web code.
"""
