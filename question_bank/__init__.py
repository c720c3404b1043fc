"""The question bank: law sources and their articles, cited questions with versions,
Excel/CSV import and export. Depends only on the ``jifa`` foundation."""
