"""Headlines written from an event's type and fields, in `en`, `zh-Hans` and `zh-Hant`.

`headline(event, lang, names)` returns the event's own headline in `lang` when it has one, and
otherwise writes one: "YMTC added to the US Entity List" / "长江存储被列入美国实体清单" /
"長江存儲被列入美國實體清單". Entity names come from `names` ({entity id: {lang: name}}) in the
asked language, falling back to the other Chinese script, then English, then the entity id.
Localised field texts (a rule's `title`) fall back in the same order. Pure: no I/O.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping

from events.types import (
    LANGS,
    EntityDelisted,
    EntityListed,
    EntityRegistered,
    EntityRenamed,
    Event,
    EventRetracted,
    ExitAnnounced,
    FinancialImpactDisclosed,
    GuidanceIssued,
    Impact,
    LicenseRequirementImposed,
    OwnershipChanged,
    ProductAnalyzed,
    ProductLaunched,
    ProductMassProduced,
    RegulatoryReviewConcluded,
    RegulatoryReviewOpened,
    RuleIssued,
    RuleRescinded,
    RuleSuspended,
    SupplyHalted,
)

Names = Mapping[str, Mapping[str, str]]

EN, HANS, HANT = "en", "zh-Hans", "zh-Hant"


def fallback_order(lang: str) -> tuple[str, ...]:
    """The languages to try for `lang`: itself, the other Chinese script, then English."""
    if lang == HANS:
        return (HANS, HANT, EN)
    if lang == HANT:
        return (HANT, HANS, EN)
    return (lang, EN) if lang != EN else (EN,)


def localized(texts: Mapping[str, str], lang: str) -> str | None:
    """The text in `lang`, or in the first fallback language that has one; None if none."""
    for candidate in fallback_order(lang):
        text = texts.get(candidate)
        if text:
            return text
    return None


def name_of(entity: str, lang: str, names: Names) -> str:
    """An entity's name in `lang` (with the fallback order), else its id."""
    return localized(names.get(entity, {}), lang) or entity


def _pick(lang: str, en: str, hans: str, hant: str) -> str:
    return hans if lang == HANS else hant if lang == HANT else en


# --- words ---------------------------------------------------------------------------------

_KINDS = {
    "company": ("a company", "企业", "企業"),
    "government": ("a government body", "政府机构", "政府機構"),
    "list": ("a list", "清单", "清單"),
    "rule": ("a rule", "规则", "規則"),
    "person": ("a person", "个人", "個人"),
    "other": ("an entity", "实体", "實體"),
}

_REVIEWS = {
    "cybersecurity": ("cybersecurity review", "网络安全审查", "網路安全審查"),
    "antitrust": ("antitrust investigation", "反垄断调查", "反壟斷調查"),
    "merger": ("merger review", "经营者集中审查", "經營者集中審查"),
    "national_security": ("national security review", "国家安全审查", "國家安全審查"),
    "other": ("regulatory review", "监管审查", "監管審查"),
}

_MEASURES = {
    "charge": ("charge", "费用", "費用"),
    "lost_revenue": ("lost revenue", "收入损失", "收入損失"),
    "revenue": ("revenue", "收入", "收入"),
    "profit": ("profit", "利润", "利潤"),
    "other": ("financial impact", "财务影响", "財務影響"),
}

_QUALIFIERS = {
    "exact": ("", "", ""),
    "approximately": ("about ", "约", "約"),
    "up_to": ("up to ", "最多", "最多"),
    "at_least": ("at least ", "至少", "至少"),
}

_COUNTRIES = {
    "CN": ("China", "中国", "中國"),
    "HK": ("Hong Kong", "香港", "香港"),
    "MO": ("Macau", "澳门", "澳門"),
    "TW": ("Taiwan", "台湾", "台灣"),
    "US": ("the United States", "美国", "美國"),
    "NL": ("the Netherlands", "荷兰", "荷蘭"),
    "JP": ("Japan", "日本", "日本"),
    "KR": ("South Korea", "韩国", "韓國"),
    "DE": ("Germany", "德国", "德國"),
    "SG": ("Singapore", "新加坡", "新加坡"),
    "RU": ("Russia", "俄罗斯", "俄羅斯"),
    "EU": ("the EU", "欧盟", "歐盟"),
}

