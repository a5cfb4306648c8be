"""The statements behind a customer's message, written out by hand.

Why this exists: every message a visitor sends takes this path, and the web process spends
its time per message here. Built through the ORM, the lookup and the two saves cost more
Python time than everything else a message does, and two round trips to the database where
one will do. So the SQL is written once per process from the models' own metadata (columns,
tables, field conversions), and the rows are turned back into model instances the way the
ORM does. Everything else in the product uses the ORM; a change to the Conversation, Contact
or Message models flows in here by itself (tests/conversations/test_hotpath.py reads back
what was saved through the ORM and compares it field by field).

- `current_for_post`: the contact's current conversation in the widget, row-locked, with its contact, the
  message already saved under the post's `client_id` (if any) and the workspace facts that
  other apps registered (helpdesk.conversations.hooks), in one statement.
- `locked_contact_and_current`: a first message's path: the contact row-locked, then under
  that lock the current conversation as above, in one round trip.
- `save_new_message`: a new message and, in the same statement, its new conversation or the
  fields of its conversation that the message moves.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Field, Model

from helpdesk.conversations import hooks
from helpdesk.conversations.models import Contact, Conversation, Message


class Current(NamedTuple):
    conversation: Conversation  # row-locked, with its contact
    saved_id: int | None  # the message already saved under the post's client_id
    facts: hooks.Facts  # the workspace facts of helpdesk.conversations.hooks


def _facts_sql(table: str) -> tuple[list[str], str]:
    """The registered workspace facts as columns over `table`'s workspace_id."""
    facts = hooks.workspace_facts()
    workspace_id = f'{table}."workspace_id"'
    columns = "".join(f", {sql.format(workspace_id=workspace_id)}" for sql in facts.values())
    return list(facts), columns


@functools.cache
def _current_sql() -> tuple[str, list[Field], list[Field], list[str]]:
    conv_fields = list(Conversation._meta.concrete_fields)
    contact_fields = list(Contact._meta.concrete_fields)
    columns = [f'cv."{f.column}"' for f in conv_fields] + [f'ct."{f.column}"' for f in contact_fields]
    names, facts = _facts_sql("cv")
    sql = f"""
        SELECT {", ".join(columns)}{facts},
            (SELECT m."id" FROM "{Message._meta.db_table}" m
              WHERE m."conversation_id" = cv."id" AND m."client_id" = %(client_id)s LIMIT 1) AS saved_id
        FROM "{Conversation._meta.db_table}" cv
        JOIN "{Contact._meta.db_table}" ct ON ct."id" = cv."contact_id"
        WHERE cv."contact_id" = %(contact_id)s AND cv."channel" = %(widget)s
        ORDER BY cv."created_at" DESC, cv."id" DESC
        LIMIT 1
        FOR UPDATE OF cv"""
    return sql, conv_fields, contact_fields, names


@functools.cache
def _locked_contact_sql() -> tuple[str, list[Field], list[str]]:
    fields = list(Contact._meta.concrete_fields)
    columns = ", ".join(f'ct."{f.column}"' for f in fields)
    names, facts = _facts_sql("ct")
    sql = f"""SELECT {columns}{facts}
        FROM "{Contact._meta.db_table}" ct WHERE ct."id" = %(contact_id)s FOR UPDATE OF ct"""
    return sql, fields, names


def facts_for(workspace_id: int) -> hooks.Facts:
    """The registered workspace facts of one workspace, outside the hot path (email)."""
    facts = hooks.workspace_facts()
    if not facts:
        return {}
    columns = ", ".join(sql.format(workspace_id="%(workspace_id)s") for sql in facts.values())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}", {"workspace_id": workspace_id})
        return dict(zip(facts, cursor.fetchone()))


def _params(contact_id: int, client_id: str | None) -> dict:
    return {"contact_id": contact_id, "client_id": client_id, "widget": Conversation.Channel.WIDGET}


def current_for_post(contact_id: int, client_id: str | None) -> Current | None:
    """The contact's current conversation (None if it has none yet), row-locked as every
    writer of a conversation locks it."""
    with connection.cursor() as cursor:
        cursor.execute(_current_sql()[0], _params(contact_id, client_id))
        return _current_from_row(cursor.fetchone())


