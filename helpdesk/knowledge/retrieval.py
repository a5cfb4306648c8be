"""Find the knowledge that answers a question: hybrid full-text + vector search.

1. Full-text: the query's distinct content lexemes (English stemming, stop words dropped)
   are OR-ed, so a paraphrase that shares only some words still matches. Each matching
   chunk scores sum(idf(lexeme) * ts_rank(chunk, lexeme)): PostgreSQL's ranking has no
   notion of how rare a word is, so the BM25 inverse document frequency over the
   workspace's chunks weights each lexeme. Heading words (title, sections) weigh more.
   So that searching a large workspace stays fast, the frequency of a very common lexeme is
   estimated from the planner's statistics instead of counted, and only chunks holding the
   query's rarer lexemes are ranked (FULL_TEXT_MATCH_BUDGET).
2. Vectors: the query's embedding against the chunks' (cosine distance, HNSW index).
   Skipped when EMBEDDING_PROVIDER is none or the query cannot be embedded.
   Chunk vectors blend the heading's and the passage's embeddings (see embeddings.py).
3. The two lists (top CANDIDATES chunks each) are fused by their scores: an item scores
   FULL_TEXT_WEIGHT * its full-text score (its best chunk's, divided by the best of all)
   + VECTOR_WEIGHT * its similarity (its nearest chunk's; an item the vector list does not
   hold gets the list's lowest). The item's chunk is its best by the same sum per chunk.

Only the workspace's chunks of enabled articles (published on `channel`: listing it, or
listing no channel, which means every channel), active FAQs and enabled documents are
searched.

The two confidence signals of a Hit describe its chunk (the item's best-ranked one):
- similarity: cosine similarity of the query's embedding and the chunk's vector, clamped
  to 0..1 (the chunk's vector blends its heading's and its passage's embeddings). Measured
  with all-MiniLM-L6-v2 on the evaluation sets (p10-p90 of the top hit): the right item
  0.56-0.90, a wrong item of the same domain 0.45-0.88 (near-duplicates), a question from
  another domain 0.10-0.23. None without vectors (provider none, the query embedding
  failed, or the chunk has none yet). Other models have other scales.
- coverage: the share of the query's distinct content lexemes (stemmed, stop words
  removed: "How do I reset my password?" -> {reset, password}) that occur in the chunk's
  heading or text, 0..1; 0 when the query has no content words. Lexical, so a paraphrase
  in other words has low coverage while its similarity stays high.
`score` is the fused score, `text_score` the item's full-text score divided by the list's
best (1.0 for the best, 0 without a full-text match): comparable within one result list only.
How far the first hit leads the second on them is what says "this one, not another" (see
ai/decision.py).
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.postgres.fields import ArrayField
from django.db import DatabaseError, connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, FloatField, Func, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from pgvector.django import CosineDistance

from helpdesk.knowledge import embeddings
from helpdesk.knowledge.models import SEARCH_CONFIG, Chunk, on_channel
from helpdesk.workspace.models import Workspace

log = logging.getLogger(__name__)

CANDIDATES = 30  # chunks taken from each of full-text and vector search
# Score fusion: item score = FULL_TEXT_WEIGHT * normalized full-text score + VECTOR_WEIGHT *
# cosine similarity. Tuned with `manage.py eval_retrieval` on the evaluation sets (recall@1
# over full-text weights 0.1-0.2: stackfaq 0.947-0.960, covidfaq 0.736-0.750; the reciprocal
# rank fusion it replaces reached 0.923 and 0.722): the embedding's similarity is the better
# signal for paraphrased questions, and keeping its size (not only its rank) keeps a clear
# winner clear; full text adds exact words (names, error messages) that embeddings blur.
# Without vectors the full-text score alone ranks.
FULL_TEXT_WEIGHT = 0.15
VECTOR_WEIGHT = 1.0
MAX_QUERY_CHARS = 2000
MAX_QUERY_LEXEMES = 64
EXACT_SEARCH_MAX_CHUNKS = 20_000  # workspaces up to this size may get exact vector search
EXACT_SEARCH_SMALL = 2_000  # workspaces up to this size always do (cheap, and exact)
HNSW_EF_SEARCH = 400  # the most candidates the HNSW scan keeps (filtered afterwards)
HNSW_EF_SEARCH_MIN = 64
STATISTICS_SECONDS = 60  # how long a process reuses the planner's statistics it read
# Lexemes that the planner's statistics put in more chunks than this get their document
# frequency estimated from those statistics; rarer ones are counted through the GIN index.
DF_ESTIMATE_MIN = 1_000
# Full-text candidates: chunks matching the query's rarest lexemes, up to about this many
# (common lexemes still count in the rank, but do not pull in every chunk that has them).
FULL_TEXT_MATCH_BUDGET = 1_000
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
    score: float  # fused score (see the module's docstring)
    similarity: float | None  # cosine similarity query/chunk, 0..1; None without vectors
    coverage: float  # share of the query's content lexemes found in the chunk, 0..1
    public_id: str = ""  # the article's public id (its page is /help/<public_id>/), or ""
    text_score: float = 0.0  # the item's full-text score over the list's best, 0..1


def search(workspace: Workspace, query: str, k: int = 5, channel: str = "widget") -> list[Hit]:
    query = " ".join(query.split())[:MAX_QUERY_CHARS]
    if not query or k <= 0:
        return []
    lexemes = query_lexemes(query)
    visible = visible_chunks(workspace, channel)
    total, table_rows, frequencies = _workspace_size(workspace)

    text_ranking = _full_text(workspace, visible, lexemes, total, frequencies) if lexemes else []
    vector_ranking = None
    vector = _query_vector(query, workspace.pk)
    if vector is not None:
        try:
            vector_ranking = _nearest(visible, vector, _ef_search(total, table_rows))
        except DatabaseError:  # e.g. the column's size differs from the model's: reembed
            log.exception("vector search failed, full-text search only")
            vector = None

    fused = _fuse(text_ranking, vector_ranking)[:k]
    return _hits(fused, vector, set(lexemes))


def visible_chunks(workspace: Workspace, channel: str) -> QuerySet[Chunk]:
    """The workspace's chunks that may be shown on `channel`: enabled articles published
    there (see models.on_channel), active FAQs and enabled documents (FAQs and documents
    serve every channel)."""
    return Chunk.objects.filter(workspace=workspace).filter(
        (Q(kind=Chunk.Kind.ARTICLE, article__enabled=True) & on_channel(channel, prefix="article__"))
        | Q(kind=Chunk.Kind.FAQ, faq__active=True)
        | Q(kind=Chunk.Kind.DOCUMENT, document__enabled=True)
    )


def query_lexemes(query: str) -> list[str]:
    """The query's distinct content lexemes as the chunks' search column has them, in the
    order they first appear (at most MAX_QUERY_LEXEMES)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lexeme FROM unnest(to_tsvector(%s::regconfig, %s)) ORDER BY positions[1] LIMIT %s",
            [SEARCH_CONFIG, query, MAX_QUERY_LEXEMES],
        )
        return [row[0] for row in cursor.fetchall()]


