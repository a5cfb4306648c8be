"""Split knowledge into passages by its structure: Markdown headings, then paragraphs.

Every chunk carries its heading path ("Title › Section › Subsection") so that a passage
found on its own still says what it is about. Long sections are cut into chunks of about
TARGET_WORDS words at paragraph (then sentence) boundaries, each starting with the last
sentences of the previous one (OVERLAP_WORDS) so a fact split by the cut is still whole
in one of them. The sizes keep a chunk and its heading within the 256 word pieces that
small embedding models (all-MiniLM-L6-v2) read.

Every chunk is bounded in characters too (MAX_CHARS, its heading MAX_HEADING_CHARS): text
with very long words, or one "word" of megabytes without a space, is cut at word boundaries
where it has them and at MAX_CHARS where it has not. Only lines up to MAX_HEADING_LINE
characters can be headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TARGET_WORDS = 160
MAX_WORDS = 220
OVERLAP_WORDS = 35
TARGET_CHARS = 1500
MAX_CHARS = 2000
OVERLAP_CHARS = 350
MAX_HEADING_CHARS = 500
MAX_HEADING_LINE = 1000

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
    """A FAQ is one chunk: the question and its answer (an answer too long for one chunk is
    cut into several, each starting with the question)."""
    question, answer = " ".join(question.split())[:MAX_HEADING_CHARS], answer.strip()
    text = f"{question}\n{answer}"
    if words(text) <= MAX_WORDS and len(text) <= MAX_CHARS:
        return [Piece(heading=question, text=text)]
    room = MAX_CHARS - len(question) - 1
    parts = [p for paragraph in _paragraphs(answer) for p in _split_long(paragraph, max_chars=room)]
    return [Piece(heading=question, text=f"{question}\n{part}") for part in _pack(parts, max_chars=room)]


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def chunk_markdown(title: str, body: str) -> list[Piece]:
    """Chunks of an article or document written in Markdown (plain text is Markdown too)."""
    title = " ".join(title.split())
    pieces: list[Piece] = []
    for section in _sections(body):
        heading = _bounded(HEADING_SEPARATOR.join(part for part in (title, *section.path) if part), MAX_HEADING_CHARS)
        for text in _pack([part for paragraph in section.paragraphs for part in _split_long(paragraph)]):
            pieces.append(Piece(heading=heading, text=text))
    if not pieces and title:
        title = _bounded(title, MAX_HEADING_CHARS)
        pieces.append(Piece(heading=title, text=title))
    return pieces


def _bounded(text: str, limit: int) -> str:
    """The text, or its start cut at a word boundary within `limit` characters (with "…")."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


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
        # A heading is a short line (which also keeps the patterns below linear in time).
        match = _ATX_HEADING.match(line) if len(line) <= MAX_HEADING_LINE else None
        if match:
            start_section(len(match.group(1)), match.group(2))
            continue
        underline = _SETEXT_UNDERLINE.match(line)
        if (
            underline
            and len(paragraph) == 1
            and paragraph[0].strip()
            and len(paragraph[0]) <= MAX_HEADING_LINE
            and i > 0
        ):
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


def _split_long(paragraph: str, max_chars: int = MAX_CHARS) -> list[str]:
    """A paragraph longer than MAX_WORDS or `max_chars`, as runs of whole sentences (and of
    words for run-on text, and of characters for a word longer than a chunk)."""
    if words(paragraph) <= MAX_WORDS and len(paragraph) <= max_chars:
        return [paragraph]
    target_chars = min(TARGET_CHARS, max_chars)
    sentences: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        if words(sentence) <= MAX_WORDS and len(sentence) <= max_chars:
            sentences.append(sentence.strip())
            continue
        run: list[str] = []
        size = 0
        for token in _tokens(sentence, target_chars):
            if run and (len(run) >= TARGET_WORDS or size + 1 + len(token) > target_chars):
                sentences.append(" ".join(run))
                run, size = [], 0
            size += len(token) + (1 if run else 0)
            run.append(token)
        if run:
            sentences.append(" ".join(run))
    parts: list[str] = []
    run = []
    count = size = 0
    for sentence in sentences:
        n = words(sentence)
        if run and (count + n > TARGET_WORDS or size + 1 + len(sentence) > target_chars):
            parts.append(" ".join(run))
            run, count, size = [], 0, 0
        size += len(sentence) + (1 if run else 0)
        count += n
        run.append(sentence)
    if run:
        parts.append(" ".join(run))
    return parts


def _tokens(text: str, limit: int):
    """The words of `text`, a word longer than `limit` characters cut into pieces of `limit`."""
    for token in text.split():
        if len(token) <= limit:
            yield token
        else:
            for start in range(0, len(token), limit):
                yield token[start : start + limit]


def _tail(text: str, limit: int, max_chars: int = OVERLAP_CHARS) -> str:
    """The last whole sentences of `text` within `limit` words and `max_chars` characters
    (or its last words within those, or its last `max_chars` characters)."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    tail: list[str] = []
    count = size = 0
    for sentence in reversed(sentences):
        sentence = sentence.strip()
        n = words(sentence)
        if count + n > limit or size + len(sentence) + 1 > max_chars:
            break
        tail.insert(0, sentence)
        count += n
        size += len(sentence) + 1
    if tail:
        return " ".join(tail)
    last = " ".join(text.split()[-limit:])
    if len(last) <= max_chars:
        return last
    last = last[-max_chars:]
    space = last.find(" ")
    return last[space + 1 :] if 0 <= space < len(last) - 1 else last


def _pack(units: list[str], max_chars: int = MAX_CHARS) -> list[str]:
    """Units (paragraphs, or parts of long ones, each within MAX_WORDS and `max_chars`) packed
    greedily into chunks of about TARGET_WORDS (and at most TARGET_CHARS, or `max_chars` for
    a unit that long), each after the first starting with the previous chunk's last
    sentences (about OVERLAP_WORDS words)."""
    target_chars = min(TARGET_CHARS, max_chars)
    chunks: list[str] = []
    current: list[str] = []
    count = size = 0
    fresh = 0  # words in `current` that are not overlap from the previous chunk
    fresh_size = 0
    for unit in units:
        n = words(unit)
        joined = size + (2 if current else 0) + len(unit)
        over_target = count + n > TARGET_WORDS or joined > target_chars
        over_max = count + n > MAX_WORDS or joined > max_chars
        if fresh_size and over_target and (fresh >= TARGET_WORDS // 2 or fresh_size >= target_chars // 2 or over_max):
            text = "\n\n".join(current)
            chunks.append(text)
            overlap = _tail(text, OVERLAP_WORDS, min(OVERLAP_CHARS, max_chars // 4))
            current, count, size, fresh, fresh_size = [overlap], words(overlap), len(overlap), 0, 0
            if count + n > MAX_WORDS or size + 2 + len(unit) > max_chars:
                current, count, size = [], 0, 0
        size += (2 if current else 0) + len(unit)
        current.append(unit)
        count += n
        fresh += n
        fresh_size += len(unit)
    if fresh_size:
        chunks.append("\n\n".join(current))
    return chunks
