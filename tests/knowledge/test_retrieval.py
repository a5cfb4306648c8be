import pytest
from django.core.files.base import ContentFile

from helpdesk.knowledge import retrieval
from helpdesk.knowledge.models import Document
from helpdesk.knowledge.tasks import index_document
from tests.knowledge.conftest import add_article, add_faq

pytestmark = pytest.mark.django_db


@pytest.fixture
def kb(workspace):
    return {
        "returns": add_article(
            workspace,
            "Returns and refunds",
            "Send the parcel back within 30 days for a full refund.",
            url="https://acme.test/returns",
        ),
        "shipping": add_article(workspace, "Shipping", "We ship to every country in the EU with a tracked courier."),
        "hours": add_faq(workspace, "What are your opening hours?", "Monday to Friday, 9 to 5."),
    }


def ids(hits):
    return [(h.kind, h.item_id) for h in hits]


def test_full_text_finds_the_item_by_its_words_without_vectors(workspace, kb):
    hits = retrieval.search(workspace, "How long do I have to send it back?")
    assert ids(hits)[0] == ("article", kb["returns"].pk)
    hit = hits[0]
    assert hit.title == "Returns and refunds"
    assert hit.url == "https://acme.test/returns"
    assert hit.text == "Send the parcel back within 30 days for a full refund."
    assert hit.answer == ""
    assert hit.similarity is None
    assert hit.coverage == pytest.approx(2 / 3)  # send, back found; long not


def test_a_paraphrase_sharing_some_words_still_matches(workspace, kb):
    hits = retrieval.search(workspace, "which hours is the shop opening on saturday")
    assert ids(hits)[0] == ("faq", kb["hours"].pk)
    assert hits[0].answer == "Monday to Friday, 9 to 5."
    assert hits[0].title == "What are your opening hours?"
    assert 0 < hits[0].coverage < 1


def test_rarer_words_weigh_more(workspace, kb):
    for n in range(5):
        add_article(workspace, f"Country list {n}", "Every country we know of.")
    hits = retrieval.search(workspace, "country courier")
    assert ids(hits)[0] == ("article", kb["shipping"].pk)


def test_nothing_matches_nothing(workspace, kb):
    assert retrieval.search(workspace, "quantum chromodynamics") == []
    assert retrieval.search(workspace, "how do I?") == []  # stop words only
    assert retrieval.search(workspace, "   ") == []
    assert retrieval.search(workspace, "refund", k=0) == []


def test_odd_characters_in_the_query_are_only_text(workspace, kb):
    for query in ["refund's & | ! :* (30)", "c++ \\ 'quote' \"double\"", "a:b <-> !refund", "ünïcödé 退款 refund"]:
        retrieval.search(workspace, query)
    assert ids(retrieval.search(workspace, "(refund) & !"))[0] == ("article", kb["returns"].pk)


def test_k_limits_the_results_and_each_item_appears_once(workspace):
    long = "\n\n".join(
        f"## Part {i}\n\n" + "The router needs a restart after a firmware update. " * 20 for i in range(4)
    )
    router = add_article(workspace, "Router guide", long)
    assert router.chunks.count() >= 4
    for n in range(6):
        add_article(workspace, f"Router note {n}", "Router firmware notes.")
    hits = retrieval.search(workspace, "router firmware restart", k=3)
    assert len(hits) == 3
    assert len(set(ids(hits))) == 3
    assert ids(hits)[0] == ("article", router.pk)
    assert len(retrieval.search(workspace, "router firmware restart", k=10)) == 7


def test_disabled_and_inactive_items_are_never_retrieved(workspace, vectors, kb):
    document = Document(workspace=workspace, title="Returns handbook")
    document.file.save("returns.txt", ContentFile(b"Refund rules for parcels sent back."), save=True)
    index_document.call(document.pk)
    never = add_article(workspace, "Refund of a parcel", "Parcel refund rules.", enabled=False)
    kb["returns"].enabled = False
    kb["returns"].save()
    kb["hours"].active = False
    kb["hours"].save()
    document.enabled = False
    document.save()
    hidden = {("article", never.pk), ("article", kb["returns"].pk), ("faq", kb["hours"].pk), ("document", document.pk)}
    for query in ["refund parcel back", "opening hours", "reimbursement", "returns handbook"]:
        hits = retrieval.search(workspace, query, k=10)
        assert ids(hits) == [("article", kb["shipping"].pk)], query  # the only one left: vectors always rank it
        assert not hidden & set(ids(hits))


