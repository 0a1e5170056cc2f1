"""FollowTheMoney entities, made with followthemoney's own model API, through `timeline
import-ftm` into real PostgreSQL and back out with `timeline export-ftm`: the library accepts
every exported entity, and names, programmes, dates and ownership survive the round trip."""

from __future__ import annotations

import json
import pathlib

import pytest
from followthemoney import model

from events.types import (
    EntityDelisted,
    EntityListed,
    EntityRegistered,
    OwnershipChanged,
)
from service.cli.main import main
from service.eventlog.store import EventStore
from service.ingest.ftm import import_ftm, log_entity_id
from service.ingest.importers import ImportFailed

URL = "https://example.org/sanctions/record"


def _entities() -> list[dict]:
    acme = model.make_entity("Company")
    acme.make_id("acme", "ru")
    acme.add("name", "Acme Microelectronics JSC")
    acme.add("alias", "ACME MICRO")
    acme.add("previousName", "Acme Research Institute")
    acme.add("country", "ru")
    acme.add("innCode", "7707083893")
    acme.add("sourceUrl", URL)

    holding = model.make_entity("Organization")
    holding.make_id("holding")
    holding.add("name", "Acme Holding Ltd")
    holding.add("incorporationDate", "2009")
    holding.add("sourceUrl", URL)

    person = model.make_entity("Person")
    person.make_id("ivanov")
    person.add("name", "Ivan Ivanov")
    person.add("nationality", "ru")
    person.add("sourceUrl", URL)

    eu = model.make_entity("Sanction")
    eu.make_id("eu", acme.id)
    eu.add("entity", acme)
    eu.add("authority", "European Union")
    eu.add("programId", "EU-RUS")
    eu.add("authorityId", "EU.1234.56")
    eu.add("listingDate", "2022-06")
    eu.add("reason", "Supplies electronic components to the armed forces.")
    eu.add("provisions", "asset freeze")

    ofac = model.make_entity("Sanction")
    ofac.make_id("ofac", acme.id)
    ofac.add("entity", acme)
    ofac.add("authority", "OFAC")
    ofac.add("programId", "RUSSIA-EO14024")
    ofac.add("startDate", "2022-03-11")
    ofac.add("endDate", "2024-01-15")

    person_listed = model.make_entity("Sanction")
    person_listed.make_id("eu", person.id)
    person_listed.add("entity", person)
    person_listed.add("authority", "European Union")
    person_listed.add("programId", "EU-RUS")
    person_listed.add("listingDate", "2023")

    owns = model.make_entity("Ownership")
    owns.make_id("owns", holding.id, acme.id)
    owns.add("owner", holding)
    owns.add("asset", acme)
    owns.add("percentage", "51")
    owns.add("startDate", "2015-04-01")

    owned_before = model.make_entity("Ownership")
    owned_before.make_id("owned", person.id, acme.id)
    owned_before.add("owner", person)
    owned_before.add("asset", acme)
    owned_before.add("percentage", "20")
    owned_before.add("startDate", "2012")
    owned_before.add("endDate", "2019-12-31")

    address = model.make_entity("Address")
    address.make_id("addr")
    address.add("full", "Moscow")
    entities = [acme, holding, person, eu, ofac, person_listed, owns, owned_before, address]
    return [e.to_dict() for e in entities]


def _write(path: pathlib.Path, entities: list[dict]) -> pathlib.Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in entities), encoding="utf-8")
    return path


def _by_schema(lines: list[dict], schema: str) -> list[dict]:
    return [e for e in lines if e["schema"] == schema]


def test_ftm_entities_import_export_back_valid_and_keep_names_programs_dates_and_ownership(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: pathlib.Path,
) -> None:
    monkeypatch.setenv("TIMELINE_DATABASE_URL", database_url)
    entities = _entities()
    source = _write(tmp_path / "in.ndjson", entities)
    assert main(["import-ftm", str(source)]) == 0
    summary = capsys.readouterr().err
    assert "from 9 rows" in summary and "skipped 1 Address entities" in summary
    assert "3 entities on 2 lists" in summary
    assert main(["import-ftm", str(source)]) == 0
    assert "(0 new," in capsys.readouterr().err

    out = tmp_path / "out.ndjson"
    assert main(["export-ftm", "-o", str(out)]) == 0
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    for data in exported:  # the library takes every line, and each value fits its property
        proxy = model.get_proxy(data, cleaned=False)
        for prop, values in data["properties"].items():
            prop_type = proxy.schema.get(prop).type
            assert all(prop_type.clean(v) is not None for v in values), (prop, values)
        assert proxy.schema.validate(data) is None, data
    by_id = {e["id"]: e for e in exported}
    original = {e["id"]: e for e in entities}

    for party in ("Company", "Organization", "Person"):
        (before,) = _by_schema(entities, party)
        after = by_id[before["id"]]
        names = set(after["properties"]["name"]) | set(after["properties"].get("alias", []))
        wanted = set(before["properties"]["name"]) | set(before["properties"].get("alias", []))
        wanted |= set(before["properties"].get("previousName", []))
        assert names == wanted
    acme = next(e for e in entities if e["schema"] == "Company")
    assert by_id[acme["id"]]["properties"]["country"] == ["ru"]
    assert by_id[acme["id"]]["properties"]["innCode"] == ["7707083893"]

    def sanctions(lines: list[dict]) -> set[tuple]:
        return {
            (
                s["properties"]["entity"][0],
                s["properties"]["authority"][0],
                s["properties"]["programId"][0],
                (s["properties"].get("listingDate") or s["properties"]["startDate"])[0],
                tuple(s["properties"].get("endDate", [])),
            )
            for s in _by_schema(lines, "Sanction")
        }

    assert sanctions(exported) == sanctions(entities)
    eu = next(s for s in _by_schema(exported, "Sanction") if s["properties"].get("reason"))
    assert eu["properties"]["authorityId"] == ["EU.1234.56"]
    assert eu["properties"]["provisions"] == ["asset freeze"]

    def holdings(lines: list[dict]) -> set[tuple]:
        return {
            (
                o["properties"]["owner"][0],
                o["properties"]["asset"][0],
                float(o["properties"]["percentage"][0]),
                o["properties"]["startDate"][0],
                tuple(o["properties"].get("endDate", [])),
            )
            for o in _by_schema(lines, "Ownership")
        }

    assert holdings(exported) == holdings(entities)
    assert set(original) & set(by_id) == {
        e["id"] for e in entities if e["schema"] in ("Company", "Organization", "Person")
    }


