"""The seed's sources are citations a compliance reader can rely on (pure: no database).

Rules, decided from the data itself (`service.ingest.seed.load_seed_records`, the app's loader):

1. No source is a mirror. A host on `MIRROR_HOSTS` (or under it), or any host with a `stage.`
   label, is refused: copies of the Federal Register or of news stories (docslib, CloudFront,
   AI Analytics, FR Tracker, thefederalregister.org, Justia, blogspot, republished wire copies)
   are not the document they copy.
2. No source title is only a date ("Published 2019-05-21", "2019-05-21"): a title says what the
   document is.
3. Every US rule and listing cites the Federal Register: at least one of its sources carries an
   FR citation ("84 FR 22961") in `citation` or `title`, and at least one is on a primary host
   (`federalregister.gov`, `govinfo.gov` or the agency's own site). A record is a US rule or
   listing when it is
   - an `EntityListed` / `EntityDelisted` on a list whose seed registration has country `US`;
   - a `RuleIssued` whose `authority` is a US authority (`US_AUTHORITIES`);
   - a `RuleSuspended` / `RuleRescinded` of, or the registration of, a rule entity issued by a
     US authority.
   Guidance (`GuidanceIssued`) and an agency's letter to one company
   (`LicenseRequirementImposed`) are not published in the Federal Register and are not rules.
   The records for which no FR citation could be confirmed are listed, with the reason, in
   `NO_FR_CITATION_CONFIRMED` (and `NO_PRIMARY_SOURCE`); a test keeps those lists exact, so a
   citation found later must be added to the seed and the exemption removed. An exemption that
   names a Federal Register document number ("FR Doc. 2024-06895") still links that document.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from events.types import (
    AnyEvent,
    EntityDelisted,
    EntityListed,
    EntityRegistered,
    RuleIssued,
    RuleRescinded,
    RuleSuspended,
    Source,
)
from service.ingest.seed import SeedRecord, load_seed_records, seed_registrations

MIRROR_HOSTS = frozenset(
    {
        "cloudfront.net",
        "ai-analytics.org",
        "docslib.org",
        "blogspot.com",
        "frtracker.app",
        "thefederalregister.org",
        "justia.com",
        "investistratix.com",
        "rapidtelecast.com",
        "goldberglawma.com",
    }
)
PRIMARY_HOSTS = frozenset(
    {
        "federalregister.gov",
        "govinfo.gov",
        "bis.doc.gov",
        "bis.gov",
        "commerce.gov",
        "defense.gov",
        "treasury.gov",
        "state.gov",
        "fcc.gov",
    }
)
US_AUTHORITIES = frozenset({"BIS", "US Department of Commerce", "US Department of Defense"})
NON_US_AUTHORITIES = frozenset(
    {
        "MOFCOM",
        "MOFCOM and the General Administration of Customs",
        "Government of the Netherlands",
        "Cyberspace Administration of China",
        "State Administration for Market Regulation",
    }
)

_FR_PAGE_NOT_CONFIRMED_2024_1260H = (
    "the DoD Section 1260H list of 2024: FR Doc. 2024-06895 (published 2024-04-02) is cited; its "
    "page citation was not confirmed"
)
NO_FR_CITATION_CONFIRMED = {
    "ymtc-dod-1260h-list-2024": _FR_PAGE_NOT_CONFIRMED_2024_1260H,
    "ymtc-dod-1260h-list-2024/amec": _FR_PAGE_NOT_CONFIRMED_2024_1260H,
    "ai-diffusion-rescission-and-ascend-guidance-2025": (
        "no Federal Register notice of the rescission was found: BIS announced it by press release "
        "on 2025-05-13, and GAO (B-337935, 2026-05-12) holds that press release to be the rule"
    ),
}
NO_PRIMARY_SOURCE: dict[str, str] = {}

FR_CITATION = re.compile(r"\b\d{1,3} FR \d{1,6}\b")
DATE_ONLY_TITLE = re.compile(
    r"^\s*(?:published|dated|issued)?\s*:?\s*\d{4}(?:-\d{2}(?:-\d{2})?)?\s*\.?\s*$",
    re.IGNORECASE,
)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _under(host: str, domains: frozenset[str]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def is_mirror(url: str) -> bool:
    """A source URL on a mirror host: a listed host or a subdomain of one, or a `stage.` host."""
    host = host_of(url)
    return _under(host, MIRROR_HOSTS) or "stage" in host.split(".")


def is_primary(url: str) -> bool:
    return _under(host_of(url), PRIMARY_HOSTS)


def is_date_only(title: str) -> bool:
    return DATE_ONLY_TITLE.match(title) is not None


def cites_federal_register(source: Source) -> bool:
    return any(FR_CITATION.search(text or "") for text in (source.citation, source.title))


def _records() -> list[SeedRecord]:
    return load_seed_records()


def _us_lists() -> set[str]:
    return {
        entity
        for entity, event in seed_registrations().items()
        if event.kind == "list" and event.country == "US"
    }


def _us_rules(records: list[SeedRecord]) -> set[str]:
    return {
        record.event.entity
        for record in records
        if isinstance(record.event, RuleIssued) and record.event.authority in US_AUTHORITIES
    }


def _is_us_rule_or_listing(event: AnyEvent, us_lists: set[str], us_rules: set[str]) -> bool:
    if isinstance(event, EntityListed | EntityDelisted):
        return event.list in us_lists
    if isinstance(event, RuleIssued):
        return event.authority in US_AUTHORITIES
    if isinstance(event, RuleSuspended | RuleRescinded):
        return event.entity in us_rules
    if isinstance(event, EntityRegistered):
        return event.kind == "rule" and event.entity in us_rules
    return False


def us_rules_and_listings() -> list[SeedRecord]:
    records = _records()
    us_lists, us_rules = _us_lists(), _us_rules(records)
    return [r for r in records if _is_us_rule_or_listing(r.event, us_lists, us_rules)]


# --- the classifiers ---------------------------------------------------------------------------


def test_the_mirrors_that_were_reported_are_refused() -> None:
    reported = [
        "https://d1tvxue8o4w0fl.cloudfront.net/federal-register/additions-and-revisions",
        "https://api.ai-analytics.org/commerce-rule/2020-10856.md",
        "https://docslib.org/doc/1045573/federal-register-vol-84-no-162",
        "https://kriliny.blogspot.com/2019/09/ymtc-starts-volume-production-of-64.html",
        "http://stage.exportcompliancedaily.com/article/2022/12/16/bis-adds",
    ]
    assert all(is_mirror(url) for url in reported)
    assert not any(
        is_mirror(url)
        for url in (
            "https://www.federalregister.gov/d/2019-17921",
            "https://www.govinfo.gov/link/fr/84/22961",
            "https://exportcompliancedaily.com/article/2025/08/29/bis-to-revoke-veu-status",
            "https://www.bis.doc.gov/index.php/policy-guidance/lists-of-parties-of-concern",
        )
    )


@given(
    st.sampled_from(sorted(MIRROR_HOSTS)),
    st.lists(st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True), max_size=3),
    st.from_regex(r"[a-z0-9/._-]{0,40}", fullmatch=True),
)
def test_any_subdomain_of_a_mirror_host_is_refused(host: str, labels: list[str], path: str) -> None:
    assert is_mirror(f"https://{'.'.join([*labels, host])}/{path}")


@given(st.from_regex(r"[a-z][a-z0-9-]{0,20}\.(com|org|gov|net)", fullmatch=True))
def test_any_stage_host_is_refused_and_its_production_host_is_not(domain: str) -> None:
    assert is_mirror(f"http://stage.{domain}/article")
    if not _under(domain, MIRROR_HOSTS):
        assert not is_mirror(f"https://www.{domain}/article")


@given(st.dates(), st.sampled_from(["", "Published ", "published: ", "Dated ", "Issued "]))
def test_a_title_that_is_only_a_date_is_refused(day: object, prefix: str) -> None:
    assert is_date_only(f"{prefix}{day}")
    assert not is_date_only(f"FR Doc. 2019-17921: Addition of Certain Entities ({prefix}{day})")


@given(st.integers(1, 999), st.integers(1, 999_999))
def test_an_fr_citation_is_found_in_the_citation_or_the_title(volume: int, page: int) -> None:
    cite = f"{volume} FR {page}"
    url = "https://www.govinfo.gov/link/fr/1/1"
    assert cites_federal_register(Source(url=url, citation=cite))
    assert cites_federal_register(Source(url=url, title=f"Federal Register {cite}: a rule"))
    assert not cites_federal_register(Source(url=url, title=f"FR Doc. {volume}-{page}"))


# --- the seed --------------------------------------------------------------------------------


def test_no_seed_source_is_on_a_mirror_host() -> None:
    mirrored = [
        (record.key, source.url)
        for record in _records()
        for source in record.event.sources
        if is_mirror(source.url)
    ]
    assert mirrored == []


def test_no_seed_source_title_is_only_a_date() -> None:
    dated = [
        (record.key, source.title)
        for record in _records()
        for source in record.event.sources
        if source.title is not None and is_date_only(source.title)
    ]
    assert dated == []


def test_every_authority_in_the_seed_is_known_as_us_or_not() -> None:
    authorities = {
        authority
        for record in _records()
        if (authority := getattr(record.event, "authority", None)) is not None
    }
    assert authorities <= US_AUTHORITIES | NON_US_AUTHORITIES


def test_the_us_rules_and_listings_are_the_ones_a_reader_expects() -> None:
    keys = {record.key for record in us_rules_and_listings()}
    # Listings on BIS and DoD lists, BIS rules, their registrations, the Affiliates rule's
    # suspension; not China's or the Netherlands' rules, not BIS guidance or the H20 letter.
    assert {
        "huawei-entity-list-2019",
        "ymtc-unverified-list-2022",
        "ymtc-entity-list-2022/unverified-list-removal",
        "zte-denial-order-terminated-2018",
        "ymtc-dod-1260h-list-2024",
        "huawei-fdp-rule-2020-05",
        "entity:us-bis-2025-09-affiliates-rule",
        "bis-affiliates-rule-suspended-2025",
    } <= keys
    assert keys.isdisjoint(
        {
            "china-gallium-germanium-controls-2023",
            "netherlands-sme-controls-2023",
            "techinsights-unreliable-entity-list-2025",
            "nvidia-h20-license-requirement-2025",
            "ai-diffusion-rescission-and-ascend-guidance-2025/guidance",
            "entity:us-bis-2025-05-ascend-guidance",
            "entity:us-entity-list",
        }
    )


def test_every_us_rule_and_listing_cites_the_federal_register() -> None:
    missing = {
        record.key
        for record in us_rules_and_listings()
        if not any(cites_federal_register(source) for source in record.event.sources)
    }
    assert missing == set(NO_FR_CITATION_CONFIRMED)


def test_every_us_rule_and_listing_has_a_primary_source() -> None:
    missing = {
        record.key
        for record in us_rules_and_listings()
        if not any(is_primary(source.url) for source in record.event.sources)
    }
    assert missing == set(NO_PRIMARY_SOURCE)


def test_a_federal_register_document_link_names_its_document_in_the_title() -> None:
    """A federalregister.gov/d/DOCNUM link states that document number in its title."""
    unnamed = [
        (record.key, source.url)
        for record in _records()
        for source in record.event.sources
        if host_of(source.url).endswith("federalregister.gov")
        and (number := urlsplit(source.url).path.rstrip("/").split("/")[-1])
        and f"FR Doc. {number}" not in (source.title or "")
    ]
    assert unnamed == []


FR_DOC_NUMBER = re.compile(r"FR Doc\. (\d{4}-\d{5})")


def federal_register_documents_linked(sources: tuple[Source, ...]) -> set[str]:
    """The document numbers of the federalregister.gov `/d/NUMBER` links among the sources."""
    return {
        urlsplit(source.url).path.rstrip("/").split("/")[-1]
        for source in sources
        if host_of(source.url).endswith("federalregister.gov")
    }


@given(st.integers(1994, 2099), st.integers(0, 99_999))
def test_the_document_number_of_a_federal_register_link_is_read_from_its_path(
    year: int, serial: int
) -> None:
    number = f"{year}-{serial:05d}"
    linked = Source(url=f"https://www.federalregister.gov/d/{number}", title=f"FR Doc. {number}")
    other = Source(url=f"https://www.govinfo.gov/link/fr/89/{serial}", title=f"FR Doc. {number}")
    assert federal_register_documents_linked((linked, other)) == {number}
    assert federal_register_documents_linked((other,)) == set()


def test_an_exemption_naming_a_federal_register_document_links_that_document() -> None:
    records = {record.key: record for record in _records()}
    unlinked = {
        key: number
        for key, reason in NO_FR_CITATION_CONFIRMED.items()
        for number in FR_DOC_NUMBER.findall(reason)
        if number not in federal_register_documents_linked(records[key].event.sources)
    }
    assert unlinked == {}
