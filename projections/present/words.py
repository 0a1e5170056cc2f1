"""The words of the widget and the builder, in `en`, `zh-Hans` and `zh-Hant`: one table.

`words(lang)` gives the page words; `TYPE_GROUPS` the event types as a reader names them,
grouped (sanctions and listings, rules, products, markets, money, reviews, records), with
`type_label(tag, lang)`. zh-Hant follows Taiwan usage (時間軸, 紀錄, 資料) and 「」 quotes;
zh-Hans uses mainland usage and “” quotes. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("en", "zh-Hans", "zh-Hant")

LANGUAGE_NAMES = {"en": "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文"}

REGISTRATION = "EntityRegistered"
"""The log's first record of an entity: bookkeeping, hidden from readers unless asked for."""

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        # widget
        "timeline": "Timeline",
        "events": "{n} events",
        "one_event": "1 event",
        "pinned": "As recorded by {k}",
        "latest": "Latest record",
        "sources": "Sources: ",
        "paren": " ({})",
        "none": "No events match.",
        "legend": "? marks a date known only to the month or year, or sources of less than "
        "high confidence.",
        "year": "date known only to the year",
        "month": "date known only to the month",
        "medium": "medium confidence",
        "low": "low confidence",
        "list": "Events",
        "data": "Data (JSON)",
        "sep": ", ",
        "keys": "Tab or the arrow keys move between events.",
        "in_english": "(English)",
        # builder
        "b_title": "Embed a sanctions timeline",
        "b_intro": "Pick entities, dates and event types; copy the code into your article. "
        "The widget loads nothing from any other host.",
        "b_api": "API reference",
        "b_entities": "Entities",
        "b_search": "Search by name in any language (e.g. YMTC, 长江存储, 華為)",
        "b_search_results": "Search results",
        "b_chosen": "Chosen entities",
        "b_need_one": "Choose at least one entity.",
        "b_remove": "Remove {name}",
        "b_dates": "From/To (dates of events)",
        "b_from": "From",
        "b_to": "To",
        "b_types": "Event types",
        "b_types_help": "None ticked: every kind except first records.",
        "b_display": "Display",
        "b_language": "Language",
        "b_theme": "Theme",
        "b_theme_auto": "Reader's setting",
        "b_theme_light": "Light",
        "b_theme_dark": "Dark",
        "b_layout": "Layout",
        "b_layout_none": "One timeline",
        "b_layout_entity": "A section per entity",
        "b_pin": "Pin to this moment: the embed never changes after publication",
        "b_code": "Code to paste",
        "b_iframe": "iframe code: WordPress (Custom HTML block), Ghost (HTML card), any site "
        "that accepts HTML",
        "b_copy_code": "Copy iframe code",
        "b_oembed": "oEmbed URL: for sites and tools that discover embeds from a link",
        "b_copy_oembed": "Copy oEmbed URL",
        "b_url": "Widget link: Substack and other editors that take no iframe code get a link",
        "b_copy_url": "Copy link",
        "b_copied": "Copied.",
        "b_preview": "Preview",
        "b_width": "Width",
        "b_mobile": "Phone (375 px)",
        "b_desktop": "Desktop",
        "b_preview_title": "Timeline preview",
    },
    "zh-Hans": {
        "timeline": "时间线",
        "events": "共 {n} 个事件",
        "one_event": "共 1 个事件",
        "pinned": "截至 {k} 的记录",
        "latest": "最新记录",
        "sources": "来源：",
        "paren": "（{}）",
        "none": "没有符合条件的事件。",
        "legend": "？表示日期仅精确到月或年，或来源可信度不高。",
        "year": "日期仅精确到年",
        "month": "日期仅精确到月",
        "medium": "可信度中等",
        "low": "可信度较低",
        "list": "事件",
        "data": "数据（JSON）",
        "sep": "、",
        "keys": "按 Tab 键或方向键在事件之间移动。",
        "in_english": "（英文）",
        "b_title": "嵌入制裁时间线",
        "b_intro": "选择实体、日期和事件类型，然后把代码复制到文章中。"
        "小组件不从其他网站加载任何内容。",
        "b_api": "API 参考文档",
        "b_entities": "实体",
        "b_search": "可用任何语言的名称搜索（如 YMTC、长江存储、華為）",
        "b_search_results": "搜索结果",
        "b_chosen": "已选实体",
        "b_need_one": "请至少选择一个实体。",
        "b_remove": "移除{name}",
        "b_dates": "起止日期（事件发生日期）",
        "b_from": "起",
        "b_to": "止",
        "b_types": "事件类型",
        "b_types_help": "不勾选：显示除首次记录外的所有类型。",
        "b_display": "显示",
        "b_language": "语言",
        "b_theme": "主题",
        "b_theme_auto": "跟随读者设置",
        "b_theme_light": "浅色",
        "b_theme_dark": "深色",
        "b_layout": "布局",
        "b_layout_none": "单一时间线",
        "b_layout_entity": "每个实体一栏",
        "b_pin": "固定在此刻：发布后嵌入内容不再变化",
        "b_code": "嵌入代码",
        "b_iframe": "iframe 代码：WordPress（自定义 HTML 区块）、Ghost（HTML 卡片）"
        "及任何接受 HTML 的网站",
        "b_copy_code": "复制 iframe 代码",
        "b_oembed": "oEmbed 地址：供能从链接识别嵌入内容的网站和工具使用",
        "b_copy_oembed": "复制 oEmbed 地址",
        "b_url": "小组件链接：Substack 等不接受 iframe 代码的编辑器可使用链接",
        "b_copy_url": "复制链接",
        "b_copied": "已复制。",
        "b_preview": "预览",
        "b_width": "宽度",
        "b_mobile": "手机（375 像素）",
        "b_desktop": "桌面",
        "b_preview_title": "时间线预览",
    },
    "zh-Hant": {
        "timeline": "時間軸",
        "events": "共 {n} 則事件",
        "one_event": "共 1 則事件",
        "pinned": "截至 {k} 的紀錄",
        "latest": "最新紀錄",
        "sources": "來源：",
        "paren": "（{}）",
        "none": "沒有符合條件的事件。",
        "legend": "？表示日期僅精確到月或年，或來源可信度不高。",
        "year": "日期僅精確到年",
        "month": "日期僅精確到月",
        "medium": "可信度中等",
        "low": "可信度較低",
        "list": "事件",
        "data": "資料（JSON）",
        "sep": "、",
        "keys": "按 Tab 鍵或方向鍵在事件之間移動。",
        "in_english": "（英文）",
        "b_title": "嵌入制裁時間軸",
        "b_intro": "選擇實體、日期和事件類型，再把程式碼複製到文章中。"
        "小工具不會從其他網站載入任何內容。",
        "b_api": "API 參考文件",
        "b_entities": "實體",
        "b_search": "可用任何語言的名稱搜尋（如 YMTC、長江存儲、华为）",
        "b_search_results": "搜尋結果",
        "b_chosen": "已選實體",
        "b_need_one": "請至少選擇一個實體。",
        "b_remove": "移除{name}",
        "b_dates": "起訖日期（事件發生日期）",
        "b_from": "起",
        "b_to": "訖",
        "b_types": "事件類型",
        "b_types_help": "未勾選：顯示首次紀錄以外的所有類型。",
        "b_display": "顯示",
        "b_language": "語言",
        "b_theme": "主題",
        "b_theme_auto": "依讀者設定",
        "b_theme_light": "淺色",
        "b_theme_dark": "深色",
        "b_layout": "版面",
        "b_layout_none": "單一時間軸",
        "b_layout_entity": "每個實體一欄",
        "b_pin": "固定於此刻：發布後嵌入內容不再變動",
        "b_code": "嵌入程式碼",
        "b_iframe": "iframe 程式碼：WordPress（自訂 HTML 區塊）、Ghost（HTML 卡片）"
        "及任何接受 HTML 的網站",
        "b_copy_code": "複製 iframe 程式碼",
        "b_oembed": "oEmbed 網址：供能從連結辨識嵌入內容的網站和工具使用",
        "b_copy_oembed": "複製 oEmbed 網址",
        "b_url": "小工具連結：Substack 等不接受 iframe 程式碼的編輯器可使用連結",
        "b_copy_url": "複製連結",
        "b_copied": "已複製。",
        "b_preview": "預覽",
        "b_width": "寬度",
        "b_mobile": "手機（375 像素）",
        "b_desktop": "桌機",
        "b_preview_title": "時間軸預覽",
    },
}


