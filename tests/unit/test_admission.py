"""The admission rules of the log, without a database."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import canonical, from_builtins, with_id
from events.admission import Candidate, Rejection, admit
from tests.support.apitools import listing, registration


def candidate(body: dict, event_id: uuid.UUID | None = None) -> Candidate:
    event = with_id(from_builtins(body), event_id or uuid.uuid4())
    return Candidate(event=event, id=event.id, payload=canonical(event))  # type: ignore[arg-type]


REGISTERED = frozenset({"ymtc", "us-entity-list"})


def test_new_events_of_registered_entities_are_admitted() -> None:
    batch = [candidate(listing("ymtc")), candidate(listing("ymtc", "2023"))]
    assert admit(batch, {}, known={}, registered=REGISTERED, stream_heads={}) == [True, True]


def test_an_unregistered_subject_is_refused_naming_the_event_and_field() -> None:
    batch = [candidate(listing("ymtc")), candidate(listing("nobody"))]
    with pytest.raises(Rejection) as caught:
        admit(batch, {}, known={}, registered=REGISTERED, stream_heads={})
    assert (caught.value.kind, caught.value.field, caught.value.index) == (
        "unknown-reference",
        "entity",
        1,
    )


def test_a_registration_earlier_in_the_batch_registers_its_subject() -> None:
    batch = [candidate(registration("acme")), candidate(listing("acme"))]
    assert admit(batch, {}, known={}, registered=REGISTERED, stream_heads={}) == [True, True]


def test_an_unregistered_referenced_entity_is_refused_by_its_field() -> None:
    with pytest.raises(Rejection) as caught:
        admit(
            [candidate(listing("ymtc", list="no-list"))],
            {},
            known={},
            registered=REGISTERED,
            stream_heads={},
        )
    assert caught.value.field == "list"


def test_the_same_id_with_the_same_bytes_is_a_replay_and_with_other_bytes_a_conflict() -> None:
    logged = candidate(listing("ymtc"))
    assert admit([logged], {}, known={logged.id: logged}, registered=set(), stream_heads={}) == [
        False
    ]
    other = candidate(listing("ymtc", "2019"), logged.id)
    with pytest.raises(Rejection) as caught:
        admit([other], {}, known={logged.id: logged}, registered=REGISTERED, stream_heads={})
    assert (caught.value.kind, caught.value.field) == ("id-conflict", "id")


def test_an_id_twice_in_one_batch_is_stored_once() -> None:
    first = candidate(listing("ymtc"))
    assert admit([first, first], {}, known={}, registered=REGISTERED, stream_heads={}) == [
        True,
        False,
    ]


def test_superseding_needs_an_event_of_the_same_subject_in_the_log_or_earlier_in_the_batch() -> (
    None
):
    first = candidate(listing("ymtc"))
    correction = candidate(listing("ymtc", "2022-12-15", supersedes=[str(first.id)]))
    assert admit([first, correction], {}, known={}, registered=REGISTERED, stream_heads={}) == [
        True,
        True,
    ]
    with pytest.raises(Rejection) as caught:
        admit([correction], {}, known={}, registered=REGISTERED, stream_heads={})
    assert caught.value.field == "supersedes[0]"
    of_other = candidate(listing("us-entity-list", list="ymtc", supersedes=[str(first.id)]))
    with pytest.raises(Rejection) as caught:
        admit([of_other], {}, known={first.id: first}, registered=REGISTERED, stream_heads={})
    assert "belongs to entity 'ymtc'" in caught.value.detail


def test_a_stale_expected_position_refuses_a_batch_that_adds_but_not_a_pure_replay() -> None:
    logged = candidate(listing("ymtc"))
    with pytest.raises(Rejection) as caught:
        admit(
            [candidate(listing("ymtc"))],
            {"ymtc": 2},
            known={},
            registered=REGISTERED,
            stream_heads={"ymtc": 5},
        )
    assert caught.value.kind == "stale-position"
    assert caught.value.extra == {"entity": "ymtc", "expected": 2, "actual": 5}
    assert admit(
        [logged], {"ymtc": 2}, known={logged.id: logged}, registered=set(), stream_heads={}
    ) == [False]


@given(
    registered=st.sets(st.sampled_from(["ymtc", "huawei", "us-entity-list", "acme"])),
    subjects=st.lists(st.sampled_from(["ymtc", "huawei", "acme"]), min_size=1, max_size=6),
)
def test_a_batch_is_admitted_exactly_when_every_subject_and_list_is_registered(
    registered: set[str], subjects: list[str]
) -> None:
    before = set(registered)
    batch = [candidate(listing(subject)) for subject in subjects]
    needed = {*subjects, "us-entity-list"}
    try:
        fresh = admit(batch, {}, known={}, registered=registered, stream_heads={})
    except Rejection as rejection:
        assert not needed <= registered
        assert rejection.kind == "unknown-reference"
        assert batch[rejection.index].entity not in registered or rejection.field == "list"  # type: ignore[index]
    else:
        assert needed <= registered and fresh == [True] * len(batch)
    assert registered == before  # admission reads its inputs, never changes them
