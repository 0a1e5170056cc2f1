"""Small constructors for events in tests."""

from __future__ import annotations

import uuid

import events as ev

SOURCE = (ev.Source(url="https://www.federalregister.gov/d/2022-27151", citation="87 FR 77505"),)


def registered(
    entity: str, kind: str = "company", *, occurred: str = "2018", **names: str
) -> ev.EntityRegistered:
    return ev.EntityRegistered(
        entity=entity,
        occurred=ev.PartialDate(occurred),
        sources=SOURCE,
        kind=kind,  # type: ignore[arg-type]
        names={"en": names.get("en", entity)},
    )


def listed(
    entity: str,
    occurred: str,
    *,
    on: str = "us-entity-list",
    event_id: uuid.UUID | None = None,
    supersedes: tuple[uuid.UUID, ...] = (),
    authority: str = "BIS",
) -> ev.EntityListed:
    return ev.EntityListed(
        id=event_id,
        entity=entity,
        occurred=ev.PartialDate(occurred),
        sources=SOURCE,
        list=on,
        authority=authority,
        supersedes=supersedes,
    )


def retracted(entity: str, occurred: str, *targets: uuid.UUID) -> ev.EventRetracted:
    return ev.EventRetracted(
        entity=entity, occurred=ev.PartialDate(occurred), sources=SOURCE, supersedes=targets
    )
