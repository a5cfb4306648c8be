"""Names and avatar colours for contacts who have not said who they are.

An anonymous contact is called by an adjective and an animal ("Amber Otter"), chosen from its
id by a fixed permutation: the name is the same on every page, in every process and after a
restart without being stored (nothing to migrate, nothing to write when a visitor arrives),
consecutive visitors get unrelated names, and the first 4,096 contacts all get different ones.
A contact who gives a name or an email is shown by that instead; the colour stays.
"""

from __future__ import annotations

ADJECTIVES = (
    "Amber", "Azure", "Bold", "Brave", "Bright", "Calm", "Cheerful", "Clever",
    "Coral", "Cosy", "Crimson", "Curious", "Dapper", "Eager", "Emerald", "Fancy",
    "Gentle", "Gleaming", "Golden", "Happy", "Hazel", "Honest", "Humble", "Indigo",
    "Ivory", "Jade", "Jolly", "Keen", "Kind", "Lively", "Lucky", "Lunar",
    "Maple", "Merry", "Mellow", "Misty", "Modest", "Noble", "Olive", "Patient",
    "Pearl", "Plucky", "Polite", "Quick", "Quiet", "Rosy", "Ruby", "Rustic",
    "Sage", "Scarlet", "Silver", "Sincere", "Snowy", "Sparkly", "Steady", "Sunny",
    "Swift", "Teal", "Tidy", "Violet", "Warm", "Witty", "Wise", "Zesty",
)  # fmt: skip
ANIMALS = (
    "Albatross", "Alpaca", "Badger", "Beaver", "Bison", "Capybara", "Cheetah", "Crane",
    "Dolphin", "Dove", "Eagle", "Elk", "Falcon", "Ferret", "Finch", "Fox",
    "Gazelle", "Gecko", "Giraffe", "Hare", "Hedgehog", "Heron", "Ibis", "Jaguar",
    "Kestrel", "Koala", "Lemur", "Lynx", "Magpie", "Manatee", "Marten", "Meerkat",
    "Moose", "Narwhal", "Newt", "Ocelot", "Orca", "Otter", "Owl", "Panda",
    "Pelican", "Penguin", "Puffin", "Quail", "Quokka", "Raccoon", "Raven", "Robin",
    "Salmon", "Seal", "Sparrow", "Squirrel", "Stork", "Swan", "Tapir", "Tiger",
    "Toucan", "Turtle", "Walrus", "Weasel", "Whale", "Wolf", "Wombat", "Zebra",
)  # fmt: skip
NAMES = len(ADJECTIVES) * len(ANIMALS)
# Odd, so that multiplying by it permutes 0 .. NAMES - 1 (NAMES is a power of two).
SPREAD = 2654435761
UNSPREAD = pow(SPREAD, -1, NAMES)
AVATAR_COLOURS = 12
# A search finds anonymous contacts by their name when it names at most this many of them
# ("otter": 64 names; "a" would be most of them, and says nothing).
MOST_SLOTS = 128


def generated_name(contact_id: int | None) -> str:
    if contact_id is None:
        return "Visitor"
    n = (contact_id * SPREAD) % NAMES
    return f"{ADJECTIVES[n // len(ANIMALS)]} {ANIMALS[n % len(ANIMALS)]}"


def slots_matching(text: str) -> list[int]:
    """The contact ids, modulo NAMES, of the generated names that contain the text (ignoring
    case): a search for "amber otter" finds contact_id % NAMES in these. Empty when the text
    is shorter than three letters or matches too many names."""
    wanted = " ".join(text.lower().split())
    if len(wanted) < 3:
        return []
    slots = []
    for n in range(NAMES):
        if wanted in f"{ADJECTIVES[n // len(ANIMALS)]} {ANIMALS[n % len(ANIMALS)]}".lower():
            slots.append(n * UNSPREAD % NAMES)
            if len(slots) > MOST_SLOTS:
                return []
    return sorted(slots)


def initials(name: str) -> str:
    """Up to two letters: of the first and the last word ("Ada Lovelace": AL), or the first
    letter of a single word or an email address."""
    words = [w for w in name.replace("@", " @").split() if not w.startswith("@")]
    letters = [next((ch for ch in w if ch.isalnum()), "") for w in words]
    letters = [ch for ch in letters if ch]
    if not letters:
        return "?"
    return (letters[0] + (letters[-1] if len(letters) > 1 else "")).upper()


def avatar_colour(contact_id: int | None) -> int:
    return ((contact_id or 0) * 7 + 3) % AVATAR_COLOURS
