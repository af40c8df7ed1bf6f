"""Chapter 3, "Embeddings de palabras": word2vec trained here on Spanish text, GloVe for English;
nearest words, analogies, vector formulas, projections. Plain Python + NumPy, no web code."""
