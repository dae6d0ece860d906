"""Regulator views: joint-lending exposures per bank and per partner against the 2021 notice's limits.

Reads only an IndexStore: tranche balances (LOAN_TRANCHE) and each bank's declared figures (DECLARED_FIGURE,
from CoLending.declareFigures, which a bank sends for itself; regulators never write). `report(store)` is the
entry point; the definitions are in `clearing.policy.exposure`.
"""

from clearing.policy.exposure import TranchePosition, compute_exposures, tranche_frame
from clearing.policy.limits import JOINT_LENDING_LIMIT_BPS, PARTNER_LIMIT_BPS, Limits
from clearing.policy.model import (
    BankExposure,
    CheckStatus,
    DeclaredFigures,
    ExposureReport,
    LimitCheck,
    LoanContribution,
    Rule,
)
from clearing.policy.report import report

__all__ = [
    "JOINT_LENDING_LIMIT_BPS",
    "PARTNER_LIMIT_BPS",
    "BankExposure",
    "CheckStatus",
    "DeclaredFigures",
    "ExposureReport",
    "LimitCheck",
    "Limits",
    "LoanContribution",
    "Rule",
    "TranchePosition",
    "compute_exposures",
    "report",
    "tranche_frame",
]
