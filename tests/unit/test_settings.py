"""Settings survive the trip through the environment to a worker process."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from service.settings import Settings

_URLS = st.none() | st.sampled_from(
    ["postgresql://owner@db:5432/timeline", "postgresql://app:secret@db/timeline?sslmode=require"]
)


@given(
    database_url=_URLS,
    migrate_database_url=_URLS,
    max_body_bytes=st.integers(1, 2**40),
    data_dir=st.none() | st.sampled_from([Path("/srv/timeline"), Path("data dir")]),
    projector=st.booleans(),
    workers=st.integers(1, 64),
)
def test_a_worker_reads_back_the_settings_it_was_given(**fields: object) -> None:
    given_settings = Settings(**fields)
    back = Settings.from_env(given_settings.to_env())
    for name, value in fields.items():
        assert getattr(back, name) == value, name


def test_unset_variables_mean_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()
