"""The console's words: every key in both languages, zh-CN by default."""

from __future__ import annotations

from dashboard.i18n import (
    DEFAULT_LANG,
    LANGS,
    browser_words,
    move_name,
    pick_lang,
    role_name,
    step_name,
    text,
)
from dashboard.presenters.case_panel import reason_words
from incidents.access import ACTION_WORDS, Role
from incidents.lifecycle import Move
from incidents.vocabulary import Category, Channel, Step


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


def test_every_step_and_move_has_a_name_in_both_languages() -> None:
    """Buttons and the timeline name every move and step of the loop, in each language."""
    for lang in LANGS:
        for step in Step:
            assert step_name(lang, step)
        for move in Move:
            assert move_name(lang, move)
    assert step_name("zh-CN", Step.INTAKE) == "统一受理"
    assert move_name("zh-CN", Move.VERIFY_FAIL) == "核查不通过，退回重办"
    assert move_name("en", Move.HAND_DOWN) == "Hand down"


def test_every_role_has_a_name_in_both_languages() -> None:
    """The top bar names the signed-in user's role in words, not as a code."""
    for lang in LANGS:
        for role in Role:
            assert role_name(lang, role.value) != role.value
    assert role_name("zh-CN", "county_duty_officer") == "值班员"


def test_every_refused_action_is_named_in_both_languages() -> None:
    """ "your role may not <action>" reads as words for every action the access rule names."""
    for words in ACTION_WORDS.values():
        zh = reason_words(f"your role may not {words}", "zh-CN")
        assert zh.startswith("您的角色无权") and words not in zh, zh
        assert reason_words(f"your role may not {words}", "en") == f"your role may not {words}"
