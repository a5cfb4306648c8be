"""Find the knowledge that answers a question: hybrid full-text + vector search.

1. Full-text: the query's distinct content lexemes (English stemming, stop words dropped)
   are OR-ed, so a paraphrase that shares only some words still matches. Each matching
   chunk scores sum(idf(lexeme) * ts_rank(chunk, lexeme)): PostgreSQL's ranking has no
   notion of how rare a word is, so the BM25 inverse document frequency over the
   workspace's chunks weights each lexeme. Heading words (title, sections) weigh more.
2. Vectors: the query's embedding against the chunks' (cosine distance, HNSW index).
   Skipped when EMBEDDING_PROVIDER is none or the query cannot be embedded.
3. Each list (top CANDIDATES chunks) is collapsed to one entry per item (its best chunk),
   and the item rankings are fused by reciprocal rank fusion: sum of 1 / (RRF_K + rank).

Only the workspace's chunks of enabled articles (published on `channel`), active FAQs
and enabled documents are searched.

The two confidence signals of a Hit describe its chunk (the item's best-ranked one):
- similarity: cosine similarity of the query's and the chunk's embeddings, clamped to
  0..1. all-MiniLM-L6-v2 gives roughly 0.2 for unrelated text in the same domain, 0.5 for
  the same topic, 0.7+ for a paraphrase of the same question. None when there are no
  vectors (provider none, embedding failed, or the chunk has none yet).
- coverage: the share of the query's distinct content lexemes (stemmed, stop words
  removed: "How do I reset my password?" -> {reset, password}) that occur in the chunk's
  heading or text, 0..1; 0 when the query has no content words. Lexical, so a paraphrase
  in other words has low coverage while its similarity stays high.
`score` is the fused rank score: comparable within one result list only.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import BooleanField, F, FloatField, Func, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.contrib.postgres.fields import ArrayField
from django.db.models import TextField
from pgvector.django import CosineDistance

from helpdesk.accounts.models import Workspace
from helpdesk.knowledge import embeddings
from helpdesk.knowledge.models import SEARCH_CONFIG, Chunk

log = logging.getLogger(__name__)

CANDIDATES = 30  # chunks taken from each of full-text and vector search
# Reciprocal rank fusion: item score = sum of weight / (RRF_K + rank) over the two rankings.
# Tuned on the evaluation sets (plateau K 5-10, full-text weight 0.4-0.6): the embedding
# ranking is the better one for paraphrased questions, full text adds exact words (names,
# error messages) that embeddings blur.
RRF_K = 5
FULL_TEXT_WEIGHT = 0.5
VECTOR_WEIGHT = 1.0
MAX_QUERY_CHARS = 2000
HNSW_EF_SEARCH = 100  # candidates the HNSW scan keeps: above CANDIDATES, for filtered scans
# ts_rank weights of the labels {D, C, B, A}: headings (A) count 2.5 times body text (B).
RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
# ts_rank normalization: 1 divides by 1 + log(chunk length), so long chunks do not win by size.
RANK_NORMALIZATION = 1


@dataclass(frozen=True)
class Hit:
    kind: str  # "article" | "faq" | "document"
    item_id: int
    title: str  # article or document title, FAQ question
    url: str  # the article's public link, or ""
    chunk_id: int
    text: str  # the best chunk's text
    answer: str  # the FAQ's answer, or ""
    score: float  # fused rank score (reciprocal rank fusion)
    similarity: float | None  # cosine similarity query/chunk, 0..1; None without vectors
    coverage: float  # share of the query's content lexemes found in the chunk, 0..1


def search(workspace: Workspace, query: str, k: int = 5, channel: str = "widget") -> list[Hit]:
    query = " ".join(query.split())[:MAX_QUERY_CHARS]
    if not query or k <= 0:
        return []
    lexemes = query_lexemes(query)
    visible = visible_chunks(workspace, channel)

    rankings = [(FULL_TEXT_WEIGHT, _full_text(workspace, visible, lexemes))] if lexemes else []
    vector = _query_vector(query)
    if vector is not None:
        rankings.append((VECTOR_WEIGHT, _nearest(visible, vector)))

    fused = _fuse(rankings)[:k]
    return _hits(fused, vector, set(lexemes))


def visible_chunks(workspace: Workspace, channel: str) -> QuerySet[Chunk]:
    """The workspace's chunks that may be shown on `channel`: enabled articles published
    there, active FAQs and enabled documents (FAQs and documents serve every channel)."""
    return Chunk.objects.filter(workspace=workspace).filter(
        Q(kind=Chunk.Kind.ARTICLE, article__enabled=True, article__channels__contains=[channel])
        | Q(kind=Chunk.Kind.FAQ, faq__active=True)
        | Q(kind=Chunk.Kind.DOCUMENT, document__enabled=True)
    )


def query_lexemes(query: str) -> list[str]:
    """The query's distinct content lexemes, as the chunks' search column has them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(to_tsvector(%s::regconfig, %s))", [SEARCH_CONFIG, query])
        return list(cursor.fetchone()[0])


def _tsquery(lexeme: str) -> str:
    """A lexeme as tsquery input: quoted, so that punctuation inside it is not an operator."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _idf(workspace: Workspace, lexemes: list[str]) -> list[float]:
    """BM25 inverse document frequency of each lexeme over the workspace's chunks."""
    counts = ", ".join("count(*) FILTER (WHERE search @@ %s::tsquery)" for _ in lexemes)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), {counts} FROM knowledge_chunk WHERE workspace_id = %s",
            [*(_tsquery(lexeme) for lexeme in lexemes), workspace.pk],
        )
        total, *frequencies = cursor.fetchone()
    return [math.log(1 + (total - df + 0.5) / (df + 0.5)) for df in frequencies]