def locked_contact_and_current(contact_id: int, client_id: str | None) -> tuple[Contact, hooks.Facts, Current | None]:
    """The contact, row-locked, with its workspace facts; then, under that lock, its current
    conversation as `current_for_post` finds it. Two statements sent together (one round
    trip); the second starts once the first holds the lock, so it sees any conversation
    opened by whoever held the lock before."""
    lock_sql, fields, names = _locked_contact_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"{lock_sql};\n{_current_sql()[0]}", _params(contact_id, client_id))
        row = cursor.fetchone()
        cursor.nextset()
        current = cursor.fetchone()
    if row is None:
        raise Contact.DoesNotExist
    contact = _from_db(Contact, fields, row[: len(fields)])
    return contact, dict(zip(names, row[len(fields) :])), _current_from_row(current)


def _from_db(model: type[Model], fields: list[Field], values) -> Any:
    return model.from_db(
        connection.alias,
        [f.attname for f in fields],
        [f.from_db_value(v, None, connection) if hasattr(f, "from_db_value") else v for f, v in zip(fields, values)],
    )


def _current_from_row(row) -> Current | None:
    if row is None:
        return None
    _sql, conv_fields, contact_fields, names = _current_sql()
    split, end = len(conv_fields), len(conv_fields) + len(contact_fields)
    conversation = _from_db(Conversation, conv_fields, row[:split])
    conversation.contact = _from_db(Contact, contact_fields, row[split:end])
    return Current(conversation, row[-1], dict(zip(names, row[end:-1])))


def _conversation_field(name: str) -> Field:
    field = Conversation._meta.get_field(name)
    assert isinstance(field, Field)  # a concrete field, not a relation's reverse side
    return field


def _inserted_fields(model: type[Model]) -> list[Field]:
    return [f for f in model._meta.concrete_fields if not f.primary_key and not f.generated]


def _insert_sql(model: type[Model], replace: dict[str, str] | None = None) -> str:
    """INSERT INTO the model's table, one %s per field of _inserted_fields (or the SQL in
    `replace`, by column), RETURNING the id."""
    fields = _inserted_fields(model)
    columns = ", ".join(f'"{f.column}"' for f in fields)
    values = ", ".join((replace or {}).get(f.column, "%s") for f in fields)
    return f'INSERT INTO "{model._meta.db_table}" ({columns}) VALUES ({values}) RETURNING "id"'


@functools.cache
def _save_sql(touched: tuple[str, ...], new_conversation: bool) -> str:
    """One statement that INSERTs a message and either INSERTs its conversation first or
    UPDATEs the conversation's `touched` fields (a message always moves its conversation's
    last_message_at). It returns the conversation's id and the message's."""
    if new_conversation:
        conversation_column = Message._meta.get_field("conversation").column
        return f"""WITH cv AS ({_insert_sql(Conversation)}),
            m AS ({_insert_sql(Message, {conversation_column: '(SELECT "id" FROM cv)'})})
            SELECT (SELECT "id" FROM cv), (SELECT "id" FROM m)"""
    sets = ", ".join(f'"{_conversation_field(name).column}" = %s' for name in touched)
    return f"""WITH m AS ({_insert_sql(Message)}),
        c AS (UPDATE "{Conversation._meta.db_table}" SET {sets} WHERE "id" = %s)
        SELECT NULL, "id" FROM m"""


def _prepared(obj: Model, fields: list[Field]) -> list:
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def save_new_message(message: Message, conversation: Conversation, touched: list[str], new_conversation: bool) -> None:
    """Save a new message with, in the same statement, its new conversation or the
    conversation's `touched` fields: what Conversation.save and Message.save would write, in
    one round trip instead of two."""
    params = []
    if new_conversation:
        params += _prepared(conversation, _inserted_fields(Conversation))
        params += [
            v
            for f, v in zip(_inserted_fields(Message), _prepared(message, _inserted_fields(Message)))
            if f.name != "conversation"
        ]
    else:
        params += _prepared(message, _inserted_fields(Message))
        if touched:
            fields = [_conversation_field(name) for name in touched]
            params += [f.get_db_prep_save(getattr(conversation, f.attname), connection) for f in fields]
            params.append(conversation.pk)
    with connection.cursor() as cursor:
        cursor.execute(_save_sql(tuple(touched), new_conversation), params)
        conversation_id, message.pk = cursor.fetchone()
    if new_conversation:
        conversation.pk = conversation_id
        conversation._state.adding = False
        conversation._state.db = connection.alias
    message.conversation = conversation
    message._state.adding = False
    message._state.db = connection.alias