def words(lang: str) -> Mapping[str, str]:
    """The page words in `lang` (English for a language the pages do not speak)."""
    return _WORDS.get(lang, _WORDS["en"])


TYPE_NAMES: dict[str, tuple[str, str, str]] = {
    "EntityListed": ("Added to a sanctions list", "被列入制裁清单", "被列入制裁名單"),
    "EntityDelisted": ("Removed from a sanctions list", "被移出制裁清单", "被移出制裁名單"),
    "LicenseRequirementImposed": (
        "Export licence required",
        "须申请出口许可证",
        "須申請出口許可證",
    ),
    "RuleIssued": ("New rules", "新规则发布", "新規則發布"),
    "RuleSuspended": ("Rules suspended", "规则暂停实施", "規則暫停實施"),
    "RuleRescinded": ("Rules withdrawn", "规则撤销", "規則撤銷"),
    "GuidanceIssued": ("Official guidance", "官方指引", "官方指引"),
    "ProductLaunched": ("Product launches", "产品发布", "產品發表"),
    "ProductMassProduced": ("Mass production begins", "开始量产", "開始量產"),
    "ProductAnalyzed": ("Teardowns and analyses", "拆解与分析", "拆解與分析"),
    "ExitAnnounced": ("Market exits", "退出市场", "退出市場"),
    "SupplyHalted": ("Supplies halted", "停止供货", "停止供貨"),
    "FinancialImpactDisclosed": ("Costs and lost revenue", "成本与收入损失", "成本與營收損失"),
    "RegulatoryReviewOpened": ("Investigations opened", "展开调查或审查", "展開調查或審查"),
    "RegulatoryReviewConcluded": ("Investigation results", "调查或审查结果", "調查或審查結果"),
    "EventRetracted": ("Corrections", "更正", "更正"),
    "EntityRenamed": ("Name changes", "更名", "更名"),
    "OwnershipChanged": ("Owners and shareholdings", "股东与持股变动", "股東與持股變動"),
    REGISTRATION: ("First records of entities", "实体首次记录", "實體首次紀錄"),
}

