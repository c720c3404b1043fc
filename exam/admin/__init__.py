"""Exam administration, one module per task:

- ``access``: which exams (and which of their people) an account may see and manage,
  built on ``core.accounts.scope``. Every view and command asks it.
- ``exams``: settings, create and edit, the exam list with its counts.
- ``enrolment``: enrol by unit, rank or name; remove a participant.
- ``windows``: open, close, extend the window, extra time.
- ``monitor``: the live state of a sitting.
- ``results``: results per candidate and unit, their workbook, a person's history.
- ``self_reported``: results of exams held elsewhere, uploaded by units.
- ``codes``: one-time exam codes.

Services take a session, ``now`` and the caller's ``Scope``; they never commit. Every
change is written to the audit log.
"""
