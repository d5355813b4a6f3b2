"""Counselling's tables: cases, fullmakter, inquiries, debts and budgets."""

from shared.counselling.models.budget import BudgetEntry
from shared.counselling.models.case import Case, CaseStatus
from shared.counselling.models.debt import Debt, DebtSource
from shared.counselling.models.fullmakt import Fullmakt, FullmaktStatus, UnsentFullmaktEvent
from shared.counselling.models.inquiry import ANSWERABLE, Answer, Inquiry, InquiryStatus

__all__ = [
    "ANSWERABLE",
    "Answer",
    "BudgetEntry",
    "Case",
    "CaseStatus",
    "Debt",
    "DebtSource",
    "Fullmakt",
    "FullmaktStatus",
    "Inquiry",
    "InquiryStatus",
    "UnsentFullmaktEvent",
]
