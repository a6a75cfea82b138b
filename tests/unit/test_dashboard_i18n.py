"""The console's words: every key in both languages, zh-CN by default."""

from __future__ import annotations

from dashboard.i18n import DEFAULT_LANG, LANGS, browser_words, pick_lang, text
from incidents.vocabulary import Category, Channel


def test_chinese_is_the_default_and_unknown_languages_fall_back_to_it() -> None:
    """No lang, or one we do not have, gives zh-CN."""
    assert DEFAULT_LANG == "zh-CN"
    assert pick_lang(None) == "zh-CN"
    assert pick_lang("fr") == "zh-CN"
    assert pick_lang("en") == "en"
    assert text("zh-CN", "product") == "平安指挥"


def test_both_languages_name_every_category_channel_and_string() -> None:
    """A word missing in one language would show a raw key on a screen."""
    zh, en = (browser_words(lang) for lang in LANGS)
    assert set(zh["ui"]) == set(en["ui"])
    for words in (zh, en):
        assert set(words["category"]) == {c.value for c in Category}
        assert set(words["channel"]) == {c.value for c in Channel}
        assert set(words["severity"]) == {"1", "2", "3", "4"}
        assert "{component}" in words["ui"]["degraded"] and "{since}" in words["ui"]["degraded"]
