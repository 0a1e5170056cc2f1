"""A member's JSON made from its stored listing's bytes equals the member encoded.

Pages, streams and the whole list write each member as `member_json(entity, body)`: the
listing's `since`, `certainty` and `event_ids` cut from its canonical JSON (a read-model row's
body) and the entity put between them, instead of decoding the listing into a `Listing`, making
a `Member` and encoding it. The answers must stay byte for byte what they were.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from projections import Listing, canonical_json
from projections.fold.listings import member_of
from projections.state import Designation
from service.readmodels.queries import member_json

# Text as ids and sources have it, and the characters JSON must escape or may leave as they are.
text = st.text(
    alphabet=st.sampled_from(list('ab-_.0Z"\\/\n\t\x00\x1f\u2028é中😀 ')), min_size=0, max_size=12
)
optional = st.none() | text
certainty = st.sampled_from(["definite", "possible"])
designations = st.lists(
    st.builds(
        Designation,
        program=optional,
        designation=optional,
        since=text,
        authority=text,
        rule=optional,
        reason=optional,
        measures=st.lists(text, max_size=2).map(tuple),
        license_policy=optional,
        license_requirement=optional,
        certainty=certainty,
        event_ids=st.lists(text, max_size=3).map(tuple),
    ),
    min_size=1,
    max_size=3,
).map(tuple)
listings = st.builds(
    Listing,
    list=text,
    since=text,
    rule=optional,
    authority=text,
    license_policy=optional,
    certainty=certainty,
    event_ids=st.lists(text, max_size=4).map(tuple),
    license_requirement=optional,
    designations=st.just(()) | designations,
).map(lambda listing: listing if listing.designations else _without_designations(listing))


def _without_designations(listing: Listing) -> Listing:
    """The listing with `designations` unset, as a listing of the unnamed designation alone is
    stored."""
    fields = {f: getattr(listing, f) for f in listing.__struct_fields__ if f != "designations"}
    return Listing(**fields)


@settings(max_examples=400, deadline=None)
@given(entity=text, listing=listings)
def test_member_json_from_the_stored_listing_is_the_member_encoded(
    entity: str, listing: Listing
) -> None:
    member = member_of(entity, listing)
    assert member is not None
    assert bytes(member_json(entity, canonical_json(listing))) == canonical_json(member)


def test_member_json_of_a_listing_with_every_field_set_is_the_member_encoded() -> None:
    listing = Listing(
        list="us-entity-list",
        since="2020-05-22",
        rule="rule-15-cfr-744",
        authority="BIS",
        license_policy="presumption of denial",
        certainty="possible",
        event_ids=("e-1", "e-2"),
        license_requirement="all items subject to the EAR",
    )
    member = member_of("acme", listing)
    assert member is not None
    assert bytes(member_json("acme", canonical_json(listing))) == canonical_json(member)
