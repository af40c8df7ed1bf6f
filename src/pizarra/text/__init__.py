"""Chapter 2, "De texto a números": tokenizers (characters, words, n-grams, byte-level BPE) and
vectorizers (one-hot, bag of words, TF-IDF). Plain Python, no web code."""
