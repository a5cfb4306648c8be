"""Channel-layer group names. Each names exactly who receives: too wide a group is a leak."""

import hashlib


def agents(workspace_id: int) -> str:
    """Every inbox socket of a workspace's agents: rows, threads, notes, typing, presence."""
    return f"agents.{workspace_id}"


def contact(contact_id: int) -> str:
    """The widget sockets of one contact: public messages and typing of their conversations."""
    return f"contact.{contact_id}"


def widget(workspace_id: int) -> str:
    """Every widget socket of a workspace: availability, token regeneration."""
    return f"widget.{workspace_id}"


def agent(user_id: int) -> str:
    """One agent's inbox sockets: things only they asked for (a suggested reply)."""
    return f"agent.{user_id}"


def visitor(visitor_id: int) -> str:
    """One browser's widget sockets: closed when the browser is linked to another contact."""
    return f"visitor.{visitor_id}"


def session(session_key: str) -> str:
    """The inbox sockets opened with one browser session (its sign-in). Named by a hash of the
    session key: group names are visible to anyone who can read Redis, the key never is."""
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]
