"""The triage table: every rule, in the order its findings are reported."""

from __future__ import annotations

from validators.base import Finding, Rule
from validators.facts import CaseFacts, MessageFacts, UnitFacts
from validators.rules import (
    archive_tool_unavailable,
    archive_unreadable,
    category_multiple,
    category_quota,
    category_unmarked,
    cloud_link,
    contact_missing,
    converter_unavailable,
    field_missing,
    file_naming,
    form_scan_missing,
    form_unreadable,
    form_word_missing,
    intro_too_long,
    late,
    list_missing,
    media_check_unavailable,
    mobile_invalid,
    no_materials,
    order_missing,
    photo_caption_missing,
    photo_count,
    photo_too_large,
    photo_unreadable,
    previously_selected,
    subject_format,
    unit_unknown,
    video_count,
    video_too_long,
    video_unreadable,
)

MESSAGE_RULES: list[Rule[MessageFacts]] = [
    unit_unknown.RULE,
    subject_format.RULE,
    contact_missing.RULE,
    no_materials.RULE,
    cloud_link.RULE,
    archive_unreadable.RULE,
    archive_tool_unavailable.RULE,
    late.RULE,
]

CASE_RULES: list[Rule[CaseFacts]] = [
    form_word_missing.RULE,
    form_scan_missing.RULE,
    form_unreadable.RULE,
    converter_unavailable.RULE,
    field_missing.RULE,
    category_unmarked.RULE,
    category_multiple.RULE,
    mobile_invalid.RULE,
    intro_too_long.RULE,
    previously_selected.RULE,
    photo_count.RULE,
    video_count.RULE,
    photo_too_large.RULE,
    photo_caption_missing.RULE,
    photo_unreadable.RULE,
    video_too_long.RULE,
    video_unreadable.RULE,
    media_check_unavailable.RULE,
    file_naming.RULE,
]

UNIT_RULES: list[Rule[UnitFacts]] = [
    list_missing.RULE,
    order_missing.RULE,
    category_quota.RULE,
]


def all_rules() -> list[Rule[MessageFacts] | Rule[CaseFacts] | Rule[UnitFacts]]:
    return [*MESSAGE_RULES, *CASE_RULES, *UNIT_RULES]


def rule_for(code: str) -> Rule[MessageFacts] | Rule[CaseFacts] | Rule[UnitFacts] | None:
    return next((r for r in all_rules() if r.code == code), None)


def judge_message(facts: MessageFacts) -> list[Finding]:
    return [f for rule in MESSAGE_RULES for f in rule.run(facts)]


def judge_case(facts: CaseFacts) -> list[Finding]:
    return [f for rule in CASE_RULES for f in rule.run(facts)]


def judge_unit(facts: UnitFacts) -> list[Finding]:
    return [f for rule in UNIT_RULES for f in rule.run(facts)]