async def test_an_ended_sanction_is_a_delisting_naming_its_designation(
    store: EventStore, tmp_path: pathlib.Path
) -> None:
    report = await import_ftm(store, _write(tmp_path / "in.ndjson", _entities()))
    assert report.new == report.events > 0
    acme = next(e for e in _entities() if e["schema"] == "Company")
    events = [r.event for r in await store.entity_events(log_entity_id(acme["id"]))]
    listings = {e.program: e for e in events if isinstance(e, EntityListed)}
    assert str(listings["EU-RUS"].occurred) == "2022-06"
    (delisted,) = [e for e in events if isinstance(e, EntityDelisted)]
    assert delisted.program == "RUSSIA-EO14024"
    assert delisted.listing == listings["RUSSIA-EO14024"].id
    assert str(delisted.occurred) == "2024-01-15"
    (registered,) = [e for e in events if isinstance(e, EntityRegistered)]
    assert str(registered.occurred) == "2012"  # its earliest date: the ownership that ended
    assert "Acme Research Institute" in registered.aliases
    owned = [e for e in events if isinstance(e, OwnershipChanged)]
    assert sorted((str(e.occurred), e.share, e.ended) for e in owned) == [
        ("2012", 20.0, False),
        ("2015-04-01", 51.0, False),
        ("2019-12-31", None, True),
    ]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("{not json", "$"),
        ('{"id": "x", "schema": "Spaceship", "properties": {}}', "schema"),
        (
            '{"id": "x", "schema": "Company", "properties": {"name": ["A"],'
            f' "sourceUrl": ["{URL}"]}}}}',
            "incorporationDate",
        ),
        (
            '{"id": "x", "schema": "Company", "properties": {"name": ["A"],'
            ' "incorporationDate": ["2001"]}}',
            "sourceUrl",
        ),
        (
            '{"id": "s", "schema": "Sanction", "properties": {"entity": ["nobody"],'
            ' "authority": ["EU"], "listingDate": ["2020"]}}',
            "entity",
        ),
    ],
)
async def test_a_bad_line_is_refused_by_its_number_and_field_and_nothing_is_appended(
    store: EventStore, tmp_path: pathlib.Path, line: str, field: str
) -> None:
    good = json.dumps(_entities()[1])
    path = tmp_path / "bad.ndjson"
    path.write_text(f"{good}\n\n{line}\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as refused:
        await import_ftm(store, path)
    assert str(refused.value).startswith(f"line 3: {field}:")
    assert (await store.head()).position == 0


async def test_the_export_leaves_out_a_retracted_listing_and_takes_events_in_world_order(
    store: EventStore, tmp_path: pathlib.Path
) -> None:
    from events import from_builtins
    from service.ingest.ftm import export_ftm

    await import_ftm(store, _write(tmp_path / "in.ndjson", _entities()))
    acme = next(e for e in _entities() if e["schema"] == "Company")
    events = [r.event for r in await store.entity_events(log_entity_id(acme["id"]))]
    eu = next(e for e in events if isinstance(e, EntityListed) and e.program == "EU-RUS")
    retraction = from_builtins(
        {
            "type": "EventRetracted",
            "entity": eu.entity,
            "occurred": "2024-05-01",
            "sources": [{"url": URL}],
            "supersedes": [str(eu.id)],
        }
    )
    await store.append([retraction])
    exported = [json.loads(line) async for line in export_ftm(store)]
    programs = {s["properties"]["programId"][0] for s in _by_schema(exported, "Sanction")}
    assert programs == {"RUSSIA-EO14024", "EU-RUS"}  # the person's EU listing stays
    acme_sanctions = [
        s for s in _by_schema(exported, "Sanction") if s["properties"]["entity"] == [acme["id"]]
    ]
    assert [s["properties"]["programId"] for s in acme_sanctions] == [["RUSSIA-EO14024"]]
    # A delisting appended before the listing it ends, dated after it, still ends it.
    holding = log_entity_id(next(e for e in _entities() if e["schema"] == "Organization")["id"])
    common = {"entity": holding, "sources": [{"url": URL}], "list": eu.list}
    delisted = {"type": "EntityDelisted", "occurred": "2021-06-01", "program": "EU-BLR"}
    listed = {"type": "EntityListed", "occurred": "2020-03", "program": "EU-BLR"}
    await store.append([from_builtins({**common, **delisted})])
    await store.append([from_builtins({**common, **listed, "authority": "European Union"})])
    exported = [json.loads(line) async for line in export_ftm(store)]
    (blr,) = [
        s for s in _by_schema(exported, "Sanction") if s["properties"]["programId"] == ["EU-BLR"]
    ]
    assert blr["properties"]["startDate"] == ["2020-03"]
    assert blr["properties"]["endDate"] == ["2021-06-01"]