_CURRENCIES = {
    "USD": ("US$", "美元", "美元"),
    "CNY": ("CN¥", "元人民币", "元人民幣"),
    "EUR": ("€", "欧元", "歐元"),
    "JPY": ("¥", "日元", "日圓"),
    "KRW": ("₩", "韩元", "韓元"),
    "TWD": ("NT$", "新台币", "新台幣"),
}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _word(table: Mapping[str, tuple[str, str, str]], key: str, lang: str) -> str:
    words = table.get(key)
    if words is None:
        return key
    return _pick(lang, *words)


def region_name(region: str, lang: str) -> str:
    """An ISO 3166-1 code (or `EU`) as a country name; any other text as it is."""
    return _word(_COUNTRIES, region, lang)


def format_date(day: _dt.date, lang: str) -> str:
    """`10 Nov 2026` in English, `2026年11月10日` in Chinese."""
    if lang in (HANS, HANT):
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def format_amount(impact: Impact, lang: str) -> str:
    """`US$4.5 billion` in English; `45亿美元` / `45億美元` in Chinese."""
    amount = float(impact.amount)
    symbol = _CURRENCIES.get(impact.currency)
    if lang in (HANS, HANT):
        if abs(amount) >= 1e8:
            figure = _number(amount / 1e8) + ("亿" if lang == HANS else "億")
        elif abs(amount) >= 1e4:
            figure = _number(amount / 1e4) + ("万" if lang == HANS else "萬")
        else:
            figure = _number(amount)
        unit = _pick(lang, *symbol) if symbol else f" {impact.currency}"
        return figure + unit
    if abs(amount) >= 1e9:
        figure = _number(amount / 1e9) + " billion"
    elif abs(amount) >= 1e6:
        figure = _number(amount / 1e6) + " million"
    else:
        figure = f"{amount:,.2f}".rstrip("0").rstrip(".")
    return f"{symbol[0]}{figure}" if symbol else f"{impact.currency} {figure}"


def _the(name: str) -> str:
    """English article before a list's name: 'the US Entity List'."""
    return name if name.lower().startswith("the ") else f"the {name}"


def _join(items: list[str], lang: str) -> str:
    if lang in (HANS, HANT):
        return "、".join(items)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --- the headline ---------------------------------------------------------------------------


def headline(event: Event, lang: str, names: Names) -> str:
    """The event's headline in `lang`: its own, or one written from its type and fields."""
    own = event.headline.get(lang)  # type: ignore[call-overload]
    if own:
        return own
    return generated_headline(event, lang, names)


def headlines(event: Event, names: Names) -> dict[str, str]:
    """The headline in every supported language."""
    return {lang: headline(event, lang, names) for lang in LANGS}


