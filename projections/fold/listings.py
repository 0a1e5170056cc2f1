"""Listings: an entity put on a list under designations, and taken off them.

A list may hold a company under several designations at once (sub-lists, programmes, regimes,
record ids): each is kept on its own, with its own `since`, authority, reason and measures, and
a delisting ends only the designations it names. The `Listing` of a list sums them up, and is
there while at least one is open.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from msgspec import UNSET

from events import EntityDelisted, EntityListed
from projections.fold.items import earliest, find_item, put_item, since_key, stronger
from projections.state import Certainty, Designation, Listing, Member

DesignationKey = tuple[str | None, str | None]


def designation_key(item: Designation | EntityListed) -> DesignationKey:
    """(program, designation id): the key of a designation within its list."""
    return (item.program, item.designation)


def _order(item: Designation) -> tuple:
    return (since_key(item.since), item.program or "", item.designation or "")


def designations_of(listing: Listing) -> tuple[Designation, ...]:
    """The open designations of a listing (the unnamed one when the listing does not list
    them: it then says everything about it)."""
    if listing.designations is not UNSET:
        return listing.designations  # type: ignore[return-value]
    return (
        Designation(
            program=None,
            designation=None,
            since=listing.since,
            authority=listing.authority,
            rule=listing.rule,
            reason=None,
            measures=(),
            license_policy=listing.license_policy,
            license_requirement=listing.license_requirement,
            certainty=listing.certainty,
            event_ids=listing.event_ids,
        ),
    )


def _shown(designations: Sequence[Designation]) -> tuple[Designation, ...] | msgspec.UnsetType:
    """Unset when the only designation is the unnamed one without reason or measures."""
    if len(designations) == 1:
        (only,) = designations
        if only.program is None and only.designation is None:
            if only.reason is None and not only.measures:
                return UNSET
    return tuple(sorted(designations, key=_order))


def _designate(
    current: Designation | None,
    event: EntityListed,
    since: str,
    certainty: Certainty,
    event_id: str,
) -> Designation:
    if current is None:
        return Designation(
            program=event.program,
            designation=event.designation,
            since=since,
            authority=event.authority,
            rule=event.rule,
            reason=event.reason,
            measures=tuple(event.measures),
            license_policy=event.license_policy,
            license_requirement=event.license_requirement,
            certainty=certainty,
            event_ids=(event_id,),
        )
    return Designation(
        program=event.program,
        designation=event.designation,
        since=earliest(current.since, since),
        authority=event.authority,
        rule=event.rule if event.rule is not None else current.rule,
        reason=event.reason if event.reason is not None else current.reason,
        measures=tuple(event.measures) if event.measures else current.measures,
        license_policy=(
            event.license_policy if event.license_policy is not None else current.license_policy
        ),
        license_requirement=(
            event.license_requirement
            if event.license_requirement is not None
            else current.license_requirement
        ),
        certainty=stronger(current.certainty, certainty),
        event_ids=(*current.event_ids, event_id),
    )


def add_listing(
    items: Sequence[Listing], event: EntityListed, since: str, certainty: Certainty, event_id: str
) -> tuple[Listing, ...]:
    """A listing opens its designation, or restates it (the earliest `since` stays)."""
    current = find_item(items, (event.list,))
    designations = list(designations_of(current)) if current is not None else []
    key = designation_key(event)
    found = next((d for d in designations if designation_key(d) == key), None)
    designations = [d for d in designations if designation_key(d) != key]
    designations.append(_designate(found, event, since, certainty, event_id))
    if current is None:
        listing = Listing(
            list=event.list,
            since=since,
            rule=event.rule,
            authority=event.authority,
            license_policy=event.license_policy,
            certainty=certainty,
            event_ids=(event_id,),
            license_requirement=event.license_requirement,
            designations=_shown(designations),
        )
    else:
        listing = Listing(
            list=event.list,
            since=earliest(current.since, since),
            rule=event.rule if event.rule is not None else current.rule,
            authority=event.authority,
            license_policy=(
                event.license_policy if event.license_policy is not None else current.license_policy
            ),
            certainty=stronger(current.certainty, certainty),
            event_ids=(*current.event_ids, event_id),
            license_requirement=(
                event.license_requirement
                if event.license_requirement is not None
                else current.license_requirement
            ),
            designations=_shown(designations),
        )
    return put_item(items, listing)


def ends(designation: Designation, event: EntityDelisted) -> bool:
    """Whether the delisting names this designation (one naming nothing names them all)."""
    if event.designation is not None and designation.designation != event.designation:
        return False
    if event.program is not None and designation.program != event.program:
        return False
    return not (event.listing is not None and str(event.listing) not in designation.event_ids)


def end_listing(
    items: Sequence[Listing], event: EntityDelisted, certainty: Certainty, event_id: str
) -> tuple[tuple[Listing, ...], bool]:
    """A delisting ends the open designations it names: definite, they go; possible, they are
    marked possible (and carry its id). The listing goes with its last designation.

    Returns the listings and whether the delisting ended (or may have ended) anything.
    """
    current = find_item(items, (event.list,))
    if current is None:
        return tuple(items), False
    designations = designations_of(current)
    named = [d for d in designations if ends(d, event)]
    if not named:
        return tuple(items), False
    if certainty == "definite":
        rest = [d for d in designations if not ends(d, event)]
        if not rest:
            return tuple(item for item in items if item.list != event.list), True
        return put_item(items, _summary(current, rest)), True
    marked = [
        msgspec.structs.replace(d, certainty="possible", event_ids=(*d.event_ids, event_id))
        if ends(d, event)
        else d
        for d in designations
    ]
    listing = msgspec.structs.replace(
        current,
        certainty="definite" if any(d.certainty == "definite" for d in marked) else "possible",
        event_ids=(*current.event_ids, event_id),
        designations=_shown(marked),
    )
    return put_item(items, listing), True


def _summary(current: Listing, rest: Sequence[Designation]) -> Listing:
    """The listing of the designations that remain open after others ended."""
    order = {event_id: index for index, event_id in enumerate(current.event_ids)}
    kept = {event_id for d in rest for event_id in d.event_ids}
    latest = max(rest, key=lambda d: max(order.get(i, -1) for i in d.event_ids))
    since = min((d.since for d in rest), key=since_key)
    return Listing(
        list=current.list,
        since=since,
        rule=latest.rule,
        authority=latest.authority,
        license_policy=latest.license_policy,
        certainty="definite" if any(d.certainty == "definite" for d in rest) else "possible",
        event_ids=tuple(i for i in current.event_ids if i in kept),
        license_requirement=latest.license_requirement,
        designations=_shown(rest),
    )


def member_of(entity: str, listing: Listing, program: str | None = None) -> Member | None:
    """The entity as a member of the listing's list; with `program`, as a member under that
    programme only (None when it has no open designation under it)."""
    if program is None:
        return Member(
            entity=entity,
            since=listing.since,
            certainty=listing.certainty,
            event_ids=listing.event_ids,
        )
    under = [d for d in designations_of(listing) if d.program == program]
    if not under:
        return None
    ids = {event_id for d in under for event_id in d.event_ids}
    return Member(
        entity=entity,
        since=min((d.since for d in under), key=since_key),
        certainty="definite" if any(d.certainty == "definite" for d in under) else "possible",
        event_ids=tuple(i for i in listing.event_ids if i in ids),
    )