TYPE_GROUPS: tuple[tuple[tuple[str, str, str], tuple[str, ...]], ...] = (
    (
        ("Sanctions and listings", "制裁与清单", "制裁與名單"),
        ("EntityListed", "EntityDelisted", "LicenseRequirementImposed"),
    ),
    (
        ("Rules", "规则", "規則"),
        ("RuleIssued", "RuleSuspended", "RuleRescinded", "GuidanceIssued"),
    ),
    (
        ("Products", "产品", "產品"),
        ("ProductLaunched", "ProductMassProduced", "ProductAnalyzed"),
    ),
    (("Markets and supply", "市场与供应", "市場與供應"), ("ExitAnnounced", "SupplyHalted")),
    (("Money", "财务", "財務"), ("FinancialImpactDisclosed",)),
    (("Companies", "企业", "企業"), ("EntityRenamed", "OwnershipChanged")),
    (
        ("Investigations", "调查与审查", "調查與審查"),
        ("RegulatoryReviewOpened", "RegulatoryReviewConcluded"),
    ),
    (("Records", "记录", "紀錄"), ("EventRetracted", REGISTRATION)),
)


def _pick(names: tuple[str, str, str], lang: str) -> str:
    return names[LANGUAGES.index(lang)] if lang in LANGUAGES else names[0]


def type_label(tag: str, lang: str) -> str:
    """An event type as a reader names it: "Added to a sanctions list", never the class name."""
    return _pick(TYPE_NAMES[tag], lang)


def type_groups(lang: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(group name, [(type tag, label), ...]), ...] in `lang`, in reading order."""
    return [
        (_pick(group, lang), [(t, type_label(t, lang)) for t in tags])
        for group, tags in TYPE_GROUPS
    ]
