"""The call: everything that belongs to one year's campaign, as data (`model`) read from a file
(`loader`).  Used by every layer; imports nothing of ours."""

from campaign.loader import BUNDLED_CAMPAIGN, CampaignError, load_campaign, read_selected_cases
from campaign.model import Campaign, Category, Limits, Office, SelectedCase, Unit

__all__ = [
    "BUNDLED_CAMPAIGN",
    "Campaign",
    "CampaignError",
    "Category",
    "Limits",
    "Office",
    "SelectedCase",
    "Unit",
    "load_campaign",
    "read_selected_cases",
]
