"""Chapters 1 and 5: IMDB sentiment, discriminative models vs a generative LLM.

Modules: ``data`` (splits, tokenizer, vocabulary), ``linear`` (TF-IDF + LR, NBSVM), ``neural``
(LSTM and the chapter-4 Transformer encoder, from scratch), ``generative`` (an LLM classifies by
the probability of the label words), ``finetune`` (a Hugging Face encoder fine-tuned end to end;
GPU), ``shipped`` (the artifacts), ``predict`` (every model on one review), ``bench`` (the table),
``cli``. Importing this package is cheap: models load on first use.
"""
