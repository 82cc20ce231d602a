"""One year's call as plain data: units, categories, limits, the form, office, earlier selected
cases.

The bottom of the house: every other package reads a `Campaign`; this package imports nothing
of ours.  `campaign.loader` reads it from TOML."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Unit:
    name: str
    aliases: tuple[str, ...] = ()
    abbr: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    # The call's review criteria (评审参考标准) for this category; experts score each one.
    criteria: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormField:
    """One field of the recommendation form, as the campaign's form prints it."""

    key: str  # the canonical key `FormData.fields` uses, e.g. 申报单位
    label: str  # how it is shown to units and staff, e.g. 申报单位（个人）
    # Labels accepted on a form for this field (normalised: no spaces, half-width brackets);
    # the key itself always counts.  The first is the official one.
    aliases: tuple[str, ...] = ()
    required: bool = False
    # Labels that only stand in when the form has no proper label for the field (电话 for 手机).
    fallback_aliases: tuple[str, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.key, *self.aliases)))


# The 2023 form (shared/forms/2023年绿色低碳典型案例推荐表.docx): the default when a campaign
# file has no [form].  推荐单位意见 is not required: its seal and date live on the stamped scan.
DEFAULT_FORM_FIELDS: tuple[FormField, ...] = (
    FormField("案例名称", "案例名称", ("案例题目",), required=True),
    FormField(
        "申报单位",
        "申报单位（个人）",
        ("申报个人", "申报单位或个人", "申报单位/个人", "申报主体"),
        required=True,
    ),
    FormField("类别", "类别", ("案例类别", "申报类别", "类型", "案例类型")),
    FormField("联系人", "联系人", required=True),
    FormField(
        "手机",
        "手机",
        ("手机号", "手机号码", "联系手机", "移动电话"),
        required=True,
        fallback_aliases=("联系电话", "电话"),
    ),
    FormField("地址", "地址", ("通讯地址", "通信地址", "联系地址", "单位地址"), required=True),
    FormField("案例简介", "案例简介", ("案例介绍",), required=True),
    FormField("推荐单位意见", "推荐单位意见"),
)
STANDARD_FIELD_KEYS = frozenset(f.key for f in DEFAULT_FORM_FIELDS)
# The 2023 form's hint in the 案例简介 cell; the number in it is the campaign's intro limit.
DEFAULT_INTRO_HINT = (
    "（2000字以内。请简要介绍案例背景和案例目标，执行情况、实施过程、取得的成果、意义和评价等"
    "内容应简洁、明确，层次不宜过多，突出亮点特色，组织活动应有相关数据说明。证明材料可另附页）"
)
# Category options that forms print beyond a call's own (the 2023 form has 个人; the 2023 results
# list 基地).  A tick beside one is read as that option, never moved to a neighbour.
DEFAULT_OPTION_WORDS: tuple[str, ...] = ("园区", "企业", "社区", "个人", "基地")


@dataclass(frozen=True)
class FormSpec:
    """The recommendation form: its fields, the hint texts that count as empty, known options."""

    fields: tuple[FormField, ...] = DEFAULT_FORM_FIELDS
    # Texts the blank form holds in a field; left in place they count as empty.
    hints: tuple[str, ...] = (DEFAULT_INTRO_HINT,)
    option_words: tuple[str, ...] = DEFAULT_OPTION_WORDS

    def field(self, key: str) -> FormField | None:
        return next((f for f in self.fields if f.key == key), None)

    def label(self, key: str) -> str:
        found = self.field(key)
        return found.label if found else key

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields if f.required)

    @property
    def added(self) -> tuple[FormField, ...]:
        """Fields beyond the 2023 form's (所在地区): exported and shown as extra columns."""
        return tuple(f for f in self.fields if f.key not in STANDARD_FIELD_KEYS)


@dataclass(frozen=True)
class Limits:
    cases_per_category_min: int = 2
    cases_per_category_max: int = 3
    photos_min: int = 3
    photos_max: int = 5
    photo_max_bytes: int = 5 * 1024 * 1024
    videos_max: int = 3
    video_max_seconds: float = 180.0
    intro_max_chars: int = 2000


@dataclass(frozen=True)
class Office:
    name: str = ""
    contact: str = ""
    phone: str = ""
    email: str = ""
    signature: str = ""


@dataclass(frozen=True)
class SelectedCase:
    year: int
    unit: str
    name: str
    applicant: str


@dataclass(frozen=True)
class Campaign:
    id: str
    title: str
    deadline: datetime
    timezone: str
    subject_format: str
    units: tuple[Unit, ...]
    categories: tuple[Category, ...]
    limits: Limits
    office: Office = Office()
    subject_keywords: tuple[str, ...] = ()
    # Words that mark a message as this call's (subject, body, file names, Word forms), and the
    # form labels of which a Word document must carry several to be this call's form.
    call_keywords: tuple[str, ...] = ()
    call_form_labels: tuple[str, ...] = ()
    previously_selected: tuple[SelectedCase, ...] = ()
    ineligible_years: tuple[int, ...] = ()
    guidance_reply: bool = False
    form: FormSpec = FormSpec()
    source: Path | None = field(default=None, compare=False)

    def unit(self, name: str) -> Unit | None:
        return next((u for u in self.units if u.name == name), None)

    def category_label(self, key: str | None) -> str:
        return next((c.label for c in self.categories if c.key == key), "")

    @property
    def unchecked_years(self) -> tuple[int, ...]:
        """Ineligible years with no selected case on record: nothing to compare cases against
        (`intake status` and the daily report warn until the office imports its list)."""
        have = {c.year for c in self.previously_selected}
        return tuple(y for y in self.ineligible_years if y not in have)

    @property
    def category_labels(self) -> dict[str, str]:
        """Category key → label, in the call's order: `{"park": "园区", …}`."""
        return {c.key: c.label for c in self.categories}

    def subject_for(self, unit: str) -> str:
        return self.subject_format.format(unit=unit)
