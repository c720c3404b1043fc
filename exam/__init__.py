"""Blueprints, paper generation, exams, attempts, scoring and timing.
Depends on ``question_bank`` and the ``jifa`` foundation, never on ``analysis``."""
