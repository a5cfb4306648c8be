"""The one module that talks to LLM providers, through the official `openai` client.

Any OpenAI-compatible endpoint works (OpenAI, Azure, Ollama, vLLM, LM Studio). Callers pass
a ProviderConfig; timeouts, retries and model names come from settings or the workspace.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import openai

class ProviderError(Exception):
    """Any provider failure after the client's own retries: HTTP errors, timeouts,
    connection drops, malformed or truncated streams."""


@dataclass(frozen=True)
class ProviderConfig:
    base_url: str = ""
    api_key: str = ""
    timeout: float = 30.0
    retries: int = 2


@functools.lru_cache(maxsize=32)
def _client(config: ProviderConfig) -> openai.OpenAI:
    """One client (and its connection pool) per configuration, reused across calls."""
    return openai.OpenAI(
        base_url=config.base_url or None,
        # Local servers (Ollama, vLLM) accept any key; the client insists on one.
        api_key=config.api_key or "not-needed",
        timeout=config.timeout,
        max_retries=config.retries,
    )


def embed(config: ProviderConfig, model: str, texts: list[str], dimensions: int | None = None) -> list[list[float]]:
    """Embeddings for `texts`, in order."""
    kwargs = {"dimensions": dimensions} if dimensions and model.startswith("text-embedding-3") else {}
    try:
        response = _client(config).embeddings.create(model=model, input=texts, **kwargs)
    except openai.OpenAIError as exc:
        raise ProviderError(str(exc)) from exc
    return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]


def stream_chat(
    config: ProviderConfig, model: str, messages: list[dict], *, temperature: float, max_tokens: int
) -> Iterator[str]:
    """The reply's text, piece by piece, as the model writes it. Raises ProviderError on any
    failure, including a stream that ends before the model said it was finished."""
    finished = False
    try:
        stream = _client(config).chat.completions.create(
            model=model, messages=messages, temperature=temperature, max_tokens=max_tokens, stream=True
        )
        try:
            for chunk in stream:
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                if choice.delta and choice.delta.content:
                    yield choice.delta.content
                if choice.finish_reason:
                    finished = True
        finally:
            stream.close()
    except openai.OpenAIError as exc:
        raise ProviderError(str(exc)) from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # garbage on the wire
        raise ProviderError(f"malformed stream: {exc}") from exc
    if not finished:
        raise ProviderError("the stream ended before the model finished")


def chat(config: ProviderConfig, model: str, messages: list[dict], *, temperature: float, max_tokens: int) -> str:
    try:
        response = _client(config).chat.completions.create(
            model=model, messages=messages, temperature=temperature, max_tokens=max_tokens
        )
        return response.choices[0].message.content or ""
    except openai.OpenAIError as exc:
        raise ProviderError(str(exc)) from exc
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ProviderError(f"malformed response: {exc}") from exc


def check(config: ProviderConfig, model: str) -> None:
    """Raise ProviderError with the provider's own message when the model cannot be reached."""
    try:
        _client(config).chat.completions.create(model=model, messages=[{"role": "user", "content": "ping"}], max_tokens=1)
    except openai.OpenAIError as exc:
        raise ProviderError(str(exc)) from exc
