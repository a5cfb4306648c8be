"""Which mode a workspace's AI is in, and why: the one decision that the AI settings page, the
inbox's notice to admins and the agent itself all read.

- `model`: it answers with the chat model (whether the provider accepts the key is what Test
  connection checks);
- `knowledge`: knowledge-only, because no chat model is set, there is neither an API key nor
  a base URL to ask (here or on the server), or the saved key cannot be read;
- `off`: AI is off for the workspace; visitors wait for a person.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.ai.models import AISettings

MODEL, KNOWLEDGE, OFF = "model", "knowledge", "off"

KNOWLEDGE_ONLY = (
    "It answers only by quoting your knowledge base (a confident FAQ answer or article passage, with its "
    "source) and hands everything else to a person."
)


@dataclass(frozen=True)
class Mode:
    kind: str  # MODEL, KNOWLEDGE or OFF
    code: str  # why, in a word: "model", "ai_off", "no_chat_model", "no_provider", "key_unreadable"
    model: str  # the chat model it answers with ("" unless kind is MODEL)
    reason: str  # why, in a sentence ("" for MODEL)
    fix: str  # what to do about it ("" for MODEL)
    chat: bool  # the chat model can be asked (suggested replies too, even with AI off)
    effect: str = ""  # what the mode means for visitors ("" for MODEL)

    @property
    def uses_model(self) -> bool:
        return self.kind == MODEL

    @property
    def title(self) -> str:
        if self.kind == MODEL:
            return f"The AI answers with {self.model}."
        if self.kind == OFF:
            return "The AI is off."
        return "The AI is in knowledge-only mode."


def _chat(ai: AISettings) -> tuple[str, str, str]:
    """Whether the chat model can be asked: ("", "", "") when it can, else (code, reason, fix)."""
    if ai.api_key_unreadable:
        return (
            "key_unreadable",
            "The saved API key cannot be read (the server's SECRET_KEY changed since it was saved).",
            "Enter the API key again and save.",
        )
    if not ai.chat_model:
        return "no_chat_model", "No chat model is set.", "Enter a chat model (gpt-4o-mini, say) and save."
    config = ai.provider_config()
    if config is None or not (config.base_url or config.api_key):
        return (
            "no_provider",
            "No API key and no base URL are set, here or on the server (OPENAI_API_KEY, OPENAI_BASE_URL).",
            "Enter an OpenAI API key, or the base URL of an OpenAI-compatible server (Ollama, vLLM, LM Studio), "
            "then save and Test connection.",
        )
    return "", "", ""


def of(ai: AISettings) -> Mode:
    """The workspace's AI mode and why."""
    code, reason, fix = _chat(ai)
    chat = not code
    if not ai.enabled:
        return Mode(
            OFF,
            "ai_off",
            "",
            "AI answers are turned off for this workspace.",
            "Tick \u201cAI answers on\u201d and save to let it answer.",
            chat,
            "Visitors get no AI answers: their messages wait for a person (with the away message when nobody is online).",
        )
    if code:
        return Mode(KNOWLEDGE, code, "", reason, fix, chat, KNOWLEDGE_ONLY)
    return Mode(MODEL, MODEL, ai.chat_model, "", "", chat)


def notice_key(ai: AISettings, mode: Mode) -> str:
    """What an admin dismisses in the inbox: this workspace's notice for this reason (another
    reason later is another notice)."""
    return f"ai-mode:{ai.workspace_id}:{mode.code}"
