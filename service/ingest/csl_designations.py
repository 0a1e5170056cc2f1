"""The designations of a Consolidated Screening List row: its own `programs`, `start_date`,
`end_date`, `federal_register_notice`, `license_requirement`, `license_policy` and `remarks`.

One row of the CSL is one party on one source list, under one or more programmes (`programs`,
`;`-separated: `VENEZUELA-EO13850; UKRAINE-EO13662`). Each (row, programme) is a designation of
its own: an `EntityListed` with `program`, `designation` = the row's Federal Register notice and
its `_id` (the notice says under which act, the id which row; together they are stable across
exports), `reason` = `remarks`, and the licence texts. A row with an `end_date` ends each of its
designations with an `EntityDelisted` naming it (designation, programme, listing event), so a
party listed under another row or programme stays listed.

Logs imported before designations hold, for the same row, one listing without programme or
designation (and its delisting). Those events are recognised by their content id (the old
mapping is rebuilt here as `legacy`) and superseded by the new ones, so importing the same file
again does not list the party twice: the old event leaves every answer known after the new
import, and stays in the log for answers known before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NOT_A_PROGRAM = {"", "-"}


@dataclass(frozen=True, slots=True)
class CslDesignation:
    """The events of one designation of a row, and what the importer before designations made
    of the row (to recognise in a log that has it)."""

    listed: dict[str, Any]
    legacy_listed: dict[str, Any]
    delisted: dict[str, Any] | None = None
    legacy_delisted: dict[str, Any] | None = None


def programs_of(text: str | None) -> list[str]:
    """`VENEZUELA-EO13850; UKRAINE-EO13662` -> both, in order, once each."""
    out: list[str] = []
    for part in (text or "").split(";"):
        program = " ".join(part.split())[:500]
        if program not in _NOT_A_PROGRAM and program not in out:
            out.append(program)
    return out


def designation_id(notice: str, row_id: str) -> str | None:
    """The row's Federal Register notice and its `_id`: `83 FR 37423 / 99ed1b05...`."""
    parts = [p for p in (notice.strip(), row_id.strip()) if p]
    if not parts:
        return None
    text = " / ".join(parts)
    if len(text) > 500:  # keep the row id whole: it is what tells two rows apart
        text = f"{notice.strip()[: 500 - len(row_id) - 4]}... / {row_id.strip()}"[-500:]
    return text


def row_designations(
    row: Mapping[str, str | None],
    *,
    legacy_listed: dict[str, Any],
    ended: str | None,
    notice: str,
    clean: Any,
) -> list[CslDesignation]:
    """The designations of a row. `legacy_listed` is the listing the importer made before
    designations (entity, occurred, sources, list, authority, licence texts); `ended` the row's
    `end_date` as a day; `clean` the importer's text cleaner."""
    designation = designation_id(notice, clean(row.get("_id")))
    reason = clean(row.get("remarks"))[:20_000]
    legacy_delisted = None
    if ended is not None:
        legacy_delisted = {
            "type": "EntityDelisted",
            "entity": legacy_listed["entity"],
            "occurred": ended,
            "sources": legacy_listed["sources"],
            "list": legacy_listed["list"],
        }
    out: list[CslDesignation] = []
    for program in programs_of(clean(row.get("programs"))) or [None]:
        listed = dict(legacy_listed)
        named: dict[str, Any] = {}
        if program is not None:
            named["program"] = program
        if designation is not None:
            named["designation"] = designation
        listed.update(named)
        if reason:
            listed["reason"] = reason
        delisted = None
        if legacy_delisted is not None:
            delisted = {**legacy_delisted, **named}
        out.append(CslDesignation(listed, legacy_listed, delisted, legacy_delisted))
    return out
