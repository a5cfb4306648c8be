"""Split knowledge into passages by its structure: Markdown headings, then paragraphs.

Every chunk carries its heading path ("Title › Section › Subsection") so that a passage
found on its own still says what it is about. Long sections are cut into chunks of about
TARGET_WORDS words at paragraph (then sentence) boundaries, each starting with the last
sentences of the previous one (OVERLAP_WORDS) so a fact split by the cut is still whole
in one of them. The sizes keep a chunk and its heading within the 256 word pieces that
small embedding models (all-MiniLM-L6-v2) read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TARGET_WORDS = 160
MAX_WORDS = 220
OVERLAP_WORDS = 35

HEADING_SEPARATOR = " › "

_ATX_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class Piece:
    heading: str
    text: str


@dataclass
class _Section:
    path: tuple[str, ...]
    paragraphs: list[str]


def words(text: str) -> int:
    return len(text.split())


def chunk_faq(question: str, answer: str) -> list[Piece]:
    """A FAQ is one chunk: the question and its answer."""
    question, answer = question.strip(), answer.strip()
    return [Piece(heading=question, text=f"{question}\n{answer}")]


def chunk_markdown(title: str, body: str) -> list[Piece]:
    """Chunks of an article or document written in Markdown (plain text is Markdown too)."""
    title = " ".join(title.split())
    pieces: list[Piece] = []
    for section in _sections(body):
        heading = HEADING_SEPARATOR.join(part for part in (title, *section.path) if part)
        for text in _pack(section.paragraphs):
            pieces.append(Piece(heading=heading, text=text))
    if not pieces and title:
        pieces.append(Piece(heading=title, text=title))
    return pieces


def _sections(body: str) -> list[_Section]:
    """The body's sections, each with its heading path and its paragraphs."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    sections = [_Section(path=(), paragraphs=[])]
    stack: list[tuple[int, str]] = []
    paragraph: list[str] = []
    in_fence = False

    def end_paragraph():
        text = "\n".join(paragraph).strip()
        paragraph.clear()
        if text:
            sections[-1].paragraphs.append(text)

    def start_section(level: int, text: str):
        end_paragraph()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, _inline_text(text)))
        sections.append(_Section(path=tuple(t for _, t in stack if t), paragraphs=[]))

    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            paragraph.append(line)
            continue
        if in_fence:
            paragraph.append(line)
            continue
        match = _ATX_HEADING.match(line)
        if match:
            start_section(len(match.group(1)), match.group(2))
            continue
        underline = _SETEXT_UNDERLINE.match(line)
        if underline and len(paragraph) == 1 and paragraph[0].strip() and i > 0:
            text = paragraph.pop()
            start_section(1 if underline.group(1)[0] == "=" else 2, text)
            continue
        if not line.strip():
            end_paragraph()
        else:
            paragraph.append(line)
    end_paragraph()
    return [s for s in sections if s.paragraphs]


def _inline_text(text: str) -> str:
    """A heading without Markdown emphasis, links or code marks."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*_`]+", "", text)
    return " ".join(text.split())


def _split_long(paragraph: str) -> list[str]:
    """A paragraph longer than MAX_WORDS, as runs of whole sentences (and of words for run-on text)."""
    if words(paragraph) <= MAX_WORDS:
        return [paragraph]
    sentences: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        tokens = sentence.split()
        while len(tokens) > MAX_WORDS:
            sentences.append(" ".join(tokens[:TARGET_WORDS]))
            tokens = tokens[TARGET_WORDS:]
        if tokens:
            sentences.append(" ".join(tokens))
    parts: list[str] = []
    run: list[str] = []
    for sentence in sentences:
        if run and words(" ".join(run)) + words(sentence) > TARGET_WORDS:
            parts.append(" ".join(run))
            run = []
        run.append(sentence)
    if run:
        parts.append(" ".join(run))
    return parts


def _tail(text: str, limit: int) -> str:
    """The last whole sentences of `text` within `limit` words (or its last `limit` words)."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    tail: list[str] = []
    count = 0
    for sentence in reversed(sentences):
        n = words(sentence)
        if count + n > limit:
            break
        tail.insert(0, sentence.strip())
        count += n
    if tail:
        return " ".join(tail)
    return " ".join(text.split()[-limit:])


def _pack(paragraphs: list[str]) -> list[str]:
    """Paragraphs packed greedily into chunks of about TARGET_WORDS, each after the first
    starting with the previous chunk's last sentences (about OVERLAP_WORDS words)."""
    units = [part for paragraph in paragraphs for part in _split_long(paragraph)]
    chunks: list[str] = []
    current: list[str] = []
    count = 0
    fresh = 0  # words in `current` that are not overlap from the previous chunk
    for unit in units:
        n = words(unit)
        if fresh and count + n > TARGET_WORDS and (fresh >= TARGET_WORDS // 2 or count + n > MAX_WORDS):
            text = "\n\n".join(current)
            chunks.append(text)
            overlap = _tail(text, OVERLAP_WORDS)
            current, count, fresh = [overlap], words(overlap), 0
            if count + n > MAX_WORDS:
                current, count = [], 0
        current.append(unit)
        count += n
        fresh += n
    if fresh:
        chunks.append("\n\n".join(current))
    return chunks