def _tsquery(lexeme: str) -> str:
    """A lexeme as tsquery input: quoted, so that punctuation inside it is not an operator."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


_statistics: tuple[float, tuple] | None = None  # (read at, value), per process
_sizes: dict[int, tuple[float, int]] = {}  # workspace id: (counted at, chunks), larger workspaces only


def _chunk_statistics() -> tuple[float, dict[str, float], dict[int, float]]:
    """The planner's statistics of the chunks table: its estimated number of rows (-1 if never
    analyzed), the share of chunks holding each of its most common lexemes, and the share of
    chunks of each of its largest workspaces. Reading them costs next to nothing, where
    counting grows with the workspace and would outweigh the rest of a search. They change
    when the table is analyzed, so a process reuses them for STATISTICS_SECONDS."""
    global _statistics
    now = time.monotonic()
    if _statistics is None or now - _statistics[0] > STATISTICS_SECONDS:
        _statistics = (now, _read_chunk_statistics())
    return _statistics[1]


def _read_chunk_statistics() -> tuple[float, dict[str, float], dict[int, float]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.reltuples, s.most_common_elems::text::text[], s.most_common_elem_freqs,"
            " w.most_common_vals::text::bigint[], w.most_common_freqs"
            " FROM pg_class c"
            " LEFT JOIN pg_stats s ON s.tablename = c.relname AND s.attname = 'search'"
            " AND s.schemaname = ANY(current_schemas(false))"
            " LEFT JOIN pg_stats w ON w.tablename = c.relname AND w.attname = 'workspace_id'"
            " AND w.schemaname = ANY(current_schemas(false))"
            " WHERE c.oid = 'knowledge_chunk'::regclass"
        )
        row = cursor.fetchone()
    if row is None:
        return -1.0, {}, {}
    rows, lexemes, shares, workspaces, workspace_shares = row
    return float(rows), dict(zip(lexemes or [], shares or [])), dict(zip(workspaces or [], workspace_shares or []))


def _workspace_size(workspace: Workspace) -> tuple[int, float, dict[str, float]]:
    """(the workspace's number of chunks, the table's estimated rows, lexeme shares).

    The chunks are counted up to EXACT_SEARCH_MAX_CHUNKS and estimated from the statistics
    above that (counted in full when the statistics do not know the workspace). A small
    workspace needs no statistics: -1 and {} (every count is cheap there). A larger one's
    size is reused for STATISTICS_SECONDS, as the statistics are: counting up to the limit
    reads that many index entries, and the size only steers ranking (idf) and the index's
    candidate list, which a few new articles barely move."""
    limit = max(EXACT_SEARCH_SMALL, EXACT_SEARCH_MAX_CHUNKS)
    cached = _sizes.get(workspace.pk)
    if cached is not None and time.monotonic() - cached[0] <= STATISTICS_SECONDS:
        table_rows, frequencies, _workspace_shares = _chunk_statistics()
        return cached[1], table_rows, frequencies
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM knowledge_chunk WHERE workspace_id = %s LIMIT %s) AS c",
            [workspace.pk, limit + 1],
        )
        counted = cursor.fetchone()[0]
    if counted <= EXACT_SEARCH_SMALL:
        return counted, -1.0, {}
    table_rows, frequencies, workspace_shares = _chunk_statistics()
    if counted > limit:
        if table_rows > 0 and workspace.pk in workspace_shares:
            counted = max(counted, round(workspace_shares[workspace.pk] * table_rows))
        else:
            counted = Chunk.objects.filter(workspace=workspace).count()
    _sizes[workspace.pk] = (time.monotonic(), counted)
    return counted, table_rows, frequencies


def _document_frequencies(
    workspace: Workspace, lexemes: list[str], total: int, frequencies: dict[str, float]
) -> list[int]:
    """How many of the workspace's chunks hold each lexeme: counted through the GIN index for
    the rarer ones, estimated from the statistics for the common ones (in more than
    DF_ESTIMATE_MIN chunks, where counting would read most of the table)."""
    estimated = {
        lexeme: round(frequencies[lexeme] * total)
        for lexeme in lexemes
        if frequencies.get(lexeme, 0) * total > DF_ESTIMATE_MIN
    }
    counted = [lexeme for lexeme in lexemes if lexeme not in estimated]
    if counted:
        one = "(SELECT count(*) FROM knowledge_chunk WHERE workspace_id = %s AND search @@ %s::tsquery)"
        counts = ", ".join(one for _ in counted)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {counts}", [value for lexeme in counted for value in (workspace.pk, _tsquery(lexeme))]
            )
            estimated.update(zip(counted, cursor.fetchone()))
    return [min(total, estimated[lexeme]) for lexeme in lexemes]


def _idf(total: int, document_frequencies: list[int]) -> list[float]:
    """BM25 inverse document frequency of each lexeme over the workspace's chunks."""
    return [math.log(1 + (total - df + 0.5) / (df + 0.5)) for df in document_frequencies]


