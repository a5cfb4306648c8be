import itertools

import pytest

from helpdesk.knowledge.chunking import (
    MAX_CHARS,
    MAX_HEADING_CHARS,
    MAX_WORDS,
    OVERLAP_WORDS,
    TARGET_CHARS,
    chunk_faq,
    chunk_markdown,
)


def sentences(count: int, word: str = "alpha") -> str:
    return " ".join(f"Sentence {i} says {word} things here." for i in range(count))


def test_each_chunk_carries_the_title_and_its_section_path():
    body = "Intro text.\n\n# Setup\n\nInstall it.\n\n## Linux\n\nUse apt.\n\n## Mac\n\nUse brew.\n\n# Billing\n\nPay monthly."
    pieces = chunk_markdown("Guide", body)
    assert [(p.heading, p.text) for p in pieces] == [
        ("Guide", "Intro text."),
        ("Guide › Setup", "Install it."),
        ("Guide › Setup › Linux", "Use apt."),
        ("Guide › Setup › Mac", "Use brew."),
        ("Guide › Billing", "Pay monthly."),
    ]


def test_setext_headings_and_markdown_in_headings_are_understood():
    pieces = chunk_markdown("Guide", "Refunds **fast**\n=======\n\nWithin [30 days](https://x.test).\n")
    assert pieces[0].heading == "Guide › Refunds fast"
    assert pieces[0].text == "Within [30 days](https://x.test)."


def test_a_hash_inside_a_code_block_is_not_a_heading():
    pieces = chunk_markdown("Guide", "Run this:\n\n```\n# not a heading\nmake\n```\n")
    assert len(pieces) == 1
    assert "# not a heading" in pieces[0].text


def test_a_long_section_is_cut_into_overlapping_chunks_of_bounded_size():
    pieces = chunk_markdown("Guide", "## Long\n\n" + sentences(120))
    assert len(pieces) > 3
    for piece in pieces:
        assert piece.heading == "Guide › Long"
        assert 20 <= len(piece.text.split()) <= MAX_WORDS
    for before, after in itertools.pairwise(pieces):
        last_sentence = before.text.rsplit("Sentence ", 1)[1]
        assert after.text.startswith("Sentence ")  # cut at sentence boundaries
        assert last_sentence in after.text[: 8 * OVERLAP_WORDS]  # the overlap repeats the end
    text = " ".join(p.text for p in pieces)
    for i in range(120):
        assert f"Sentence {i} says" in text


def test_paragraphs_are_packed_together_up_to_the_target_size():
    body = "\n\n".join(f"Paragraph {i} is short." for i in range(6))
    pieces = chunk_markdown("Notes", body)
    assert len(pieces) == 1
    assert pieces[0].text.count("\n\n") == 5


def test_an_empty_body_still_gives_the_title_as_one_chunk():
    assert [(p.heading, p.text) for p in chunk_markdown("Opening hours", "  \n")] == [
        ("Opening hours", "Opening hours")
    ]


def test_a_faq_is_one_chunk_question_then_answer():
    assert [(p.heading, p.text) for p in chunk_faq(" Do you ship abroad? ", "Yes, to the EU.\n")] == [
        ("Do you ship abroad?", "Do you ship abroad?\nYes, to the EU.")
    ]


def assert_bounded(pieces, content: str) -> None:
    assert pieces
    assert max(len(p.text) for p in pieces) <= MAX_CHARS
    assert max(len(p.heading) for p in pieces) <= MAX_HEADING_CHARS
    assert max(len(p.text.split()) for p in pieces) <= MAX_WORDS
    # nothing is lost: each chunk, less the overlap it starts with, adds up to the whole
    assert sum(len(p.text.replace(" ", "").replace("\n", "")) for p in pieces) >= len(content.replace(" ", ""))


@pytest.mark.parametrize(
    "body",
    [
        "x" * 4_000_000,  # one "word" of 4 MB
        "word " * 400_000,  # no sentence ends
        ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor " * 25_000),
        "a" * 3000 + " short " + "b" * 5000 + " words " + "c" * 1999,
    ],
)
def test_text_without_spaces_or_sentence_ends_is_cut_into_chunks_of_bounded_size(body):
    pieces = chunk_markdown("Dump", body)
    assert_bounded(pieces, body)
    assert len(pieces) >= len(body) // MAX_CHARS


def test_a_4mb_word_becomes_chunks_of_at_most_max_chars():
    pieces = chunk_markdown("Dump", "x" * 4_000_000)
    assert len(pieces) >= 4_000_000 // TARGET_CHARS
    assert {len(p.text) for p in pieces} <= set(range(1, MAX_CHARS + 1))


def test_a_huge_heading_is_shortened_and_a_huge_line_is_no_heading():
    pieces = chunk_markdown("Guide", "# " + "Setup " * 150 + "\n\nInstall it.\n\n# " + "#" * 200_000 + "x\n\nMore.")
    assert pieces[0].heading.startswith("Guide › Setup Setup") and pieces[0].heading.endswith("…")
    assert len(pieces[0].heading) <= MAX_HEADING_CHARS
    assert_bounded(pieces, "Install it. More.")


def test_a_huge_faq_answer_is_cut_into_chunks_that_each_start_with_the_question():
    answer = "Click 'Forgot password' and follow the link we send. " * 2000
    pieces = chunk_faq("How do I reset my password?", answer)
    assert len(pieces) > 1
    assert all(p.heading == "How do I reset my password?" for p in pieces)
    assert all(p.text.startswith("How do I reset my password?\nClick") for p in pieces)
    assert max(len(p.text) for p in pieces) <= MAX_CHARS