def test_articles_are_only_found_on_their_channels(workspace, kb):
    kb["returns"].channels = ["email"]
    kb["returns"].save()
    assert retrieval.search(workspace, "refund", channel="widget") == []
    assert ids(retrieval.search(workspace, "refund", channel="email")) == [("article", kb["returns"].pk)]


def test_another_workspaces_knowledge_is_never_returned(workspace, other_workspace, vectors, kb):
    theirs = add_article(other_workspace, "Refund policy", "Refund refund refund: send the parcel back for a refund.")
    add_faq(other_workspace, "What are your opening hours?", "Always open.")
    for query in ["refund", "What are your opening hours?", "reimbursement", "send the parcel back"]:
        mine = retrieval.search(workspace, query, k=10)
        assert all(h.item_id != theirs.pk for h in mine if h.kind == "article")
        assert all(h.answer != "Always open." for h in mine)
    assert ids(retrieval.search(other_workspace, "opening hours"))[0][0] == "faq"
    assert retrieval.search(other_workspace, "opening hours")[0].answer == "Always open."


def test_vectors_find_a_paraphrase_that_shares_no_word(workspace, vectors, kb, settings):
    query = "Can I get a reimbursement?"
    settings.EMBEDDING_PROVIDER = "none"
    assert retrieval.search(workspace, query) == []
    settings.EMBEDDING_PROVIDER = "openai"
    hits = retrieval.search(workspace, query)
    assert ids(hits)[0] == ("article", kb["returns"].pk)
    assert 0 < hits[0].similarity < 1
    assert hits[0].coverage == 0.0  # no word in common: the similarity tells


def test_similarity_is_the_cosine_of_the_best_chunk(workspace, vectors, kb):
    exact = retrieval.search(workspace, "What are your opening hours?")[0]
    assert (exact.kind, exact.item_id) == ("faq", kb["hours"].pk)
    assert exact.coverage == 1.0
    unrelated = retrieval.search(workspace, "tracked courier to every country")
    assert ids(unrelated)[0] == ("article", kb["shipping"].pk)
    others = [h for h in unrelated if h.item_id != kb["shipping"].pk]
    assert all(0.0 <= h.similarity < unrelated[0].similarity for h in others)
    assert exact.similarity > 0.8


def test_hybrid_ranks_by_both_lists(workspace, vectors, kb):
    hits = retrieval.search(workspace, "refund for my parcel")
    assert ids(hits)[0] == ("article", kb["returns"].pk)
    assert hits[0].similarity is not None and hits[0].coverage == 1.0
    assert hits[0].score > hits[-1].score if len(hits) > 1 else True


def test_a_failing_query_embedding_falls_back_to_full_text(workspace, vectors, kb):
    vectors.fail = True
    hits = retrieval.search(workspace, "send it back")
    assert ids(hits) == [("article", kb["returns"].pk)]
    assert hits[0].similarity is None


def test_the_approximate_index_path_finds_the_same(workspace, vectors, kb, monkeypatch):
    exact = retrieval.search(workspace, "reimbursement for a parcel", k=3)
    monkeypatch.setattr(retrieval, "EXACT_SEARCH_MAX_CHUNKS", 0)
    approximate = retrieval.search(workspace, "reimbursement for a parcel", k=3)
    assert ids(approximate) == ids(exact)
    assert ids(approximate)[0] == ("article", kb["returns"].pk)


def test_vectors_of_another_size_fall_back_to_full_text(workspace, vectors, kb, settings):
    settings.EMBEDDING_DIMENSIONS = 8  # the model changed but nobody ran reembed yet
    vectors.dimensions = 8
    try:
        hits = retrieval.search(workspace, "send it back")
    finally:
        vectors.dimensions = 384
    assert ids(hits) == [("article", kb["returns"].pk)]
    assert hits[0].similarity is None


