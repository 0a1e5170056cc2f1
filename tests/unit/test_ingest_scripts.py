"""Writing systems of names: from the Unicode names of their letters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.ingest.scripts import writing_systems


@pytest.mark.parametrize(
    ("text", "scripts"),
    [
        ("ERIC BADEGE", ("Latin",)),
        ("Aslan Byutukaev (original script: Аслан Бютукаев)", ("Cyrillic", "Latin")),
        ("حاجى مالك نورزى (Hajji Malik Noorzai)", ("Arabic", "Latin")),
        ("朝鲜联合机械贸易会社", ("Han",)),
        ("조선광업개발무역회사", ("Hangul",)),
        ("ＡＢＣ", ("Latin",)),  # fullwidth letters are Latin
        ("Hay’at Tahrir al-Sham", ("Latin",)),
        ("Nº 12 ʼ", ("Latin",)),  # ordinal indicator and modifier letters: no script
        ("12-34 / ()", ()),
        ("", ()),
    ],
)
def test_scripts_of_names_from_the_list(text: str, scripts: tuple[str, ...]) -> None:
    assert writing_systems(text) == scripts


@given(text=st.text())
def test_scripts_are_sorted_named_and_unaffected_by_non_letters(text: str) -> None:
    scripts = writing_systems(text)
    assert list(scripts) == sorted(set(scripts))
    assert all(name and name[0].isupper() and " " not in name for name in scripts)
    assert writing_systems(text + " 0123-/.()") == scripts
    assert writing_systems(text + "abc") == tuple(sorted({*scripts, "Latin"}))


@given(text=st.text(st.characters(max_codepoint=127)) | st.text())
def test_a_letter_of_another_script_adds_that_script_and_nothing_else(text: str) -> None:
    # ASCII names take a short way; with a Cyrillic letter the same name takes the long one.
    assert writing_systems(text + "Ж") == tuple(sorted({*writing_systems(text), "Cyrillic"}))
