"""How the apps built on conversations react to a customer's message, without conversations
importing them: imports point one way (the AI depends on conversations, never the reverse).
Each app registers its hooks in its AppConfig.ready(), before any message arrives.

- `add_workspace_fact(name, sql)`: a fact about the conversation's workspace that the hooks
  need, read in the same statement that locks the conversation (see hotpath), so that
  deciding who answers costs no query of its own. The AI registers whether it is on.
- `on_customer_message(hook)`: called inside the message's transaction with the conversation,
  the message, whether the message opened the conversation, and the facts. A hook returns True
  when it will answer the message (the AI enqueues its answer); the first that does wins.
- `on_unanswered_conversation(hook)`: a new conversation that no hook will answer, called
  with its id after the commit, once the message's pushes have gone out (the away reply).
- `on_team_message(hook)`: a public message from the team's side (an agent, the AI, or the
  system's words to the customer), called inside its transaction with the message (its
  `conversation` set, row-locked): email sends it on, now or once it has gone unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helpdesk.conversations.models import Conversation, Message

Facts = dict[str, Any]
CustomerMessageHook = Callable[["Conversation", "Message", bool, Facts], bool]

_facts: dict[str, str] = {}
_customer_message: list[CustomerMessageHook] = []
_unanswered: list[Callable[[int], None]] = []
_team_message: list[Callable[[Message], None]] = []


def add_workspace_fact(name: str, sql: str) -> None:
    """`sql` is a scalar subquery over `{workspace_id}` (the SQL expression of the workspace's
    id), e.g. '(SELECT "enabled" FROM "ai_aisettings" WHERE "workspace_id" = {workspace_id})';
    the hooks find its value (None when it yields no row) in their facts under `name`."""
    _facts[name] = sql


def workspace_facts() -> dict[str, str]:
    return dict(_facts)


def on_customer_message(hook: CustomerMessageHook) -> None:
    _customer_message.append(hook)


def on_unanswered_conversation(hook: Callable[[int], None]) -> None:
    _unanswered.append(hook)


def on_team_message(hook: Callable[[Message], None]) -> None:
    _team_message.append(hook)


def team_message(message: Message) -> None:
    for hook in _team_message:
        hook(message)


def customer_message(conversation: Conversation, message: Message, created: bool, facts: Facts) -> bool:
    """Offer the message to the hooks in turn; True once one of them will answer it."""
    return any(hook(conversation, message, created, facts) for hook in _customer_message)


def unanswered_conversation(conversation_id: int) -> None:
    for hook in _unanswered:
        hook(conversation_id)