def test_a_larger_workspace_is_counted_once_a_minute_and_a_small_one_every_time(workspace, kb, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def counts() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert ids(retrieval.search(workspace, "refund for my parcel"))[0] == ("article", kb["returns"].pk)
        return sum("SELECT count(*) FROM (SELECT 1 FROM knowledge_chunk" in q["sql"] for q in ctx.captured_queries)

    assert (counts(), counts()) == (1, 1)  # 3 chunks: small, always counted
    monkeypatch.setattr(retrieval, "EXACT_SEARCH_SMALL", 2)  # now it is a larger one
    assert (counts(), counts()) == (1, 0)
    counted_at, size = retrieval._sizes[workspace.pk]
    assert size == 3
    retrieval._sizes[workspace.pk] = (counted_at - retrieval.STATISTICS_SECONDS - 1, size)
    add_article(workspace, "Gift cards", "Gift cards never expire.")
    assert counts() == 1
    assert retrieval._sizes[workspace.pk][1] == 4


def test_an_article_with_no_channels_is_found_on_every_channel_as_a_guidance_rule_applies(workspace, kb):
    kb["returns"].channels = []
    kb["returns"].save()
    for channel in ("widget", "email"):
        assert ids(retrieval.search(workspace, "refund", channel=channel)) == [("article", kb["returns"].pk)], channel


def test_a_hit_carries_its_articles_public_id_and_costs_no_more_queries(workspace, kb):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    retrieval.search(workspace, "refund")  # statistics read once
    with CaptureQueriesContext(connection) as ctx:
        (article_hit,) = retrieval.search(workspace, "refund")
        (faq_hit,) = retrieval.search(workspace, "opening hours")
    assert article_hit.public_id == kb["returns"].public_id
    assert faq_hit.public_id == ""
    # per search: lexemes, workspace size, document frequencies, candidates, hits (values)
    assert len(ctx.captured_queries) == 2 * 5, [q["sql"][:80] for q in ctx.captured_queries]


def test_fusion_keeps_how_far_ahead_an_item_is_not_only_its_place():
    """Score fusion: FULL_TEXT_WEIGHT * full-text score over the best + similarity. A clear
    winner by similarity stays clearly ahead (its lead is what the AI's confidence reads), an
    item with many chunks counts its best one only, and one outside the vector list gets
    the list's lowest similarity."""
    a, b, c = ("article", 1), ("article", 2), ("faq", 3)
    text = [(11, b, 8.0), (12, b, 7.9), (13, b, 7.8), (10, a, 4.0)]  # b's three chunks lead
    vector = [(10, a, 0.10), (11, b, 0.40), (30, c, 0.60)]  # similarities 0.9, 0.6, 0.4
    fused = retrieval._fuse(text, vector)
    assert [item for item, *_ in fused] == [a, b, c]
    scores = {item: (chunk, score, text_score) for item, chunk, score, text_score in fused}
    w = retrieval.FULL_TEXT_WEIGHT
    assert scores[a] == (10, pytest.approx(w * 0.5 + 0.9), 0.5)
    assert scores[b] == (11, pytest.approx(w * 1.0 + 0.6), 1.0)  # its best chunk, once
    assert scores[c] == (30, pytest.approx(0.4), 0.0)
    assert scores[a][1] - scores[b][1] == pytest.approx(0.3 - w / 2)  # the lead is the size of the gap

    # Without vectors the full-text score alone ranks, over the best.
    fused = retrieval._fuse(text, None)
    assert [(item, score) for item, _chunk, score, _t in fused] == [(b, 1.0), (a, 0.5)]
    # Only in the full-text list: the vector list's lowest similarity (here c's).
    d = ("document", 4)
    fused = retrieval._fuse([(40, d, 1.0)], vector)
    assert {item: score for item, _chunk, score, _t in fused}[d] == pytest.approx(w + 0.4)
