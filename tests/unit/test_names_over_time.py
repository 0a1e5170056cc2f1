"""Names over time in the state and in headlines; notes on listings in the story."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st
from msgspec import UNSET

from events import PartialDate
from events.types import EntityRenamed
from projections import state_as_of
from projections.present.headlines import headline_at
from projections.present.story import NameBook, listing_notes
from tests.support.strategies import SOURCES, LogBuilder

D = dt.date
JINHUA = {"en": "Fujian Jinhua", "zh-Hans": "福建晋华", "zh-Hant": "福建晉華"}
JHICC = {"en": "JHICC", "zh-Hans": "晋华集成电路", "zh-Hant": "晉華積體電路"}


def renamed(log: LogBuilder, entity: str, occurred: str, names: dict, aliases=()) -> object:
    return log.add(
        EntityRenamed(
            entity=entity,
            occurred=PartialDate(occurred),
            sources=SOURCES,
            names=names,
            aliases=aliases,
        )
    )


def story() -> tuple[LogBuilder, dict]:
    log = LogBuilder()
    log.register("us-entity-list", "2000-01-01", kind="list", names={"en": "Entity List"})
    reg = log.register("jinhua", "2016-02-26", names=JINHUA, country="CN")
    listed = log.listed("jinhua", "2018-10-30")
    rename = renamed(log, "jinhua", "2026-01-15", JHICC, aliases=("Jinhua IC",))
    return log, {"reg": reg, "listed": listed, "rename": rename}


def test_state_before_a_rename_has_the_old_name_and_no_former_names() -> None:
    log, _ = story()
    state = state_as_of("jinhua", log.facts, D(2021, 6, 1))
    assert state.names == dict(sorted(JINHUA.items()))
    assert state.former_names is UNSET
    assert state.country == "CN"


def test_state_after_a_rename_has_the_new_name_and_the_old_as_former() -> None:
    log, facts = story()
    state = state_as_of("jinhua", log.facts, D(2026, 6, 1))
    assert state.names == dict(sorted(JHICC.items()))
    assert state.aliases == ("Jinhua IC",)
    (former,) = state.former_names
    assert former.names == dict(sorted(JINHUA.items()))
    assert (former.since, former.until) == (None, "2026-01-15")
    assert former.event_ids == (facts["rename"].event_id,)
    assert (state.kind, state.country) == ("company", "CN")  # a rename is not a registration


def test_two_renames_chain_their_former_names() -> None:
    log, _ = story()
    renamed(log, "jinhua", "2027-03-01", {"en": "Jinhua Semi"})
    state = state_as_of("jinhua", log.facts, D(2028, 1, 1))
    assert state.names == {"en": "Jinhua Semi"}
    assert [(f.names["en"], f.since, f.until) for f in state.former_names] == [
        ("Fujian Jinhua", None, "2026-01-15"),
        ("JHICC", "2026-01-15", "2027-03-01"),
    ]


def test_headlines_name_the_entity_as_it_was_called_then_with_the_current_name() -> None:
    log, facts = story()
    book = NameBook(log.facts)
    event = facts["listed"].event
    then = book.told(event)
    now = book.latest()
    assert headline_at(event, "en", now, then) == (
        "Fujian Jinhua (now JHICC) added to the Entity List"
    )
    assert (
        headline_at(event, "zh-Hans", now, then) == "福建晋华（现名晋华集成电路）被列入Entity List"
    )
    assert (
        headline_at(event, "zh-Hant", now, then) == "福建晉華（現名晉華積體電路）被列入Entity List"
    )
    rename = facts["rename"].event
    # A rename is told with the names it ends.
    assert headline_at(rename, "en", now, book.told(rename)) == "Fujian Jinhua renamed JHICC"
    assert headline_at(rename, "zh-Hans", now, book.told(rename)) == "福建晋华更名为晋华集成电路"
    assert headline_at(rename, "zh-Hant", now, book.told(rename)) == "福建晉華更名為晉華積體電路"


def test_headlines_after_the_rename_use_the_new_name_alone() -> None:
    log, _ = story()
    later = log.delisted("jinhua", "2026-05-01")
    book = NameBook(log.facts)
    then = book.on(later.event.occurred.start)
    for lang, text in (
        ("en", "JHICC removed from the Entity List"),
        ("zh-Hans", "晋华集成电路被移出Entity List"),
        ("zh-Hant", "晉華積體電路被移出Entity List"),
    ):
        assert headline_at(later.event, lang, book.latest(), then) == text


@given(day=st.dates(D(2010, 1, 1), D(2030, 12, 31)))
def test_the_name_on_any_day_is_the_last_naming_on_or_before_it(day: dt.date) -> None:
    log, _ = story()
    expected = JHICC if day >= D(2026, 1, 15) else JINHUA
    assert NameBook(log.facts).at("jinhua", day) == expected
    assert state_as_of("jinhua", log.facts, day).names == dict(sorted(expected.items()))


def test_notes_tell_a_redesignation_an_unmatched_delisting_and_an_unregistered_list() -> None:
    log = LogBuilder()
    lists = [
        log.register("us-entity-list", "2000-01-01", kind="list"),
        log.register("eu-sanctions", "2022-01-01", kind="list"),
    ]
    log.register("acme", "2015-01-01")
    first = log.listed("acme", "2019-05-16", program="EAR744-EL")
    again = log.listed("acme", "2020-08-17", program="EAR744-EL")
    other = log.listed("acme", "2021-06-03", program="1260H")
    early = log.listed("acme", "2021-03-01", on="eu-sanctions")
    stray = log.delisted("acme", "2021-04-01", on="us-entity-list", program="EU-RUS")
    facts = sorted(log.facts, key=lambda f: (f.event.occurred.start, f.position))
    notes = listing_notes(facts, lists)
    assert notes == {
        again.event_id: "designated_again",
        early.event_id: "unregistered_list",
        stray.event_id: "unmatched_delisting",
    }
    assert first.event_id not in notes and other.event_id not in notes
    assert headline_at(stray.event, "en", {}, None, notes[stray.event_id]) == (
        "acme: a delisting from the us-entity-list that matches no listing"
    )
    for lang in ("en", "zh-Hans", "zh-Hant"):
        text = headline_at(stray.event, lang, {}, None, notes[stray.event_id])
        assert "removed" not in text and "移出" not in text
    assert headline_at(again.event, "en", {}, None, "designated_again") == (
        "acme designated again on the us-entity-list (EAR744-EL)"
    )
    assert headline_at(again.event, "zh-Hant", {}, None, "designated_again") == (
        "acme再次被列入us-entity-list（EAR744-EL）"
    )
