"""The one decision the AI makes before any model is asked (helpdesk/ai/decision.py): what a
fresh install without a model answers from its own knowledge, how confident is confident, and
what an answer quotes."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from helpdesk.ai import decision
from helpdesk.knowledge.models import FAQ, Article, Chunk
from helpdesk.knowledge.retrieval import Hit
from helpdesk.knowledge.tasks import index_article, index_faq
from helpdesk.ops import demo
from helpdesk.workspace.models import Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_knowledge(workspace, settings):
    """The knowledge `make run` seeds, indexed as a fresh install indexes it: full text only."""
    settings.EMBEDDING_PROVIDER = "none"
    demo._seed_knowledge(workspace)
    for article in Article.objects.filter(workspace=workspace):
        index_article.call(article.pk)
    for faq in FAQ.objects.filter(workspace=workspace):
        index_faq.call(faq.pk)
    return workspace


@pytest.mark.parametrize(
    "question, quoted",
    [
        # However it is phrased, not only when it repeats the title's words...
        ("How long does shipping take?", "Delivery takes two to four working days in the EU"),
        ("Can you tell me about shipping and delivery?", "Shipping is free for orders over 50 euros"),
        ("Do you ship to Norway?", "We ship to every country in the European Union, Norway"),
        ("How much is shipping?", "Shipping is free for orders over 50 euros"),
    ],
)
def test_a_fresh_install_answers_what_its_own_articles_answer(demo_knowledge, question, quoted):
    decided = decision.decide(demo_knowledge, question, chat=False)
    assert decided.action == decision.ANSWER
    article = Article.objects.get(workspace=demo_knowledge, title="Shipping and delivery")
    assert decided.sources == [
        {
            "n": 1,
            "kind": "article",
            "id": article.pk,
            "chunk_id": decided.hits[0].chunk_id,
            "title": "Shipping and delivery",
            "url": f"/help/{article.public_id}/",
        }
    ]
    assert decided.body.startswith("Here's what I found in \u201cShipping and delivery\u201d:\n\n")
    assert quoted in decided.body
    # ...quoting the passage that answers, not the whole article.
    assert len(decided.body) < len(article.body) / 2


def test_a_fresh_install_answers_its_faq_with_the_faq_answer(demo_knowledge):
    decided = decision.decide(demo_knowledge, "How do I reset my password?", chat=False)
    assert decided.action == decision.ANSWER
    assert decided.body.startswith('Click "Forgot your password?"')
    assert decided.sources[0]["kind"] == "faq"


@pytest.mark.parametrize(
    "question", ["Can I pay with bitcoin?", "Do you sell gift cards?", "Is the store open on Sunday?"]
)
def test_what_its_knowledge_does_not_answer_is_handed_over(demo_knowledge, question):
    decided = decision.decide(demo_knowledge, question, chat=False)
    assert decided.action == decision.HAND_OVER
    assert decided.reason and decided.body == "" and decided.sources == []


def test_with_a_model_the_relevant_passages_go_to_the_model(demo_knowledge):
    decided = decision.decide(demo_knowledge, "How long does shipping take?", chat=True)
    assert decided.action == decision.MODEL
    assert decided.hits[0].title == "Shipping and delivery"
    # A confident FAQ match still answers at once, without the model.
    assert decision.decide(demo_knowledge, "How do I reset my password?", chat=True).action == decision.ANSWER


def test_a_person_asked_for_or_an_escalation_rule_comes_before_the_knowledge(demo_knowledge):
    from helpdesk.ai.models import GuidanceRule

    asked = decision.decide(demo_knowledge, "How long does shipping take? I want a real person", chat=False)
    assert (asked.action, asked.reason) == (decision.HAND_OVER, "The visitor asked for a person")
    rule = GuidanceRule(
        workspace=demo_knowledge, kind=GuidanceRule.Kind.ESCALATION, name="Legal", content="keywords: lawyer"
    )
    ruled = decision.decide(demo_knowledge, "My lawyer asks how long shipping takes", chat=False, rules=[rule])
    assert (ruled.action, ruled.reason) == (decision.HAND_OVER, "Escalation rule: Legal")


# ---------------------------------------------------------------- how confident is confident


def hit(item_id: int, *, score: float, similarity: float | None, coverage: float = 0.5, text_score: float = 0.0):
    return Hit(
        kind="article",
        item_id=item_id,
        title=f"Article {item_id}",
        url="",
        chunk_id=item_id,
        text="Text.",
        answer="",
        score=score,
        similarity=similarity,
        coverage=coverage,
        text_score=text_score,
    )


def test_a_close_passage_is_not_confident_when_another_is_as_close():
    lead = decision.CONFIDENT_LEAD
    alone = [hit(1, score=0.80, similarity=0.70)]
    clear = [hit(1, score=0.80, similarity=0.70), hit(2, score=0.80 - lead, similarity=0.60)]
    torn = [hit(1, score=0.80, similarity=0.70), hit(2, score=0.80 - lead / 2, similarity=0.69)]
    assert decision.is_confident(alone) and decision.is_confident(clear)
    assert not decision.is_confident(torn)  # a guess between two items
    far = [hit(1, score=0.40, similarity=decision.CONFIDENT_SIMILARITY - 0.01)]
    assert not decision.is_confident(far)  # the best is not close to the question
    assert not decision.is_confident([])


def test_without_vectors_confidence_is_the_words_found_and_the_lead_in_full_text():
    def text_hits(coverage, second):
        first = hit(1, score=1.0, similarity=None, coverage=coverage, text_score=1.0)
        return [first, hit(2, score=second, similarity=None, text_score=second)]

    assert decision.is_confident(text_hits(0.67, 0.5))
    assert not decision.is_confident(text_hits(decision.TEXT_CONFIDENT_COVERAGE - 0.01, 0.5))  # too few words
    assert not decision.is_confident(text_hits(0.67, 1.0 - decision.TEXT_CONFIDENT_LEAD / 2))  # as good a second
    unmatched = [hit(1, score=0.0, similarity=None, coverage=1.0, text_score=0.0)]
    assert not decision.is_confident(unmatched)  # no full-text match at all


# ---------------------------------------------------------------- what it quotes


def test_the_quote_is_the_sentences_around_the_best_matching_ones(db):
    text = (
        "Our warehouse is in Oslo. It opened in 2009. Returns are accepted within 30 days of delivery. "
        "Print the prepaid label from your account. Drop the parcel at any post office. We are proud of it."
    )
    quoted = decision.best_excerpt(text, "Can I send back a parcel with a prepaid label?")
    assert quoted == (
        "\u2026 Print the prepaid label from your account. Drop the parcel at any post office. We are proud of it."
    )
    # Nothing matches: the first sentences; a match in the first sentence: from the start.
    assert decision.best_excerpt(text, "zebra").startswith("Our warehouse is in Oslo.")
    assert decision.best_excerpt(text, "Where is your warehouse?").startswith("Our warehouse is in Oslo.")


def test_the_quote_keeps_the_passages_lines_and_leaves_out_its_headings(db):
    text = "## Costs\n\nShipping costs:\n- 4.90 euros below 50 euros\n- free above\n\n## Times\n\nTwo days."
    assert decision.best_excerpt(text, "What are the shipping costs?") == (
        "Shipping costs:\n- 4.90 euros below 50 euros\n- free above\n\nTwo days."
    )


def test_a_knowledge_only_answer_of_a_long_passage_quotes_the_part_that_answers(workspace, visitor, settings):
    from helpdesk.ai import agent
    from helpdesk.ai.models import AISettings
    from helpdesk.conversations import actions
    from helpdesk.conversations.models import Message

    settings.EMBEDDING_PROVIDER = "none"
    settings.OPENAI_BASE_URL = settings.OPENAI_API_KEY = ""
    AISettings.objects.create(workspace=workspace)
    filler = " ".join(f"Paragraph {n} is about something else entirely." for n in range(40))
    article = Article.objects.create(
        workspace=workspace,
        title="Router manual",
        body=f"{filler}\n\nTo reset the router, hold its button for ten seconds. The lights blink twice.",
    )
    index_article.call(article.pk)
    assert Chunk.objects.filter(article=article).exists()
    question = actions.post_customer_message(visitor[0], "How do I reset the router?")
    agent.answer(question.pk)
    reply = question.conversation.messages.get(author_kind=Message.Author.AI)
    assert "hold its button for ten seconds" in reply.body
    assert "Paragraph 1 " not in reply.body


# ---------------------------------------------------------------- eval_answers


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return str(path)


def test_eval_answers_prints_one_json_line_and_cleans_up(tmp_path, settings):
    settings.EMBEDDING_PROVIDER = "none"
    articles = write_jsonl(
        tmp_path / "articles.jsonl",
        [
            {"id": "a1", "title": "Reset your password", "body": "Use the forgot password link on the sign-in page."},
            {"id": "a2", "title": "Delete your account", "body": "Account deletion is under settings, privacy."},
            {"id": "a3", "title": "Change the invoice address", "body": "Billing settings hold the invoice address."},
        ],
    )
    questions = write_jsonl(
        tmp_path / "questions.jsonl",
        [
            {"id": "q1", "question": "How do I reset my password?", "gold_article_ids": ["a1"]},  # correct
            {"id": "q2", "question": "Delete my account", "gold_article_ids": ["a3"]},  # wrong: cites a2
            {"id": "q3", "question": "zebra", "gold_article_ids": ["a2"]},  # handed over
            {"id": "q4", "question": "Change the invoice address", "gold_article_ids": ["a3", "a1"]},  # correct
        ],
    )
    unanswerable = write_jsonl(
        tmp_path / "other.jsonl",
        [{"question": "Do you ship to Norway?"}, {"question": "How do I reset my password?", "gold_article_ids": []}],
    )
    workspaces, chunks = Workspace.objects.count(), Chunk.objects.count()
    out = StringIO()
    call_command(
        "eval_answers",
        "--articles",
        articles,
        "--questions",
        questions,
        "--unanswerable",
        unanswerable,
        "--provider",
        "none",
        stdout=out,
    )
    [line] = out.getvalue().strip().splitlines()
    assert json.loads(line) == {
        "answerable": {"questions": 4, "correct": 0.5, "wrong": 0.25, "handed_over": 0.25},
        "unanswerable": {"questions": 2, "answered": 0.5, "handed_over": 0.5},
        "provider": "none",
    }
    assert (Workspace.objects.count(), Chunk.objects.count()) == (workspaces, chunks)

    out = StringIO()
    call_command("eval_answers", "--articles", articles, "--questions", questions, stdout=out)
    assert json.loads(out.getvalue())["unanswerable"] is None


def test_eval_answers_refuses_bad_input_and_changes_nothing(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [{"id": "a1", "title": "T", "body": "B"}])
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json")
    no_gold = write_jsonl(tmp_path / "no_gold.jsonl", [{"question": "Where?"}])
    workspaces = Workspace.objects.count()
    with pytest.raises(CommandError, match="not JSON lines"):
        call_command("eval_answers", "--articles", str(bad), "--questions", good, stdout=StringIO())
    with pytest.raises(CommandError, match="cannot read"):
        call_command("eval_answers", "--articles", str(tmp_path / "missing"), "--questions", good, stdout=StringIO())
    with pytest.raises(CommandError, match="line 1: needs question and gold_article_ids"):
        call_command("eval_answers", "--articles", good, "--questions", no_gold, stdout=StringIO())
    questions = write_jsonl(tmp_path / "q.jsonl", [{"question": "Where?", "gold_article_ids": ["a1"]}])
    with pytest.raises(CommandError, match=r"line 1: needs question$"):
        call_command(
            "eval_answers", "--articles", good, "--questions", questions, "--unanswerable", good, stdout=StringIO()
        )
    assert Workspace.objects.count() == workspaces


def test_with_a_model_an_faq_answers_at_once_only_when_the_question_is_nearly_its_own(demo_knowledge):
    # "What payment methods do you take?" is confident for the FAQ, but in other words:
    # without a model the FAQ's answer is the answer; with one, the model answers.
    question = "What payment methods do you take?"
    assert decision.decide(demo_knowledge, question, chat=False).action == decision.ANSWER
    assert decision.decide(demo_knowledge, question, chat=True).action == decision.MODEL


def test_the_same_question_twice_is_not_a_rival_to_itself():
    """Two items with one title (an agency's answer copied by another) lead by nothing over
    each other: the lead is over the first item that asks something else."""
    first = hit(1, score=0.80, similarity=0.70)
    twin = Hit(**{**first.__dict__, "item_id": 2, "chunk_id": 2, "title": "ARTICLE 1!", "score": 0.80})
    other = hit(3, score=0.80 - decision.CONFIDENT_LEAD, similarity=0.60)
    assert decision.runner_up([first, twin, other]) == other
    assert decision.is_confident([first, twin, other])
    assert not decision.is_confident([first, hit(4, score=0.80, similarity=0.70), other])  # a different title
    assert decision.runner_up([first, twin]) is None


def test_an_answer_never_cites_another_item_than_the_one_found_confident(workspace, monkeypatch):
    """The first hit is confident but not relevant enough to use: the answer is not the
    second hit's passage (which was never measured against the rest), it is a handover."""
    first = hit(1, score=1.0, similarity=None, coverage=0.45, text_score=1.0)  # under RELEVANT_COVERAGE
    second = hit(2, score=0.3, similarity=None, coverage=0.6, text_score=0.3)
    assert decision.is_confident([first, second]) and not decision.is_relevant(first)
    monkeypatch.setattr(decision.retrieval, "search", lambda *args, **kwargs: [first, second])
    decided = decision.decide(workspace, "anything", chat=False)
    assert decided.action == decision.HAND_OVER and decided.sources == []
