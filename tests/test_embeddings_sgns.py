"""The from-scratch skip-gram with negative sampling: its gradient is the analytic one, and it
trains through the shared loop."""

from __future__ import annotations

import numpy as np
import torch

from pizarra.embeddings.sgns import SGNSConfig, SkipGramNS, make_pairs, noise_distribution


def test_gradient_equals_analytic():
    torch.manual_seed(0)
    m = SkipGramNS(SGNSConfig(vocab_size=7, dim=4, negative=3)).double()
    torch.nn.init.normal_(m.W_out.weight)  # non-zero u, so every term is exercised
    c, targets = torch.tensor([2]), torch.tensor([[5, 1, 3, 6]])  # context 5, negatives 1, 3, 6
    _, loss = m(c, targets)
    loss.backward()
    v, U = m.W_in.weight[2].detach(), m.W_out.weight.detach()
    s = torch.sigmoid(U[[5, 1, 3, 6]] @ v)  # σ(uᵀ v_c)
    grad_v = (s[0] - 1) * U[5] + s[1] * U[1] + s[2] * U[3] + s[3] * U[6]
    assert torch.allclose(m.W_in.weight.grad[2], grad_v)
    assert torch.allclose(m.W_out.weight.grad[5], (s[0] - 1) * v)
    for k, w in enumerate([1, 3, 6], start=1):
        assert torch.allclose(m.W_out.weight.grad[w], s[k] * v)
    expected = -torch.log(s[0]) - torch.log(1 - s[1:]).sum()
    assert torch.allclose(loss, expected)
    # words not in the example get no gradient
    assert m.W_in.weight.grad[[0, 1, 3]].abs().sum() == 0 and m.W_out.weight.grad[[0, 2, 4]].abs().sum() == 0


def test_pairs_and_noise():
    noise = noise_distribution(np.array([16, 1, 1]))
    assert noise[0] == 8 / 10  # 16^0.75 = 8
    c, t = make_pairs(np.array([0, 1, 2, 0, 1]), window=1, negative=2, noise=noise)
    assert t.shape == (len(c), 3) and len(c) == 8  # window 1: each of the 4 adjacent pairs, both ways
    pairs = {(int(a), int(b)) for a, b in zip(c, t[:, 0], strict=False)}
    assert pairs == {(0, 1), (1, 0), (1, 2), (2, 1), (2, 0), (0, 2)}


def test_trains_with_shared_loop():
    from pizarra.train import TrainConfig, fit

    # two "topics": words 0-4 always appear together, words 5-9 too
    rng = np.random.default_rng(0)
    ids = np.concatenate([rng.integers(0, 5, 40) if i % 2 else rng.integers(5, 10, 40) for i in range(60)])
    noise = noise_distribution(np.bincount(ids, minlength=10))
    X, Y = make_pairs(ids, window=2, negative=3, noise=noise)
    torch.manual_seed(0)
    m = SkipGramNS(SGNSConfig(vocab_size=10, dim=8, negative=3))
    res = fit(
        m,
        (X, Y),
        None,
        TrainConfig(max_steps=300, batch_size=256, lr=0.02, progress=False, device="cpu", checkpoint_every=None),
    )
    w = torch.nn.functional.normalize(m.W_in.weight.detach(), dim=1)
    sim = w @ w.T
    same = (sim[:5, :5].sum() - 5) / 20
    other = sim[:5, 5:].mean()
    assert same > other + 0.3, (same, other)
    assert res is not None


def _topic_corpus(n_topics=5, words_per_topic=8, docs=300, doc_len=30, noise_share=0.2, seed=0):
    """Documents that each talk about one topic (its words) plus some shared filler words."""
    rng = np.random.default_rng(seed)
    vocab = n_topics * words_per_topic
    filler = np.arange(vocab, vocab + 4)  # 4 filler words found in every topic
    ids = []
    for d in range(docs):
        topic = d % n_topics
        words = rng.integers(0, words_per_topic, doc_len) + topic * words_per_topic
        noise = rng.random(doc_len) < noise_share
        words[noise] = rng.choice(filler, noise.sum())
        ids.append(words)
    return ids, vocab + 4, n_topics, words_per_topic


def _topic_purity(vectors: np.ndarray, n_topics: int, per_topic: int, k: int = 3) -> float:
    """Share of each topic word's k nearest words (cosine) that belong to its own topic."""
    n = n_topics * per_topic
    w = vectors[:n] / np.linalg.norm(vectors[:n], axis=1, keepdims=True)
    sim = w @ w.T
    np.fill_diagonal(sim, -np.inf)
    nearest = np.argsort(-sim, axis=1)[:, :k]
    return float(np.mean(nearest // per_topic == (np.arange(n) // per_topic)[:, None]))


def test_reaches_gensim_quality_on_the_same_corpus():
    """Stated margin: on the same planted-topic corpus, with the same dimensions, window, negatives
    and number of passes, our SGNS's topic purity is within 0.05 of gensim's skip-gram."""
    from gensim.models import Word2Vec

    from pizarra.train import TrainConfig, fit

    docs, vocab, n_topics, per_topic = _topic_corpus()
    dim, window, negative, epochs = 16, 3, 5, 3
    g = Word2Vec(
        [[str(i) for i in d] for d in docs],
        vector_size=dim,
        window=window,
        negative=negative,
        sg=1,
        min_count=1,
        sample=0,
        epochs=epochs,
        workers=1,
        seed=0,
    )
    g_vectors = np.stack([g.wv[str(i)] for i in range(vocab)])
    ids = np.concatenate(docs)
    noise = noise_distribution(np.bincount(ids, minlength=vocab))
    X, Y = make_pairs(ids, window=window, negative=negative, noise=noise)
    torch.manual_seed(0)
    m = SkipGramNS(SGNSConfig(vocab_size=vocab, dim=dim, window=window, negative=negative))
    steps = epochs * len(X) // 256
    fit(
        m,
        (X, Y),
        None,
        TrainConfig(max_steps=steps, batch_size=256, lr=0.01, progress=False, device="cpu", checkpoint_every=None),
    )
    ours = _topic_purity(m.W_in.weight.detach().numpy(), n_topics, per_topic)
    theirs = _topic_purity(g_vectors, n_topics, per_topic)
    assert theirs > 0.8, theirs  # the corpus is learnable: gensim finds the topics
    assert ours >= theirs - 0.05, (ours, theirs)
