"""User-facing words: zh-CN by default, English on request."""

from __future__ import annotations

from typing import Final

DEFAULT_LANG: Final = "zh-CN"
LANGS: Final = ("zh-CN", "en")

_TEXTS: Final[dict[str, dict[str, str]]] = {
    "zh-CN": {
        "product": "平安指挥",
        "centre": "社会治理综合指挥中心",
        "live_queue": "实时接报",
        "open_cases": "起",
        "link_connecting": "连接中…",
        "link_live": "实时",
        "link_lost": "连接中断，正在重连",
        "outside": "辖区外",
        "empty_queue": "暂无待处置事件",
        "map": "态势图",
        "severity": "级",
        "switch_lang": "English",
        "reports": "{n} 次报告",
        "degraded": "降级运行：{component}不可用，自 {since} 起",
        "component_storage": "数据存储",
        "component_redis": "消息总线",
    },
    "en": {
        "product": "Pingan Command",
        "centre": "Social Governance Command Centre",
        "live_queue": "Live intake",
        "open_cases": "open",
        "link_connecting": "connecting…",
        "link_live": "live",
        "link_lost": "connection lost, reconnecting",
        "outside": "outside jurisdiction",
        "empty_queue": "No open cases",
        "map": "Situation map",
        "severity": "",
        "switch_lang": "中文",
        "reports": "{n} reports",
        "degraded": "Degraded: {component} unavailable since {since}",
        "component_storage": "storage",
        "component_redis": "the message bus",
    },
}

_CATEGORIES: Final[dict[str, dict[str, str]]] = {
    "zh-CN": {
        "dispute": "矛盾纠纷",
        "public_security": "治安",
        "petition": "信访",
        "safety_production": "安全生产",
        "fire": "火灾",
        "traffic": "交通",
        "mass_incident": "群体性事件",
        "emergency": "突发事件",
        "public_service": "民生服务",
        "special_population": "特殊人群",
        "other": "其他",
    },
    "en": {
        "dispute": "Dispute",
        "public_security": "Public security",
        "petition": "Petition",
        "safety_production": "Safety production",
        "fire": "Fire",
        "traffic": "Traffic",
        "mass_incident": "Mass incident",
        "emergency": "Emergency",
        "public_service": "Public service",
        "special_population": "Special population",
        "other": "Other",
    },
}

_CHANNELS: Final[dict[str, dict[str, str]]] = {
    "zh-CN": {
        "110": "110",
        "12345": "12345",
        "grid": "网格上报",
        "camera": "技防报警",
        "walk_in": "窗口来访",
        "online": "网上受理",
        "sos": "一键求助",
        "petition": "信访",
    },
    "en": {
        "110": "110",
        "12345": "12345",
        "grid": "Grid worker",
        "camera": "Camera alarm",
        "walk_in": "Walk-in",
        "online": "Online",
        "sos": "SOS",
        "petition": "Petition",
    },
}

_SEVERITIES: Final[dict[str, dict[str, str]]] = {
    "zh-CN": {"1": "Ⅰ级", "2": "Ⅱ级", "3": "Ⅲ级", "4": "Ⅳ级"},
    "en": {"1": "Level I", "2": "Level II", "3": "Level III", "4": "Level IV"},
}


def pick_lang(requested: str | None) -> str:
    """A supported language from a request, else the default."""
    return requested if requested in LANGS else DEFAULT_LANG


def text(lang: str, key: str) -> str:
    """One UI string in the given language."""
    return _TEXTS[pick_lang(lang)][key]


def browser_words(lang: str) -> dict[str, dict[str, str]]:
    """Everything the live browser code needs to label cases, in one language."""
    lang = pick_lang(lang)
    return {
        "ui": _TEXTS[lang],
        "category": _CATEGORIES[lang],
        "channel": _CHANNELS[lang],
        "severity": _SEVERITIES[lang],
    }