def _full_text(workspace: Workspace, visible: QuerySet[Chunk], lexemes: list[str]) -> list[tuple[int, int, float]]:
    """(chunk id, item key, score) of the best full-text matches, best first."""
    quoted = [_tsquery(lexeme) for lexeme in lexemes]
    any_lexeme = " | ".join(quoted)
    score = RawSQL(
        "(SELECT sum(w.idf * ts_rank(%s::float4[], knowledge_chunk.search, w.lexeme::tsquery, %s))"
        " FROM unnest(%s::text[], %s::float8[]) AS w(lexeme, idf))",
        [RANK_WEIGHTS, RANK_NORMALIZATION, quoted, _idf(workspace, lexemes)],
        output_field=FloatField(),
    )
    matches = RawSQL("knowledge_chunk.search @@ %s::tsquery", [any_lexeme], output_field=BooleanField())
    rows = (
        visible.alias(matches=matches)
        .filter(matches=True)
        .annotate(rank=score)
        .order_by("-rank", "id")
        .values_list("id", "article_id", "faq_id", "document_id", "rank")[:CANDIDATES]
    )
    return [(row[0], _item_key(*row[1:4]), row[4]) for row in rows]


def _query_vector(query: str) -> list[float] | None:
    try:
        return embeddings.embed_query(query)
    except embeddings.EmbeddingError as exc:
        log.warning("query embedding failed, full-text search only: %s", exc)
        return None


def _nearest(visible: QuerySet[Chunk], vector: list[float]) -> list[tuple[int, int, float]]:
    """(chunk id, item key, cosine distance) of the nearest chunks, nearest first."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Filters apply after the HNSW scan: keep more candidates than we need.
            cursor.execute("SET LOCAL hnsw.ef_search = %s", [HNSW_EF_SEARCH])
        rows = list(
            visible.filter(embedding__isnull=False)
            .annotate(distance=CosineDistance("embedding", vector))
            .order_by("distance")
            .values_list("id", "article_id", "faq_id", "document_id", "distance")[:CANDIDATES]
        )
    return [(row[0], _item_key(*row[1:4]), row[4]) for row in rows]


def _item_key(article_id: int | None, faq_id: int | None, document_id: int | None) -> tuple[str, int]:
    if article_id:
        return ("article", article_id)
    if faq_id:
        return ("faq", faq_id)
    return ("document", document_id)


def _fuse(rankings: list[tuple[float, list[tuple[int, tuple, float]]]]) -> list[tuple[tuple, int, float]]:
    """Weighted reciprocal rank fusion of the (weight, chunk ranking) pairs:
    (item key, best chunk id, score), best first.

    Each ranking is collapsed to its items first (an item ranks where its best chunk does),
    so a long item does not take several places. The item's chunk is the one with the
    best fused chunk score."""
    item_score: dict[tuple, float] = defaultdict(float)
    chunk_score: dict[int, float] = defaultdict(float)
    chunk_item: dict[int, tuple] = {}
    for weight, ranking in rankings:
        seen: set[tuple] = set()
        for chunk_rank, (chunk_id, item, _value) in enumerate(ranking, start=1):
            chunk_score[chunk_id] += weight / (RRF_K + chunk_rank)
            chunk_item[chunk_id] = item
            if item not in seen:
                seen.add(item)
                item_score[item] += weight / (RRF_K + len(seen))
    best_chunk: dict[tuple, int] = {}
    for chunk_id, score in chunk_score.items():
        item = chunk_item[chunk_id]
        if item not in best_chunk or score > chunk_score[best_chunk[item]]:
            best_chunk[item] = chunk_id
    order = sorted(item_score, key=lambda item: (-item_score[item], -chunk_score[best_chunk[item]], best_chunk[item]))
    return [(item, best_chunk[item], item_score[item]) for item in order]


def _hits(fused: list[tuple[tuple, int, float]], vector: list[float] | None, query_lexemes: set[str]) -> list[Hit]:
    if not fused:
        return []
    chunks = Chunk.objects.select_related("article", "faq", "document").annotate(
        lexemes=Func(F("search"), function="tsvector_to_array", output_field=ArrayField(TextField()))
    )
    if vector is not None:
        chunks = chunks.annotate(distance=CosineDistance("embedding", vector))
    by_id = {chunk.pk: chunk for chunk in chunks.filter(pk__in=[chunk_id for _, chunk_id, _ in fused])}
    hits = []
    for (kind, item_id), chunk_id, score in fused:
        chunk = by_id.get(chunk_id)
        if chunk is None:  # deleted meanwhile
            continue
        item = chunk.item
        distance = getattr(chunk, "distance", None)
        found = query_lexemes & set(chunk.lexemes)
        hits.append(
            Hit(
                kind=kind,
                item_id=item_id,
                title=getattr(item, "title", None) or getattr(item, "question", ""),
                url=getattr(item, "url", ""),
                chunk_id=chunk.pk,
                text=chunk.text,
                answer=getattr(item, "answer", ""),
                score=score,
                similarity=None if distance is None else min(1.0, max(0.0, 1.0 - distance)),
                coverage=len(found) / len(query_lexemes) if query_lexemes else 0.0,
            )
        )
    return hits
