"""Judgement: facts about a message, a case or a unit in, findings out.

Each rule is one small module under `validators/rules/`; `registry` lists them in order, so the
triage policy reads top to bottom like a table.
"""
