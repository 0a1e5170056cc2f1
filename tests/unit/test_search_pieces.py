"""The pieces of a key that fuzzy search looks candidates up by (service/readmodels/search.py):
with one edit, a key of 5 characters or more keeps its first or its last piece intact."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from service.readmodels.search import _fuzzy_piece

LETTERS = st.sampled_from("abcdeé华")
KEYS = st.text(LETTERS, min_size=5, max_size=20)


@st.composite
def one_edit_away(draw: st.DrawFn) -> tuple[str, str]:
    """A key and another one edit away: a letter replaced, added, dropped, or two neighbours
    swapped."""
    key = draw(KEYS)
    at = draw(st.integers(0, len(key) - 1))
    letter = draw(LETTERS)
    edit = draw(st.sampled_from(["replace", "add", "drop", "swap"]))
    if edit == "replace":
        other = key[:at] + letter + key[at + 1 :]
    elif edit == "add":
        other = key[:at] + letter + key[at:]
    elif edit == "drop":
        other = key[:at] + key[at + 1 :]
    else:
        at = min(at, len(key) - 2)
        other = key[:at] + key[at + 1] + key[at] + key[at + 2 :]
    return key, other


@given(one_edit_away())
def test_one_edit_leaves_the_first_or_the_last_piece_intact(pair: tuple[str, str]) -> None:
    key, other = pair
    assert OSA.distance(key, other) <= 1
    piece = _fuzzy_piece(len(key), 1)
    assert other.startswith(key[:piece]) or other.endswith(key[-piece:])


def test_a_four_letter_keys_pieces_miss_a_swap_of_its_middle() -> None:
    piece = _fuzzy_piece(4, 1)
    other = "acbd"  # `abcd` with b and c swapped: one edit
    assert not other.startswith("abcd"[:piece]) and not other.endswith("abcd"[-piece:])
