"""Anonymous contacts get a readable name and an avatar colour, the same everywhere."""

from __future__ import annotations

import itertools
import re

from django.urls import reverse

from helpdesk.conversations import names
from helpdesk.conversations.models import Contact
from tests.inbox.test_views import make_conversation


def test_an_anonymous_contact_has_a_readable_name_not_a_number(conversation):
    contact = conversation.contact
    assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", contact.display_name)
    assert "#" not in contact.display_name and str(contact.pk) not in contact.display_name


def test_the_name_is_the_same_in_every_process_because_it_comes_from_the_id(conversation):
    contact = conversation.contact
    again = Contact.objects.get(pk=contact.pk)  # another read, as another process would do
    assert again.display_name == contact.display_name == names.generated_name(contact.pk)
    assert again.avatar == contact.avatar and again.initials == contact.initials


def test_the_first_4096_contacts_all_have_different_names_and_neighbours_share_no_word():
    generated = [names.generated_name(pk) for pk in range(1, names.NAMES + 1)]
    assert len(set(generated)) == names.NAMES
    for a, b in itertools.pairwise(generated):
        assert not set(a.split()) & set(b.split()), (a, b)


def test_a_given_name_or_email_wins_and_the_colour_stays(conversation):
    contact = conversation.contact
    colour = contact.avatar
    contact.email = "ada@example.com"
    assert (contact.display_name, contact.initials) == ("ada@example.com", "A")
    contact.name = "Ada Lovelace"
    assert (contact.display_name, contact.initials, contact.avatar) == ("Ada Lovelace", "AL", colour)


def test_initials_come_from_letters_only():
    assert names.initials('<b onmouseover="x">Mallory</b>') == "BO"
    assert names.initials("Jean-Luc de la Tour") == "JT"
    assert names.initials("   ") == "?"
    assert all(0 <= names.avatar_colour(pk) < names.AVATAR_COLOURS for pk in range(100))


def test_the_inbox_shows_the_name_and_the_avatar_in_the_list_header_and_thread(agent_client, conversation):
    contact = conversation.contact
    avatar = f'<span class="avatar avatar-sm avatar-{contact.avatar}" aria-hidden="true">{contact.initials}</span>'
    listing = agent_client.get(reverse("inbox:index")).content.decode()
    assert avatar in listing and contact.display_name in listing
    page = agent_client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert f'<span class="avatar avatar-{contact.avatar}" aria-hidden="true">{contact.initials}</span>' in page
    assert f"avatar-sm avatar-{contact.avatar} mr-2" in page  # beside the customer's message
    assert "Visitor #" not in listing + page


def test_the_inbox_search_finds_an_anonymous_contact_by_the_name_it_shows(agent_client, workspace, conversation):
    shown = conversation.contact.display_name
    named = make_conversation(workspace, name="Ada Lovelace")
    other = make_conversation(workspace)
    for q in (shown, shown.lower(), shown.split()[1]):
        html = agent_client.get(reverse("inbox:index"), {"q": q}).content.decode()
        assert f'id="row-{conversation.pk}"' in html, q
        assert f'id="row-{named.pk}"' not in html
    assert other.contact.display_name.split()[1] != shown.split()[1]  # neighbours share no word
    html = agent_client.get(reverse("inbox:index"), {"q": shown}).content.decode()
    assert f'id="row-{other.pk}"' not in html
    assert names.slots_matching("a") == [] and names.slots_matching("e") == []  # too many to mean anything
