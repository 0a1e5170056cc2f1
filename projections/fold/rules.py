"""Rules: issued, rescinded, suspended; guidance naming an entity; licence requirements."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import msgspec

from events import (
    RuleIssued,
)
from events.types import (
    GuidanceIssued,
    LicenseRequirementImposed,
    RuleSuspended,
)
from projections.fold.items import earliest, find_item, merge_item, put_item, stronger
from projections.state import (
    Certainty,
    EntityState,
    GuidanceNaming,
    LicenseRequirement,
    RuleInForce,
    RuleState,
    RuleStatus,
)


def rule_status(effective_on: _dt.date | None, as_of: _dt.date) -> RuleStatus:
    return "pending" if effective_on is not None and effective_on > as_of else "in_force"


def add_rule_in_force(
    items: Sequence[RuleInForce],
    event: RuleIssued,
    since: str,
    certainty: Certainty,
    event_id: str,
    as_of: _dt.date,
) -> tuple[RuleInForce, ...]:
    def make(current: RuleInForce | None) -> RuleInForce:
        if current is None:
            return RuleInForce(
                rule=event.entity,
                title=dict(sorted(event.title.items())),
                authority=event.authority,
                since=since,
                effective=event.effective,
                status=rule_status(event.effective, as_of),
                certainty=certainty,
                event_ids=(event_id,),
            )
        effective_on = event.effective if event.effective is not None else current.effective
        suspended = current.status == "suspended"
        return RuleInForce(
            rule=event.entity,
            title=dict(sorted(event.title.items())),
            authority=event.authority,
            since=earliest(current.since, since),
            effective=effective_on,
            status="suspended" if suspended else rule_status(effective_on, as_of),
            certainty=stronger(current.certainty, certainty),
            event_ids=(*current.event_ids, event_id),
            suspended_until=current.suspended_until if suspended else None,
        )

    return merge_item(items, (event.entity,), make)


def issue_rule(
    current: RuleState | None,
    event: RuleIssued,
    since: str,
    certainty: Certainty,
    event_id: str,
    as_of: _dt.date,
) -> RuleState:
    """The rule's own state. A re-issue after a definite rescission starts a new life."""
    if current is None or current.status == "rescinded":
        return RuleState(
            title=dict(sorted(event.title.items())),
            authority=event.authority,
            since=since,
            effective=event.effective,
            status=rule_status(event.effective, as_of),
            suspended_until=None,
            ended=None,
            certainty=certainty,
            event_ids=(event_id,),
        )
    effective_on = event.effective if event.effective is not None else current.effective
    suspended = current.status == "suspended"
    return RuleState(
        title=dict(sorted(event.title.items())),
        authority=event.authority,
        since=earliest(current.since, since),
        effective=effective_on,
        status="suspended" if suspended else rule_status(effective_on, as_of),
        suspended_until=current.suspended_until if suspended else None,
        ended=None,
        certainty=stronger(current.certainty, certainty),
        event_ids=(*current.event_ids, event_id),
    )


def rescind_rule(current: RuleState, since: str, certainty: Certainty, event_id: str) -> RuleState:
    """Definite: `rescinded` (kept, so the rule's page says so); possible: `possible`."""
    if current.status == "rescinded":
        return msgspec.structs.replace(current, event_ids=(*current.event_ids, event_id))
    if certainty == "definite":
        return msgspec.structs.replace(
            current,
            status="rescinded",
            suspended_until=None,
            ended=since,
            event_ids=(*current.event_ids, event_id),
        )
    return msgspec.structs.replace(
        current, certainty="possible", event_ids=(*current.event_ids, event_id)
    )


def _suspension(
    status: str,
    effective_on: _dt.date | None,
    event: RuleSuspended,
    certainty: Certainty,
    as_of: _dt.date,
) -> tuple[str, _dt.date | None, bool]:
    """(status, suspended_until, possibly) after a suspension that counts on `as_of`.

    Definite and not yet over: `suspended`. Over (`until` <= as_of): the rule applies again,
    with the status its `effective` date gives. Possible (its interval straddles the day): the
    status is unchanged and the item becomes `possible`, as with a possible rescission.
    """
    if event.until is not None and event.until <= as_of:
        return rule_status(effective_on, as_of), None, False
    if certainty == "possible":
        return status, None, True
    return "suspended", event.until, False


def suspend_rule(
    state: EntityState, event: RuleSuspended, certainty: Certainty, event_id: str
) -> EntityState:
    """A suspension of rule `event.entity`: in the rule's own state and in every company's
    `rules` item of that rule. Of a rule not (or no longer) in force: nothing."""
    own = state.rule_state
    if event.entity == state.entity and own is not None and own.status != "rescinded":
        status, until, possibly = _suspension(
            own.status, own.effective, event, certainty, state.as_of
        )
        own = msgspec.structs.replace(
            own,
            status=status,  # type: ignore[arg-type]
            suspended_until=until,
            certainty="possible" if possibly else own.certainty,
            event_ids=(*own.event_ids, event_id),
        )
        state = msgspec.structs.replace(state, rule_state=own)
    current = find_item(state.rules, (event.entity,))
    if current is None:
        return state
    status, until, possibly = _suspension(
        current.status, current.effective, event, certainty, state.as_of
    )
    item = msgspec.structs.replace(
        current,
        status=status,  # type: ignore[arg-type]
        suspended_until=until,
        certainty="possible" if possibly else current.certainty,
        event_ids=(*current.event_ids, event_id),
    )
    return msgspec.structs.replace(state, rules=put_item(state.rules, item))


def add_guidance(
    items: Sequence[GuidanceNaming],
    event: GuidanceIssued,
    since: str,
    certainty: Certainty,
    event_id: str,
) -> tuple[GuidanceNaming, ...]:
    def make(current: GuidanceNaming | None) -> GuidanceNaming:
        return GuidanceNaming(
            guidance=event.entity,
            title=dict(sorted(event.title.items())),
            authority=event.authority,
            since=since if current is None else earliest(current.since, since),
            certainty=certainty if current is None else stronger(current.certainty, certainty),
            event_ids=(event_id,) if current is None else (*current.event_ids, event_id),
        )

    return merge_item(items, (event.entity,), make)


def add_license_requirement(
    items: Sequence[LicenseRequirement],
    event: LicenseRequirementImposed,
    since: str,
    certainty: Certainty,
    event_id: str,
) -> tuple[LicenseRequirement, ...]:
    def make(current: LicenseRequirement | None) -> LicenseRequirement:
        if current is None:
            return LicenseRequirement(
                items=event.items,
                authority=event.authority,
                destinations=tuple(event.destinations),
                rule=event.rule,
                license_policy=event.license_policy,
                since=since,
                certainty=certainty,
                event_ids=(event_id,),
            )
        return LicenseRequirement(
            items=event.items,
            authority=event.authority,
            destinations=tuple(event.destinations) or current.destinations,
            rule=event.rule if event.rule is not None else current.rule,
            license_policy=(
                event.license_policy if event.license_policy is not None else current.license_policy
            ),
            since=earliest(current.since, since),
            certainty=stronger(current.certainty, certainty),
            event_ids=(*current.event_ids, event_id),
        )

    return merge_item(items, (event.items,), make)
