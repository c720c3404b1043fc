"""Paper generation: pure functions over plain data (no database, no clock, no global
random state).

A paper is a function of the blueprint, the pool and an ``random.Random`` seeded from
SHA-256 of ``f"{seed}|{person_id}"`` (``rng_for``), so any paper can be rebuilt. Each
candidate's paper is drawn independently:

1. the section's source x band table: the blueprint fixes the count per source and per
   band of every section; the pairing of the two is drawn per candidate so that, over
   the cohort, each cell averages the *expected table* (``expected_table``: cells
   proportional to the pool's supply within those quotas, by iterative proportional
   fitting). ``controlled_rounding`` turns the expected table into integer tables
   with the exact quotas whose weighted mean is the expected table, once per plan;
   each candidate's rng picks one by weight. So within a source (and within a band)
   questions are drawn about equally often, as far as the per-section quotas allow;
2. every cell is filled by a uniform draw without replacement from its questions, so
   questions of a cell are used equally often in expectation (no dependence on the
   cohort, so papers of late participants are as fair as the others);
3. required knowledge points are brought in by swaps inside a cell (quotas unchanged);
   parallel forms: when the paper's mean difficulty is off target by more than the
   tolerance, items are swapped inside their cell, one smallest step in difficulty
   at a time (random among equal steps, so repairs do not favour the easiest or
   hardest questions); if that fails the draw is repeated (the same rng continues, so
   it stays deterministic), and after ``MAX_ROUNDS`` the generation fails loudly;
4. questions are shuffled within sections and options within questions, except options
   such as 以上都对 that must stay last; true/false and fill-in keep no option order.

Related questions (互斥/关联题, ``prepare(..., related=pairs)``) never share a paper:
each draw, knowledge-point swap and difficulty repair takes only questions related to
none already on the paper; ``prepare`` reports a cell whose questions, kept apart,
cannot fill it (``Shortage`` of kind ``related``) and the cells relations make tight.

``prepare`` checks the pool against the blueprint once (shortages per cell and per
required knowledge point, reachable difficulty) and indexes it; nothing is ever half
filled: a shortage raises ``PoolShortage`` naming every short cell.

Modules: ``pool`` (what generation draws from and produces), ``tables`` (expected
tables and controlled rounding), ``plan`` (``prepare``: cells, layouts, the check),
``draw`` (``generate_paper``: drawing, knowledge-point cover, difficulty fitting) and
``cohort`` (every candidate's paper, exposure).
"""