def generated_headline(event: Event, lang: str, names: Names) -> str:
    """A headline written from the event's type and fields only (its own is ignored)."""
    if lang not in LANGS:
        lang = EN

    def n(entity: str) -> str:
        return name_of(entity, lang, names)

    subject = n(event.entity)
    match event:
        case EntityRegistered():
            kind = _word(_KINDS, event.kind, lang)
            own = localized(event.names, lang) or subject
            return _pick(
                lang, f"{own} registered as {kind}", f"{own}登记为{kind}", f"{own}登記為{kind}"
            )
        case EntityListed():
            on = n(event.list)
            return _pick(
                lang,
                f"{subject} added to {_the(on)}",
                f"{subject}被列入{on}",
                f"{subject}被列入{on}",
            )
        case EntityDelisted():
            on = n(event.list)
            return _pick(
                lang,
                f"{subject} removed from {_the(on)}",
                f"{subject}被移出{on}",
                f"{subject}被移出{on}",
            )
        case RuleIssued():
            title = localized(event.title, lang) or subject
            text = _pick(lang, f"Rule issued: {title}", f"规则发布：{title}", f"規則發布：{title}")
            if event.effective is not None and event.effective != event.occurred.start:
                when = format_date(event.effective, lang)
                text += _pick(lang, f" (effective {when})", f"（{when}生效）", f"（{when}生效）")
            return text
        case RuleRescinded():
            return _pick(lang, f"{subject} rescinded", f"{subject}被撤销", f"{subject}被撤銷")
        case RuleSuspended():
            if event.until is None:
                return _pick(
                    lang, f"{subject} suspended", f"{subject}暂停实施", f"{subject}暫停實施"
                )
            when = format_date(event.until, lang)
            return _pick(
                lang,
                f"{subject} suspended until {when}",
                f"{subject}暂停实施（{when}起恢复）",
                f"{subject}暫停實施（{when}起恢復）",
            )
        case ProductMassProduced():
            return _pick(
                lang,
                f"{subject} begins mass production of {event.product}",
                f"{subject}量产{event.product}",
                f"{subject}量產{event.product}",
            )
        case ProductLaunched():
            return _pick(
                lang,
                f"{subject} launches {event.product}",
                f"{subject}发布{event.product}",
                f"{subject}發表{event.product}",
            )
        case ProductAnalyzed():
            analyst = n(event.analyst) if event.analyst else None
            if lang == EN:
                text = f"{analyst} analysis" if analyst else "Analysis"
                text += f" of {subject}'s {event.product}"
                if event.manufacturer:
                    text += f": made by {n(event.manufacturer)}"
                return text
            text = f"{analyst}分析" if analyst else "分析："
            text += f"{subject}{event.product}"
            if event.manufacturer:
                made = "制造" if lang == HANS else "製造"
                text += f"：由{n(event.manufacturer)}{made}"
            return text
        case ExitAnnounced():
            region = region_name(event.region, lang)
            text = _pick(
                lang,
                f"{subject} announces exit from {event.market} in {region}",
                f"{subject}宣布退出{region}{event.market}市场",
                f"{subject}宣布退出{region}{event.market}市場",
            )
            if event.impact is not None:
                amount = format_amount(event.impact, lang)
                text += _pick(lang, f" ({amount})", f"（{amount}）", f"（{amount}）")
            return text
        case SupplyHalted():
            customer = n(event.customer)
            text = _pick(
                lang,
                f"{subject} halts supplies to {customer}",
                f"{subject}停止向{customer}供货",
                f"{subject}停止向{customer}供貨",
            )
            if event.effective is not None and event.effective != event.occurred.start:
                when = format_date(event.effective, lang)
                text += _pick(lang, f" from {when}", f"（{when}起）", f"（{when}起）")
            return text
        case LicenseRequirementImposed():
            text = _pick(
                lang,
                f"{subject}: export license now required for {event.items}",
                f"{subject}：{event.items}出口须申请许可证",
                f"{subject}：{event.items}出口須申請許可證",
            )
            if event.destinations:
                places = _join([region_name(d, lang) for d in event.destinations], lang)
                text += _pick(
                    lang, f" (to {places})", f"（目的地：{places}）", f"（目的地：{places}）"
                )
            return text
        case RegulatoryReviewOpened():
            regulator = n(event.regulator) if event.regulator else event.authority
            review = _word(_REVIEWS, event.review, lang)
            return _pick(
                lang,
                f"{regulator} opens {review} of {subject}",
                f"{regulator}对{subject}展开{review}",
                f"{regulator}對{subject}展開{review}",
            )
        case RegulatoryReviewConcluded():
            regulator = n(event.regulator) if event.regulator else event.authority
            review = _word(_REVIEWS, event.review, lang)
            match event.outcome:
                case "failed":
                    return _pick(
                        lang,
                        f"{subject} fails {regulator} {review}",
                        f"{subject}未通过{regulator}{review}",
                        f"{subject}未通過{regulator}{review}",
                    )
                case "cleared":
                    return _pick(
                        lang,
                        f"{subject} cleared in {regulator} {review}",
                        f"{subject}通过{regulator}{review}",
                        f"{subject}通過{regulator}{review}",
                    )
                case "violation_found":
                    return _pick(
                        lang,
                        f"{regulator} finds {subject} broke the law ({review})",
                        f"{regulator}认定{subject}违法（{review}）",
                        f"{regulator}認定{subject}違法（{review}）",
                    )
                case "preliminary_violation_found":
                    return _pick(
                        lang,
                        f"{regulator}: preliminary finding that {subject} broke the law ({review})",
                        f"{regulator}初步认定{subject}违法（{review}）",
                        f"{regulator}初步認定{subject}違法（{review}）",
                    )
                case "conditions_imposed":
                    return _pick(
                        lang,
                        f"{regulator} imposes conditions on {subject} ({review})",
                        f"{regulator}对{subject}附加限制性条件（{review}）",
                        f"{regulator}對{subject}附加限制性條件（{review}）",
                    )
            return _pick(
                lang,
                f"{regulator} concludes {review} of {subject}",
                f"{regulator}结束对{subject}的{review}",
                f"{regulator}結束對{subject}的{review}",
            )
        case FinancialImpactDisclosed():
            amount = format_amount(event.amount, lang)
            measure = _word(_MEASURES, event.measure, lang)
            qualifier = _word(_QUALIFIERS, event.qualifier, lang)
            if lang == EN:
                verb = "expects" if event.estimate else "reports"
                text = f"{subject} {verb} {qualifier}{amount} {measure}"
                return text + (f" ({event.period})" if event.period else "")
            verb = (
                _pick(lang, "", "预计", "預計")
                if event.estimate
                else _pick(lang, "", "披露", "披露")
            )
            text = f"{subject}{verb}{measure}{qualifier}{amount}"
            return text + (f"（{event.period}）" if event.period else "")
        case GuidanceIssued():
            title = localized(event.title, lang) or subject
            return _pick(
                lang, f"Guidance issued: {title}", f"发布指引：{title}", f"發布指引：{title}"
            )
        case EntityRenamed():
            new = localized(event.names, lang) or subject
            return _pick(
                lang, f"{subject} renamed {new}", f"{subject}更名为{new}", f"{subject}更名為{new}"
            )
        case OwnershipChanged():
            owner = n(event.owner)
            if event.ended:
                return _pick(
                    lang,
                    f"{owner} no longer holds {subject}",
                    f"{owner}不再持有{subject}股份",
                    f"{owner}不再持有{subject}股份",
                )
            if event.share is None:
                return _pick(
                    lang,
                    f"{owner} becomes an owner of {subject}",
                    f"{owner}成为{subject}股东",
                    f"{owner}成為{subject}股東",
                )
            share = _number(event.share)
            return _pick(
                lang,
                f"{owner} holds {share}% of {subject}",
                f"{owner}持有{subject}{share}%股份",
                f"{owner}持有{subject}{share}%股份",
            )
        case EventRetracted():
            return _pick(
                lang,
                f"Correction: an earlier record about {subject} is withdrawn",
                f"更正：撤回有关{subject}的先前记录",
                f"更正：撤回有關{subject}的先前記錄",
            )
    return subject  # pragma: no cover - every type is handled above


