"""Debt counselling (budget- och skuldrådgivning): cases, fullmakt, inquiries to
creditors, answers and debts, compilation, budget, plan, retention.

Independent of ``shared.collection``; the creditor side of inquiries lives in
``shared.creditor_link``, which uses this package (never the other way round)."""
