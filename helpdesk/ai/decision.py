"""What the AI does with one customer message, before any model is asked: the one decision
that the agent acts on (ai/agent.py) and that `manage.py eval_answers` measures.

    hand over  the visitor asks for a person, an escalation rule matches, nothing relevant
               is found, or (without a chat model) no passage is a confident answer;
    answer     a confident FAQ match answers with its answer (with a model, only when the
               question is nearly the FAQ's own);
               without a chat model, a confident article or document passage is quoted
               (the few sentences that best match the question), with its source;
    model      otherwise the chat model answers from the relevant passages.

Confidence is about the first hit against the rest, not only about the first hit: a passage
that is close to the question but no closer than another item's is a guess between them (an
item with the same title as the first is the same answer again, not another: runner_up).
- With vectors: the first hit's similarity is at least CONFIDENT_SIMILARITY and its fused
  score leads the runner-up's by at least CONFIDENT_LEAD.
- Full text only: the first hit holds at least TEXT_CONFIDENT_COVERAGE of the question's
  content words and its full-text score leads the runner-up's by at least TEXT_CONFIDENT_LEAD
  of its own. (A threshold on the score itself does not carry over: it grows with the
  knowledge base, as the rarity of words does.)
The thresholds were tuned with `manage.py eval_answers` on the public questions of the shared
evaluation sets (not special-cased: a held-out set decides); see the README for the figures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection

from helpdesk.ai.models import GuidanceRule
from helpdesk.knowledge import retrieval
from helpdesk.knowledge.models import SEARCH_CONFIG
from helpdesk.knowledge.retrieval import Hit
from helpdesk.workspace.models import Workspace

HAND_OVER, ANSWER, MODEL = "hand_over", "answer", "model"

SEARCH_K = 5
# Relevance: the passages a model may use, and below which nothing relevant was found.
# `similarity` is cosine similarity (None without vectors); `coverage` the share of the
# question's content words in the passage (see knowledge/retrieval.py).
RELEVANT_SIMILARITY = 0.35
RELEVANT_COVERAGE = 0.5
# Confidence with vectors (all-MiniLM-L6-v2's scale; on the evaluation sets the right item's
# similarity is 0.56-0.90, another domain's question 0.10-0.23).
CONFIDENT_SIMILARITY = 0.40
CONFIDENT_LEAD = 0.05
# With a chat model, an FAQ answers at once only when the question is nearly its own (else
# the model, which reads the conversation, answers from it).
FAQ_AT_ONCE_SIMILARITY = 0.75
FAQ_AT_ONCE_COVERAGE = 0.8
# Confidence with full text only.
TEXT_CONFIDENT_COVERAGE = 0.4
TEXT_CONFIDENT_LEAD = 0.4

HANDOFF_MESSAGE = "I'm passing your question to our team."
PERSON_REQUEST = re.compile(
    r"\b(human|real person|a person|live agent|an agent|real agent|representative|operator|someone from (your|the) team"
    r"|talk to (someone|somebody)|speak (to|with) (someone|somebody|a|an|your))\b",
    re.I,
)


@dataclass(frozen=True)
class Decision:
    action: str  # HAND_OVER, ANSWER or MODEL
    reason: str = ""  # why it hands over (shown to agents), or ""
    body: str = ""  # the answer (ANSWER)
    sources: list[dict] = field(default_factory=list)  # the answer's sources (ANSWER)
    hits: list[Hit] = field(default_factory=list)  # the relevant passages, best first

    @property
    def cited(self) -> list[tuple[str, int]]:
        """(kind, id) of the items the answer cites."""
        return [(s["kind"], s["id"]) for s in self.sources]


def decide(
    workspace: Workspace, text: str, *, chat: bool, channel: str = "widget", rules: Sequence[GuidanceRule] = ()
) -> Decision:
    """What to do with a customer's message `text` (see the module's docstring); `chat` says
    whether a chat model can be asked, `rules` are the guidance rules that apply."""
    if PERSON_REQUEST.search(text):
        return Decision(HAND_OVER, "The visitor asked for a person")
    rule = escalation_rule(rules, text)
    if rule is not None:
        return Decision(HAND_OVER, f"Escalation rule: {rule.name}")

    found = retrieval.search(workspace, text, k=SEARCH_K, channel=channel)
    hits = [h for h in found if is_relevant(h)]
    if not hits:
        return Decision(HAND_OVER, "No relevant knowledge found")
    top = hits[0]
    confident = top is found[0] and is_confident(found)  # never another item than the one measured
    if top.kind == "faq" and confident and (not chat or is_close_match(top)):
        return Decision(ANSWER, body=top.answer, sources=[source_of(top, 1)], hits=hits)
    if chat:
        return Decision(MODEL, hits=hits)
    if confident:
        body = f"Here's what I found in \u201c{top.title}\u201d:\n\n{quote_of(top, text)}"
        return Decision(ANSWER, body=body, sources=[source_of(top, 1)], hits=hits)
    return Decision(HAND_OVER, "Not confident without a chat model", hits=hits)


def escalation_rule(rules: Sequence[GuidanceRule], text: str) -> GuidanceRule | None:
    """The first active escalation rule whose keywords occur in the text."""
    lowered = text.lower()
    for rule in rules:
        if rule.kind == GuidanceRule.Kind.ESCALATION and any(word in lowered for word in rule.keywords()):
            return rule
    return None


def is_relevant(hit: Hit) -> bool:
    if hit.similarity is not None and hit.similarity >= RELEVANT_SIMILARITY:
        return True
    return hit.coverage >= RELEVANT_COVERAGE


def is_confident(hits: Sequence[Hit]) -> bool:
    """Whether the first of a search's hits (all of them, best first) answers the question
    rather than another (see the module's docstring)."""
    if not hits:
        return False
    top, second = hits[0], runner_up(hits)
    if top.similarity is not None:
        lead = top.score - (second.score if second else 0.0)
        return top.similarity >= CONFIDENT_SIMILARITY and lead >= CONFIDENT_LEAD
    if top.text_score <= 0:
        return False
    lead = 1.0 - (second.text_score / top.text_score if second else 0.0)
    return top.coverage >= TEXT_CONFIDENT_COVERAGE and lead >= TEXT_CONFIDENT_LEAD


def runner_up(hits: Sequence[Hit]) -> Hit | None:
    """The best hit after the first that is another question: an item with the same title
    (the same article in two collections, two agencies' answers to one question) is the same
    answer again, not a rival to it."""
    title = _title_key(hits[0].title)
    return next((h for h in hits[1:] if _title_key(h.title) != title), None)


def _title_key(title: str) -> str:
    return " ".join(re.findall(r"\w+", title.lower()))


def is_close_match(hit: Hit) -> bool:
    """The question is nearly the hit's own words (or meaning)."""
    if hit.similarity is not None and hit.similarity >= FAQ_AT_ONCE_SIMILARITY:
        return True
    return hit.coverage >= FAQ_AT_ONCE_COVERAGE


def source_of(hit: Hit, n: int) -> dict:
    url = hit.url or (f"/help/{hit.public_id}/" if hit.kind == "article" and hit.public_id else "")
    return {"n": n, "kind": hit.kind, "id": hit.item_id, "chunk_id": hit.chunk_id, "title": hit.title, "url": url}


# ---------------------------------------------------------------- what an answer quotes

# What an answer without a model quotes of a passage: the run of consecutive sentences that
# holds most of the question's words, at most this many sentences and characters.
QUOTE_MAX_SENTENCES = 3
QUOTE_MAX_CHARS = 600
QUOTE_SCAN_CHARS = 8_000  # a passage is searched for its best sentences this far at most
_QUOTE_BREAK = re.compile(r"(?<=[.!?\u2026])\s+|\n\s*\n")
_HEADING_LINE = re.compile(r"^#{1,6}[ \t].*(?:\n[ \t]*)*", re.M)  # with the blank lines after it


def quote_of(hit: Hit, question: str = "") -> str:
    """The passage a knowledge-only answer quotes (the source links to the rest): an FAQ's
    answer, else the sentences of the passage around those that best match the question."""
    if hit.answer:
        return excerpt(hit.answer)
    return best_excerpt(hit.text, question)


def best_excerpt(text: str, question: str) -> str:
    """The run of up to QUOTE_MAX_SENTENCES consecutive sentences of `text` that holds the most
    of the question's content words (counted once each, stemmed as full-text search stems
    them), within QUOTE_MAX_CHARS; the first sentences when none holds any. "\u2026" marks
    what was left out before and after."""
    text = _HEADING_LINE.sub("", text[:QUOTE_SCAN_CHARS]).strip()
    starts = _sentence_starts(text)
    if not question or len(starts) <= 1:
        return excerpt(text)
    ends = [*starts[1:], len(text)]
    words = _lexemes([question, *(text[a:b] for a, b in zip(starts, ends))])
    wanted, found = set(words[0]), [set(w) & set(words[0]) for w in words[1:]]
    best_start, best_score = 0, 0
    for start in range(len(starts)):
        if not found[start]:
            continue  # a run opens on a sentence that matches, not on filler
        covered = set().union(*found[start : start + QUOTE_MAX_SENTENCES])
        if len(covered) > best_score:
            best_start, best_score = start, len(covered)
    if not wanted or best_start == 0:
        return excerpt(text)
    # Sliced from the text itself, so that its line breaks (a list, paragraphs) are kept.
    return "\u2026 " + excerpt(text[starts[best_start] :])


def _sentence_starts(text: str) -> list[int]:
    """Where each sentence (or paragraph) of the text starts."""
    starts = [0] + [m.end() for m in _QUOTE_BREAK.finditer(text)]
    return [a for a, b in zip(starts, [*starts[1:], len(text)]) if text[a:b].strip()]


def _lexemes(texts: list[str]) -> list[list[str]]:
    """Each text's content lexemes, as the chunks' search column has them: one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n, coalesce(tsvector_to_array(to_tsvector(%s::regconfig, t)), '{}')"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS u(t, n) ORDER BY n",
            [SEARCH_CONFIG, texts],
        )
        return [list(row[1]) for row in cursor.fetchall()]


def excerpt(text: str, max_chars: int = QUOTE_MAX_CHARS, max_sentences: int = QUOTE_MAX_SENTENCES) -> str:
    """The text's first sentences (at most `max_sentences`, and `max_chars` characters in all),
    cut at a sentence boundary, else at a word boundary, else anywhere, with "\u2026" when cut."""
    text = text.strip()
    head = text[: max_chars + 1]  # a huge passage is never read further than this
    limit = max_chars - 2  # room for the ellipsis
    breaks = [m.start() for m in _QUOTE_BREAK.finditer(head) if m.start() <= limit]
    if len(text) <= max_chars and len(breaks) < max_sentences:
        return text
    if len(breaks) >= max_sentences:
        return head[: breaks[max_sentences - 1]] + " \u2026"
    if breaks and breaks[-1] >= max_chars // 3:
        return head[: breaks[-1]] + " \u2026"
    space = max(head.rfind(" ", 0, limit), head.rfind("\n", 0, limit))
    cut = space if space > max_chars // 2 else limit
    return head[:cut].rstrip() + "\u2026"
