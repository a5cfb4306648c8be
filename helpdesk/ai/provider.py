"""The one module that talks to LLM providers, through the official `openai` client.

Any OpenAI-compatible endpoint works (OpenAI, Azure, Ollama, vLLM, LM Studio). Callers pass
a ProviderConfig (AISettings.provider_config() makes them); timeouts, retries and model names
come from settings or the workspace.

A guarded config (an endpoint that a workspace chose) connects only through
helpdesk.lib.outbound's checked client, and gets none of the operator's ambient OpenAI
settings (organization, project). A blank key sends no Authorization header at all.

Every failure is a ProviderError whose text is the HTTP status and a short reason, never the
provider's response body, and never a key: see failure().
"""

from __future__ import annotations

import functools
import http
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import openai
from openai.types.chat import ChatCompletionMessageParam

from helpdesk.lib import outbound


class ProviderError(Exception):
    """Any provider failure after the client's own retries: HTTP errors, timeouts,
    connection drops, malformed or truncated streams. Its text is safe to show an admin and
    to log; `status` is the provider's HTTP status, when it answered with one."""

    def __init__(self, text: str, status: int | None = None):
        super().__init__(text)
        self.status = status


@dataclass(frozen=True)
class ProviderConfig:
    base_url: str = ""
    api_key: str = ""
    timeout: float = 30.0
    retries: int = 2
    # Connect only to checked public (or operator-allowed) addresses: every endpoint but the
    # operator's own OPENAI_BASE_URL.
    guarded: bool = True


# The operator's ambient OpenAI settings (OPENAI_ORG_ID, OPENAI_PROJECT_ID in the environment)
# are not sent to an endpoint a workspace chose.
_NOT_TO_WORKSPACE_ENDPOINTS = {"OpenAI-Organization": openai.Omit(), "OpenAI-Project": openai.Omit()}


@functools.lru_cache(maxsize=32)
def _client(config: ProviderConfig) -> openai.OpenAI:
    """One client (and its connection pool) per configuration, reused across calls."""
    return openai.OpenAI(
        base_url=config.base_url or None,
        # The client insists on a key; without one, _headers() omits the header it would send.
        api_key=config.api_key or "not-needed",
        timeout=config.timeout,
        max_retries=config.retries,
        http_client=outbound.http_client(timeout=config.timeout) if config.guarded else None,
        # Omit() removes a default header (the client merges them so), which the signature's
        # Mapping[str, str] does not admit.
        default_headers=_NOT_TO_WORKSPACE_ENDPOINTS if config.guarded else None,  # type: ignore[arg-type]
    )


def _headers(config: ProviderConfig) -> dict:
    """Per request: no Authorization header when there is no key (local servers need none)."""
    return {} if config.api_key else {"Authorization": openai.Omit()}


# ---------------------------------------------------------------- errors, scrubbed

_SECRET_PATTERNS = [
    re.compile(r"\bsk-[A-Za-z0-9_\-*.]{4,}"),  # OpenAI-style keys, partly masked ones too
    re.compile(r"(?i)\bbearer\s+[^\s\"',;]+"),
    re.compile(r"(?i)((?:x-)?api[-_ ]?key|authorization)([\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]+"),
]
_SHORT_CODE = re.compile(r"[a-z0-9_.\-]{1,40}")


def scrub(text: str, key: str = "") -> str:
    """`text` without API keys: the configured key, anything shaped like sk-..., Bearer
    tokens, and api-key / Authorization values."""
    if key:
        text = text.replace(key, "[API key]")
    text = _SECRET_PATTERNS[0].sub("[API key]", text)
    text = _SECRET_PATTERNS[1].sub("Bearer [API key]", text)
    return _SECRET_PATTERNS[2].sub(lambda m: f"{m.group(1)}{m.group(2)}[API key]", text)


def failure(exc: BaseException, config: ProviderConfig) -> ProviderError:
    """The ProviderError for a failed call: the HTTP status and a short reason (the status's
    name, and the provider's error code when it is a plain identifier such as invalid_api_key),
    or what kept the call from reaching the provider. Never the response body, never a key."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "error"
        text = f"HTTP {status} {phrase}"
        code = getattr(exc, "code", None)
        if isinstance(code, str) and _SHORT_CODE.fullmatch(code) and scrub(code, config.api_key) == code:
            text += f" ({code})"
        return ProviderError(text, status)
    refused = _cause(exc, outbound.Refused) or _cause(exc, outbound.Unresolvable)
    if refused is not None:
        text = str(refused)
    elif isinstance(exc, openai.APITimeoutError):
        text = "the provider did not answer in time"
    elif isinstance(exc, openai.APIConnectionError):
        text = "could not connect to the provider"
    elif isinstance(exc, openai.OpenAIError):
        text = f"the provider's answer could not be used ({exc.__class__.__name__})"
    else:
        text = f"malformed answer from the provider ({exc.__class__.__name__})"
    return ProviderError(scrub(text, config.api_key))


def _cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


_GARBAGE = (ValueError, KeyError, TypeError, AttributeError, IndexError)  # what a garbled answer raises


# ---------------------------------------------------------------- calls


def embed(config: ProviderConfig, model: str, texts: list[str], dimensions: int | None = None) -> list[list[float]]:
    """Embeddings for `texts`, in order."""
    try:
        response = _client(config).embeddings.create(
            model=model,
            input=texts,
            extra_headers=_headers(config),
            # omit: the parameter is not sent at all
            dimensions=dimensions if dimensions and model.startswith("text-embedding-3") else openai.omit,
        )
        return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
    except (openai.OpenAIError, *_GARBAGE) as exc:
        # `from None`: the provider's own exception (its body may echo the key) stays out of
        # every traceback that is logged or stored with a failed task.
        raise failure(exc, config) from None


def _chat_messages(messages: list[dict]) -> list[ChatCompletionMessageParam]:
    """Callers pass plain {"role": ..., "content": ...} dicts, which the client sends as they are."""
    return cast("list[ChatCompletionMessageParam]", messages)


def stream_chat(
    config: ProviderConfig, model: str, messages: list[dict], *, temperature: float, max_tokens: int
) -> Iterator[str]:
    """The reply's text, piece by piece, as the model writes it. Raises ProviderError on any
    failure, including a stream that ends before the model said it was finished."""
    finished = False
    try:
        stream = _client(config).chat.completions.create(
            model=model,
            messages=_chat_messages(messages),
            temperature=temperature,
            max_tokens=max_tokens,
            stream=True,
            extra_headers=_headers(config),
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
    except (openai.OpenAIError, *_GARBAGE) as exc:
        raise failure(exc, config) from None
    if not finished:
        raise ProviderError("the stream ended before the model finished")


def chat(config: ProviderConfig, model: str, messages: list[dict], *, temperature: float, max_tokens: int) -> str:
    try:
        response = _client(config).chat.completions.create(
            model=model,
            messages=_chat_messages(messages),
            temperature=temperature,
            max_tokens=max_tokens,
            extra_headers=_headers(config),
        )
        return response.choices[0].message.content or ""
    except (openai.OpenAIError, *_GARBAGE) as exc:
        raise failure(exc, config) from None


def check(config: ProviderConfig, model: str) -> None:
    """Raise ProviderError (status and short reason) when the model cannot be reached."""
    try:
        _client(config).chat.completions.create(
            model=model, messages=[{"role": "user", "content": "ping"}], max_tokens=1, extra_headers=_headers(config)
        )
    except openai.OpenAIError as exc:
        raise failure(exc, config) from None
