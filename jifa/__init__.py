"""jifa-exam: the foundation (configuration, database, organisation, accounts, audit)
and the application shell (web app in ``jifa.web``, command line in ``jifa.cli``).

Layering: ``jifa.{config,db,errors,audit,excel,org,accounts}`` is the foundation that
every domain package may import; ``question_bank`` <- ``exam`` <- ``analysis`` build on
it; ``jifa.web``, ``jifa.cli`` and ``jifa.demo`` sit on top and stay thin.
"""