# --- headlines in the story: names as of the event's date, notes on listings ----------------


def then_and_now(then: Mapping[str, str], now: Mapping[str, str]) -> dict[str, str]:
    """An entity's name as it was called then, with its current name alongside where they
    differ: "Fujian Jinhua (now JHICC)" / "福建晋华（现名…）" / "福建晉華（現名…）"."""
    out: dict[str, str] = {}
    for lang in LANGS:
        old = localized(then, lang)
        new = localized(now, lang)
        if old and new and old != new:
            out[lang] = _pick(
                lang, f"{old} (now {new})", f"{old}（现名{new}）", f"{old}（現名{new}）"
            )
        elif old or new:
            out[lang] = old or new  # type: ignore[assignment]
    return out


def headline_at(
    event: Event,
    lang: str,
    names: Names,
    then: Names | None = None,
    note: str | None = None,
) -> str:
    """The event's headline in `lang` as its timeline tells it: its own, or one written with
    entities named as they were called on the event's date (`then`; current `names` alongside
    where they differ), and with what `note` (see `projections.present.story`) says of it: a
    delisting that ended nothing is never told as a removal."""
    own = event.headline.get(lang)  # type: ignore[call-overload]
    if own:
        return own
    shown: dict[str, Mapping[str, str]] = dict(names)
    for entity, old in (then or {}).items():
        shown[entity] = then_and_now(old, names.get(entity, old))
    if lang not in LANGS:
        lang = EN
    subject = name_of(event.entity, lang, shown)
    match event:
        case EntityRenamed():
            old = name_of(event.entity, lang, then or names)
            new = localized(event.names, lang) or subject
            return _pick(lang, f"{old} renamed {new}", f"{old}更名为{new}", f"{old}更名為{new}")
        case EntityListed() if note == "designated_again":
            on = name_of(event.list, lang, shown)
            text = _pick(
                lang,
                f"{subject} designated again on {_the(on)}",
                f"{subject}再次被列入{on}",
                f"{subject}再次被列入{on}",
            )
            if event.program:
                text += _pick(
                    lang, f" ({event.program})", f"（{event.program}）", f"（{event.program}）"
                )
            return text
        case EntityListed() if note == "unregistered_list":
            on = name_of(event.list, lang, shown)
            return _pick(
                lang,
                f"{subject} added to {_the(on)} (a list not registered as of then)",
                f"{subject}被列入{on}（该清单当时尚未登记）",
                f"{subject}被列入{on}（該清單當時尚未登記）",
            )
        case EntityDelisted() if note == "unmatched_delisting":
            on = name_of(event.list, lang, shown)
            return _pick(
                lang,
                f"{subject}: a delisting from {_the(on)} that matches no listing",
                f"{subject}：{on}除名记录无对应的列入记录",
                f"{subject}：{on}除名記錄無對應的列入記錄",
            )
    return generated_headline(event, lang, shown)
