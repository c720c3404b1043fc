"""The papers area: blueprints, the pool check, paper generation and offline papers.

- ``spec``: ``BlueprintSpec`` and its vocabulary; ``parse``: a dict -> a validated
  spec; ``files``: YAML and Excel blueprint files; ``blueprints``: blueprint services.
- ``generation/``: pure paper generation (``pool``, ``tables``, ``plan``, ``draw``,
  ``cohort``).
- ``persist``: the active pool, the pool check, generating and writing every
  participant's paper; ``rebuild``: rebuilding a paper to prove it reproducible.
- ``printable``: printable papers and keys, the Excel export; ``answer_sheets``:
  offline answer sheets imported and scored like online attempts.
"""
