"""Chapter 6, "Entender texto": sentence embeddings, similarity, semantic map and search.

    from pizarra.similarity import compare
    compare("Me encanta el baloncesto", ["Me encanta el fútbol", "Nada me gusta más que el baloncesto"])
    # {"model": "minilm", "scores": [0.655, 0.838], ...}

Modules: ``encoders`` (fast ONNX MiniLM, USE, LRU cache), ``onnx_graph`` (MiniLM as an ONNX graph),
``core`` (compare, semantic map), ``search`` (index + top-k), ``evaluate`` (STS Spearman), ``cli``.
Importing this package is cheap: models load on first use.
"""

from .core import compare, semantic_map  # noqa: F401
from .search import build_index  # noqa: F401  (search: pizarra.similarity.search.search)
