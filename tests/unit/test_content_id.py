"""An imported event's id is uuid5 of its canonical bytes, exactly as `uuid.uuid5` makes it: ids
already in logs must come out the same, or importing a file again would append it twice."""

from __future__ import annotations

import pathlib
import uuid

from events import canonical
from service.ingest.importers import IMPORT_NAMESPACE, content_id
from service.ingest.un import UN_NAMESPACE, read_snapshot, snapshot_events

XML = pathlib.Path(__file__).resolve().parents[1] / "data" / "un-sc-consolidated"
XML /= "consolidated.xml"


def test_content_ids_are_uuid5_of_the_canonical_bytes_in_any_namespace() -> None:
    generated_at, designations = read_snapshot(XML)
    planned = snapshot_events(designations, generated_at)
    assert len(planned) == 2007
    for event, _ in planned:
        bare = event.__class__(**{**_fields(event), "id": None})
        for namespace in (UN_NAMESPACE, IMPORT_NAMESPACE, uuid.NAMESPACE_URL):
            expected = uuid.uuid5(namespace, canonical(bare).decode("utf-8"))
            assert content_id(bare, namespace) == expected
        assert event.id == uuid.uuid5(UN_NAMESPACE, canonical(bare).decode("utf-8"))


def _fields(event: object) -> dict[str, object]:
    return {name: getattr(event, name) for name in event.__struct_fields__}  # type: ignore[attr-defined]
