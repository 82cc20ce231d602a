"""The call: everything that belongs to one year's campaign, as data (`model`) read from a file
(`loader`), checked first (`validation`); lists of earlier selected cases (`selected`).  Used by
every layer; imports nothing of ours."""

from campaign.loader import (
    BUNDLED_CAMPAIGN,
    EXAMPLE_CAMPAIGN,
    CampaignError,
    load_campaign,
    problems_of,
)
from campaign.model import (
    Campaign,
    Category,
    FormField,
    FormSpec,
    Limits,
    Office,
    SelectedCase,
    Unit,
)
from campaign.selected import (
    SelectedListError,
    SelectedTable,
    read_selected_cases,
    read_selected_table,
    write_selected_csv,
)
from campaign.validation import Problem

__all__ = [
    "BUNDLED_CAMPAIGN",
    "EXAMPLE_CAMPAIGN",
    "Campaign",
    "CampaignError",
    "Category",
    "FormField",
    "FormSpec",
    "Limits",
    "Office",
    "Problem",
    "SelectedCase",
    "SelectedListError",
    "SelectedTable",
    "Unit",
    "load_campaign",
    "problems_of",
    "read_selected_cases",
    "read_selected_table",
    "write_selected_csv",
]
