"""The triage table: every rule, in the order its findings are reported."""

from __future__ import annotations

from validators.base import Audience, Finding, Rule, Severity
from validators.facts import CaseFacts, MessageFacts, UnitFacts
from validators.rules import (
    archive_tool_unavailable,
    archive_unreadable,
    category_multiple,
    category_not_in_call,
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
    category_not_in_call.RULE,
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


_BY_CODE = {rule.code: rule for rule in all_rules()}


def rule_for(code: str) -> Rule[MessageFacts] | Rule[CaseFacts] | Rule[UnitFacts] | None:
    return _BY_CODE.get(code)


def audience_of(code: str, severity: str) -> Audience:
    """Who must act on a finding of `code`: the rule table's answer, asked by notices, case
    status and the report alike.

    A code without a rule (added to the store by hand, or by a newer version) is shown to the
    unit by its severity: hiding an error from the unit is worse than showing one that staff did
    not mean to send.
    """
    rule = rule_for(code)
    if rule is not None:
        return rule.audience
    return Audience.UNIT if severity == Severity.ERROR else Audience.ADVICE


def blocks_receipt(code: str, severity: str) -> bool:
    """Does this finding make the case deficient and the answer a deficiency notice?"""
    return audience_of(code, severity) is Audience.UNIT


def judge_message(facts: MessageFacts) -> list[Finding]:
    return [f for rule in MESSAGE_RULES for f in rule.run(facts)]


def judge_case(facts: CaseFacts) -> list[Finding]:
    return [f for rule in CASE_RULES for f in rule.run(facts)]


def judge_unit(facts: UnitFacts) -> list[Finding]:
    return [f for rule in UNIT_RULES for f in rule.run(facts)]
