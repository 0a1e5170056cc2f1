"""`timeline verify`: an export checked with no database. Each kind of tampering in its own test.

The logs here are built in Python exactly as the store records them (canonical payloads,
positions, recorded_at, the hash chain), written with the export's own line encoder.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import msgspec
import pytest

from events import GENESIS_HASH, AnyEvent, RecordedEvent, canonical, chain_hash, type_name, with_id
from projections.audit import export_format, merkle, signing
from projections.audit.export_format import VerifyFault, encode_line, read_export
from projections.audit.verify import verify
from service.cli import audit as cli_audit
from tests.support.builders import listed, registered

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
N = 12


def recorded_log(events: list[AnyEvent], *, start: int = 1) -> list[RecordedEvent]:
    """Events as the store would record them, positions from `start`."""
    out: list[RecordedEvent] = []
    prev = GENESIS_HASH
    for position, event in enumerate(events, start=start):
        if event.id is None:
            event = with_id(event, uuid.UUID(int=position))
        payload = canonical(event)
        at = T0 + dt.timedelta(seconds=position // 3)  # batches share a recorded_at
        version = type(event).schema_version
        digest = chain_hash(
            prev, payload=payload, position=position, recorded_at=at, schema_version=version
        )
        out.append(
            RecordedEvent(
                position=position,
                type=type_name(event),
                entity=event.entity,
                recorded_at=at,
                schema_version=version,
                prev_hash=prev,
                hash=digest,
                payload=payload,
            )
        )
        prev = digest
    return out


def sample_events(n: int = N) -> list[AnyEvent]:
    events: list[AnyEvent] = [registered("us-entity-list", "list"), registered("ymtc")]
    events += [listed("ymtc", f"2022-{1 + i % 12:02d}") for i in range(n - 2)]
    return events


def lines_of(log: list[RecordedEvent]) -> list[bytes]:
    return [encode_line(r) for r in log]


def rechain(lines: list[bytes]) -> list[bytes]:
    """What a careful forger does after editing: renumber and recompute every hash."""
    out, prev = [], GENESIS_HASH
    for position, line in enumerate(lines, start=1):
        doc = export_format._line_decoder.decode(line)
        payload = bytes(doc.event)
        digest = chain_hash(
            prev,
            payload=payload,
            position=position,
            recorded_at=doc.recorded_at,
            schema_version=doc.schema_version,
        )
        out.append(
            encode_line(
                RecordedEvent(
                    position=position,
                    type=doc.type,
                    entity=doc.entity,
                    recorded_at=doc.recorded_at,
                    schema_version=doc.schema_version,
                    prev_hash=prev,
                    hash=digest,
                    payload=payload,
                )
            )
        )
        prev = digest
    return out


@pytest.fixture(scope="module")
def key() -> signing.Ed25519PrivateKey:
    return signing.generate_private_key()


@pytest.fixture(scope="module")
def log() -> list[RecordedEvent]:
    return recorded_log(sample_events())


def head_for(key: signing.Ed25519PrivateKey, log: list[RecordedEvent]) -> signing.SignedHead:
    root = merkle.root([merkle.leaf_of(r) for r in log])
    return signing.sign_head(key, len(log), root, T0 + dt.timedelta(hours=1))


def fault_of(lines: list[bytes], **kwargs: object) -> VerifyFault:
    with pytest.raises(VerifyFault) as caught:
        verify(lines, **kwargs)  # type: ignore[arg-type]
    return caught.value


def edit(line: bytes, old: bytes, new: bytes) -> bytes:
    assert old in line
    return line.replace(old, new, 1)


# --------------------------------------------------------------------------- intact


def test_an_intact_export_verifies(key: signing.Ed25519PrivateKey, log: list[RecordedEvent]):
    head = head_for(key, log)
    report = verify(lines_of(log), head=head, key=key.public_key())
    assert report.events == N
    assert report.root == head.root
    assert report.last_hash == log[-1].hash
    assert report.head_size == N and report.signature_checked


def test_lines_round_trip_exactly(log: list[RecordedEvent]) -> None:
    assert list(read_export(lines_of(log))) == log
    first = json.loads(lines_of(log)[0])
    assert list(first) == [
        "position",
        "recorded_at",
        "schema_version",
        "type",
        "entity",
        "prev_hash",
        "hash",
        "event",
    ]
    assert first["recorded_at"] == "2024-05-01T12:00:00.000000Z"
    # The payload is embedded as the stored bytes, not re-encoded.
    assert log[0].payload in lines_of(log)[0]


def test_a_longer_export_than_the_head_verifies_its_prefix(
    key: signing.Ed25519PrivateKey, log: list[RecordedEvent]
) -> None:
    head = head_for(key, log[:7])
    report = verify(lines_of(log), head=head, key=key.public_key())
    assert (report.events, report.head_size) == (N, 7)


def test_an_empty_log_against_an_empty_head(key: signing.Ed25519PrivateKey) -> None:
    head = signing.sign_head(key, 0, merkle.EMPTY_ROOT, T0)
    report = verify([], head=head, key=key.public_key())
    assert (report.events, report.root) == (0, merkle.EMPTY_ROOT)


# --------------------------------------------------------------------------- tampering


def test_an_edited_event_is_found(log: list[RecordedEvent]) -> None:
    lines = lines_of(log)
    lines[4] = edit(lines[4], b'"authority":"BIS"', b'"authority":"OFAC"')
    fault = fault_of(lines)
    assert fault.position == 5
    assert "hash does not match" in str(fault)


def test_an_edited_event_with_a_forged_chain_is_found_by_the_head(
    key: signing.Ed25519PrivateKey, log: list[RecordedEvent]
) -> None:
    lines = lines_of(log)
    lines[4] = edit(lines[4], b'"authority":"BIS"', b'"authority":"OFAC"')
    forged = rechain(lines)
    verify(forged)  # the chain alone cannot tell
    fault = fault_of(forged, head=head_for(key, log), key=key.public_key())
    assert "differs from what was signed" in str(fault)


def test_an_edited_recorded_at_is_found(log: list[RecordedEvent]) -> None:
    lines = lines_of(log)
    lines[7] = edit(lines[7], b"12:00:02.000000Z", b"11:00:02.000000Z")
    assert fault_of(lines).position == 8


def test_an_edited_type_or_entity_beside_the_event_is_found(log: list[RecordedEvent]) -> None:
    lines = lines_of(log)
    lines[3] = edit(lines[3], b'"entity":"ymtc"', b'"entity":"huawei"')
    fault = fault_of(lines)
    assert fault.position == 4 and "entity" in fault.reason


def test_a_deleted_event_is_found(log: list[RecordedEvent]) -> None:
    lines = lines_of(log)
    del lines[5]
    fault = fault_of(lines)
    assert fault.position == 6
    assert "missing" in str(fault)


def test_a_deleted_event_with_a_forged_chain_is_found_by_the_head(
    key: signing.Ed25519PrivateKey, log: list[RecordedEvent]
) -> None:
    lines = lines_of(log)
    del lines[5]
    fault = fault_of(rechain(lines), head=head_for(key, log), key=key.public_key())
    assert fault.position == N  # one event short of the head
    assert "truncated" in str(fault)


def test_two_swapped_events_are_found(log: list[RecordedEvent]) -> None:
    lines = lines_of(log)
    lines[5], lines[6] = lines[6], lines[5]
    fault = fault_of(lines)
    assert fault.position == 6


def test_two_swapped_events_renumbered_are_found(log: list[RecordedEvent]) -> None:
    lines = lines_of(log)
    a, b = json.loads(lines[5]), json.loads(lines[6])
    a["position"], b["position"] = b["position"], a["position"]
    swapped = [*lines[:5], *(msgspec.json.encode(x) + b"\n" for x in (b, a)), *lines[7:]]
    assert fault_of(swapped).position == 6


def test_an_inserted_event_is_found(log: list[RecordedEvent]) -> None:
    lines = lines_of(log)
    extra = recorded_log(sample_events(N + 1))[N]  # a well-formed event from another log
    lines.insert(4, encode_line(msgspec.structs.replace(extra, position=5)))
    fault = fault_of(lines)
    assert fault.position == 5
    assert "prev_hash" in str(fault)


def test_an_inserted_event_with_a_forged_chain_is_found_by_the_head(
    key: signing.Ed25519PrivateKey, log: list[RecordedEvent]
) -> None:
    lines = lines_of(log)
    lines.insert(4, lines_of(recorded_log(sample_events(N + 1)))[N])
    forged = rechain(lines)
    verify(forged)
    fault = fault_of(forged, head=head_for(key, log), key=key.public_key())
    assert "differs from what was signed" in str(fault)


def test_a_truncated_tail_is_found_against_a_head(
    key: signing.Ed25519PrivateKey, log: list[RecordedEvent]
) -> None:
    lines = lines_of(log)[:-3]
    verify(lines)  # a prefix of a log is a valid log: only a head can tell
    fault = fault_of(lines, head=head_for(key, log), key=key.public_key())
    assert fault.position == N - 2
    assert "truncated" in str(fault)


def test_a_head_signed_by_another_key_is_refused(
    key: signing.Ed25519PrivateKey, log: list[RecordedEvent]
) -> None:
    other = signing.generate_private_key()
    head = head_for(other, log)
    fault = fault_of(lines_of(log), head=head, key=key.public_key())
    assert fault.position is None
    assert f"names key {head.key_id}" in str(fault)
    # Even one that claims the right key id.
    forged = msgspec.structs.replace(head, key_id=signing.key_id(key.public_key()))
    assert "signature is not valid" in str(
        fault_of(lines_of(log), head=forged, key=key.public_key())
    )


def test_an_altered_head_is_refused(key: signing.Ed25519PrivateKey, log: list[RecordedEvent]):
    head = msgspec.structs.replace(head_for(key, log), size=N - 1)
    assert "signature is not valid" in str(fault_of(lines_of(log), head=head, key=key.public_key()))


def test_a_malformed_line_is_named(log: list[RecordedEvent]) -> None:
    lines = lines_of(log)
    lines[2] = b'{"position": 3, "oops": true}\n'
    fault = fault_of(lines)
    assert (fault.position, fault.line) == (3, 3)
    lines = lines_of(log)
    lines.insert(3, b"\n")
    assert fault_of(lines).position == 4


# --------------------------------------------------------------------------- the command


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def test_the_command(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: signing.Ed25519PrivateKey,
    log: list[RecordedEvent],
) -> None:
    good = write(tmp_path / "log.ndjson", b"".join(lines_of(log)))
    head = write(tmp_path / "head.json", signing.encode_head(head_for(key, log)))
    info = write(tmp_path / "key.json", msgspec.json.encode(signing.key_info(key.public_key())))
    pem = write(tmp_path / "key.pem", signing.public_key_pem(key.public_key()))
    for key_file in (info, pem):
        assert cli_audit.main(["verify", good, "--head", head, "--key", key_file, "--quiet"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["ok"] and summary["events"] == N and summary["signature_checked"]
        assert summary["root_hash"] == head_for(key, log).root_hash

    bad_lines = lines_of(log)
    del bad_lines[8]
    bad = write(tmp_path / "bad.ndjson", b"".join(bad_lines))
    assert cli_audit.main(["verify", bad, "--quiet"]) == 1
    assert "FAULT at position 9" in capsys.readouterr().err

    short = write(tmp_path / "short.ndjson", b"".join(lines_of(log)[:-1]))
    assert cli_audit.main(["verify", short, "--head", head, "--key", pem, "--quiet"]) == 1
    assert f"FAULT at position {N}" in capsys.readouterr().err

    other = signing.generate_private_key()
    other_pem = write(tmp_path / "other.pem", signing.public_key_pem(other.public_key()))
    assert cli_audit.main(["verify", good, "--head", head, "--key", other_pem, "--quiet"]) == 1
    assert "names key" in capsys.readouterr().err

    assert cli_audit.main(["verify", str(tmp_path / "missing.ndjson")]) == 2
    assert cli_audit.main(["verify", good, "--head", good]) == 2  # not a head
