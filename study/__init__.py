"""Study mode (学习): the law reader, practice sessions with instant feedback, the
mistakes notebook (错题本) with spaced repetition, daily practice (每日一练) and a
person's progress.

Sits beside ``exam``: imports ``core`` and ``question_bank`` only. Practice never
enters exam statistics: it has its own tables (``study.models``); ``analysis`` reads
them beside exam results (``analysis.study_results``).
"""