def _full_text(
    workspace: Workspace, visible: QuerySet[Chunk], lexemes: list[str], total: int, frequencies: dict[str, float]
) -> list[tuple[int, tuple, float]]:
    """(chunk id, item key, score) of the best full-text matches, best first.

    Candidates are the chunks holding any of the query's rarest lexemes, taken rarest first
    while their chunks add up to at most FULL_TEXT_MATCH_BUDGET (at least one lexeme): a
    small knowledge base matches on every lexeme; a large one does not rank the tens of
    thousands of chunks that hold a common word. When even the rarest is that common, a
    candidate must hold two of the three rarest. Every lexeme counts in the score."""
    quoted = [_tsquery(lexeme) for lexeme in lexemes]
    frequencies_ = _document_frequencies(workspace, lexemes, total, frequencies)
    rarest = sorted(range(len(lexemes)), key=lambda i: frequencies_[i])
    chosen: list[str] = []
    matched = 0
    for i in rarest:
        if chosen and matched + frequencies_[i] > FULL_TEXT_MATCH_BUDGET:
            break
        chosen.append(quoted[i])
        matched += frequencies_[i]
    if matched > FULL_TEXT_MATCH_BUDGET and len(rarest) > 1:
        # Every lexeme is common: candidates hold two of the three rarest.
        chosen = [f"({quoted[a]} & {quoted[b]})" for a, b in itertools.combinations(rarest[:3], 2)]
    any_lexeme = " | ".join(chosen)
    # One term per lexeme, written out: a sum over unnest() costs a subplan per chunk.
    score = RawSQL(
        "("
        + " + ".join("%s::float8 * ts_rank(%s::float4[], knowledge_chunk.search, %s::tsquery, %s)" for _ in quoted)
        + ")",
        [
            value
            for lexeme, idf in zip(quoted, _idf(total, frequencies_))
            for value in (idf, RANK_WEIGHTS, lexeme, RANK_NORMALIZATION)
        ],
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


def _query_vector(query: str, workspace_id: int) -> list[float] | None:
    try:
        return embeddings.embed_query(query, workspace_id)
    except embeddings.EmbeddingError as exc:
        log.warning("query embedding failed, full-text search only: %s", exc)
        return None


def _ef_search(total: int, table_rows: float) -> int | None:
    """hnsw.ef_search for the approximate index, or None to scan the workspace exactly.

    pgvector 0.6 filters (workspace, enabled) after the HNSW scan, which yields at most
    hnsw.ef_search rows: in a database where other workspaces have many more chunks, a
    small workspace could get few or none. About share * ef_search of them belong to a
    workspace holding `share` of all chunks, so the candidate list is widened to keep
    2 * CANDIDATES of them. A small workspace (EXACT_SEARCH_SMALL), or one up to
    EXACT_SEARCH_MAX_CHUNKS that would need more than HNSW_EF_SEARCH, is scanned exactly
    (its rows through the workspace index, then sorted): an exact scan reads every vector
    of the workspace, where the index reads a few hundred."""
    if total <= min(EXACT_SEARCH_SMALL, EXACT_SEARCH_MAX_CHUNKS):
        return None
    if table_rows <= 0:  # never analyzed: the share is unknown
        return None if total <= EXACT_SEARCH_MAX_CHUNKS else HNSW_EF_SEARCH
    share = min(1.0, total / table_rows)
    ef = max(HNSW_EF_SEARCH_MIN, math.ceil(2 * CANDIDATES / share))
    if ef <= HNSW_EF_SEARCH:
        return ef
    return None if total <= EXACT_SEARCH_MAX_CHUNKS else HNSW_EF_SEARCH


def _nearest(visible: QuerySet[Chunk], vector: list[float], ef_search: int | None) -> list[tuple[int, tuple, float]]:
    """(chunk id, item key, cosine distance) of the nearest chunks, nearest first: exactly, or
    through the HNSW index keeping `ef_search` candidates (see _ef_search)."""
    chunks = visible.filter(embedding__isnull=False).annotate(distance=CosineDistance("embedding", vector))
    with transaction.atomic():
        if ef_search is None:
            # Ordering by an expression the HNSW index does not serve makes the scan exact.
            chunks = chunks.order_by(ExpressionWrapper(F("distance") + 0.0, output_field=FloatField()))
        else:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL hnsw.ef_search = %s", [ef_search])
            chunks = chunks.order_by("distance")
        rows = list(chunks.values_list("id", "article_id", "faq_id", "document_id", "distance")[:CANDIDATES])
    return [(row[0], _item_key(*row[1:4]), row[4]) for row in rows]


def _item_key(article_id: int | None, faq_id: int | None, document_id: int | None) -> tuple[str, int]:
    if article_id:
        return ("article", article_id)
    if faq_id:
        return ("faq", faq_id)
    assert document_id is not None  # knowledge_chunk_exactly_one_source
    return ("document", document_id)


def _fuse(
    text_ranking: list[tuple[int, tuple, float]], vector_ranking: list[tuple[int, tuple, float]] | None
) -> list[tuple[tuple, int, float, float]]:
    """Score fusion of the full-text ranking (chunk id, item, score) and the vector ranking
    (chunk id, item, cosine distance; None without vectors): (item key, best chunk id, score,
    text score), best first.

    An item's full-text score and similarity are its best chunk's in each list, so a long
    item neither gains nor loses by having many chunks; its chunk is the one with the best
    fused chunk score. Ties go to the item whose chunk comes first."""
    best_text = max((score for _, _, score in text_ranking), default=0.0)
    text = {chunk_id: (score / best_text if best_text > 0 else 0.0) for chunk_id, _, score in text_ranking}
    similarity = {chunk_id: 1.0 - distance for chunk_id, _, distance in vector_ranking or []}
    floor = min(similarity.values(), default=0.0)  # what an item outside the vector list gets
    chunk_item = {chunk_id: item for chunk_id, item, _ in itertools.chain(text_ranking, vector_ranking or [])}

    item_text: dict[tuple, float] = defaultdict(float)
    item_similarity: dict[tuple, float] = {}
    best_chunk: dict[tuple, tuple[float, int]] = {}
    for chunk_id, item in chunk_item.items():
        item_text[item] = max(item_text[item], text.get(chunk_id, 0.0))
        chunk_similarity = similarity.get(chunk_id, floor)
        if chunk_id in similarity:
            item_similarity[item] = max(item_similarity.get(item, floor), chunk_similarity)
        chunk_score = FULL_TEXT_WEIGHT * text.get(chunk_id, 0.0) + VECTOR_WEIGHT * chunk_similarity
        if item not in best_chunk or (-chunk_score, chunk_id) < (-best_chunk[item][0], best_chunk[item][1]):
            best_chunk[item] = (chunk_score, chunk_id)
    if vector_ranking is None:
        scores = dict(item_text)
    else:
        scores = {
            item: FULL_TEXT_WEIGHT * item_text[item] + VECTOR_WEIGHT * item_similarity.get(item, floor)
            for item in chunk_item.values()
        }
    order = sorted(scores, key=lambda item: (-scores[item], -best_chunk[item][0], best_chunk[item][1]))
    return [(item, best_chunk[item][1], scores[item], item_text[item]) for item in order]


def _hits(
    fused: list[tuple[tuple, int, float, float]], vector: list[float] | None, query_lexemes: set[str]
) -> list[Hit]:
    if not fused:
        return []
    # Only the columns a hit shows (as values: model instances of the chunk and its item cost
    # more than the query), the chunk's lexemes as an array, and its distance to the query.
    columns = [
        "pk",
        "text",
        "article__title",
        "article__url",
        "faq__question",
        "faq__answer",
        "document__title",
        "lexemes",
        "article__public_id",
    ]
    chunks = (
        Chunk.objects.filter(pk__in=[chunk_id for _, chunk_id, *_ in fused])
        .order_by()
        .annotate(lexemes=Func(F("search"), function="tsvector_to_array", output_field=ArrayField(TextField())))
    )
    if vector is not None:
        chunks = chunks.annotate(distance=CosineDistance("embedding", vector))
        columns.append("distance")
    by_id = {row[0]: row for row in chunks.values_list(*columns)}
    hits = []
    for (kind, item_id), chunk_id, score, text_score in fused:
        row = by_id.get(chunk_id)
        if row is None:  # deleted meanwhile
            continue
        _pk, text, article_title, article_url, question, answer, document_title, lexemes, public_id = row[:9]
        distance = row[9] if vector is not None else None
        found = query_lexemes & set(lexemes)
        hits.append(
            Hit(
                kind=kind,
                item_id=item_id,
                title=article_title or question or document_title or "",
                url=article_url or "",
                chunk_id=chunk_id,
                text=text,
                answer=answer or "",
                score=score,
                similarity=None if distance is None else min(1.0, max(0.0, 1.0 - distance)),
                coverage=len(found) / len(query_lexemes) if query_lexemes else 0.0,
                public_id=public_id or "",
                text_score=text_score,
            )
        )
    return hits
