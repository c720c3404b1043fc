"""A cohort's papers: every candidate's paper from its own rng, exposure counts, the
draw chance of every question, and the exposure and difficulty figures (parallel
forms) that the pool check and ``jifa exam generate-papers`` report."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from exam.papers.generation.draw import generate_paper
from exam.papers.generation.plan import Plan
from exam.papers.generation.pool import GeneratedPaper, rng_for
from exam.papers.spec import ANY


def draw_probabilities(plan: Plan) -> dict[int, float]:
    """Chance that a candidate's paper draws each question before any repair: the quota
    of its cell over the cell's size, averaged over the section's layouts (by their
    probabilities). Exposure divided by this shows whether questions of a cell are used
    equally often."""
    prob: dict[int, float] = {}
    for si, ref in enumerate(plan.exact_refs):
        layouts = plan.layouts[si] if si < len(plan.layouts) else []
        cum = plan.layout_cum[si] if layouts else [1.0]
        options = layouts or [ref]
        for k, layout in enumerate(options):
            weight = cum[k] - (cum[k - 1] if k else 0.0)
            for cell in layout:
                if cell.items:
                    p = weight * cell.count / len(cell.items)
                    for it in cell.items:
                        prob[it.version_id] = prob.get(it.version_id, 0.0) + p
    for cell in plan.wild_cells:
        if cell.items:
            p = cell.count / len(cell.items)
            for it in cell.items:
                prob[it.version_id] = prob.get(it.version_id, 0.0) + p
    return prob


def _group_exposure(
    groups: Mapping[str, list[int]],
    exposure: Mapping[int, int],
    expected: Mapping[int, float],
    n: int,
) -> list[dict]:
    """Exposure per group of questions (a source, a band): the group's quota per paper,
    its expected use per question (quota x papers / questions: what equal use within
    the group would give), the quota-implied range of expected use inside the group,
    and the actual min/max with their ratio to the group's expected use."""
    rows = []
    for key in sorted(groups):
        vids = groups[key]
        used = [exposure[v] for v in vids]
        per_paper = sum(expected.get(v, 0.0) for v in vids)
        mean_expected = n * per_paper / len(vids)
        implied = [n * expected.get(v, 0.0) for v in vids]
        rows.append(
            {
                "key": key,
                "questions": len(vids),
                "per_paper": round(per_paper, 3),
                "expected": round(mean_expected, 1),
                "expected_min": round(min(implied), 1),
                "expected_max": round(max(implied), 1),
                "min": min(used),
                "max": max(used),
                "min_ratio": round(min(used) / mean_expected, 3) if mean_expected else None,
                "max_ratio": round(max(used) / mean_expected, 3) if mean_expected else None,
            }
        )
    return rows


@dataclass
class CohortResult:
    papers: dict[int, GeneratedPaper]
    exposure: dict[int, int]
    eligible: int
    #: version id -> chance of being drawn by one candidate (``draw_probabilities``)
    expected: dict[int, float] = field(default_factory=dict)
    #: version id -> (law source code, difficulty band), for exposure per group
    groups: dict[int, tuple[str, str]] = field(default_factory=dict)

    def stats(self) -> dict:
        """Exposure and difficulty figures of the cohort.

        ``exposure_expected_min/max`` is the range of use the blueprint's quotas imply
        (each question's draw chance x papers): questions of a source or band whose
        quota per section is large for its supply are necessarily used more.
        ``exposure_vs_expected_*`` compares each question with its own implied use,
        and ``exposure_dispersion`` is the variance of use around it over the binomial
        variance of independent papers: about 1 means what spread is left is chance.
        ``exposure_by_source``/``exposure_by_band`` break use down per group."""
        usage = list(self.exposure.values())
        means = [p.mean_difficulty for p in self.papers.values()]
        n = len(self.papers)
        exp = self.expected
        ratios = [
            self.exposure[vid] / (n * p)
            for vid, p in exp.items()
            if p > 0 and vid in self.exposure and n * p >= 20
        ]
        implied = [n * exp.get(vid, 0.0) for vid in self.exposure]
        dev = var = 0.0
        for vid, u in self.exposure.items():
            p = min(1.0, exp.get(vid, 0.0))
            dev += (u - n * p) ** 2
            var += n * p * (1 - p)
        by_source: dict[str, list[int]] = {}
        by_band: dict[str, list[int]] = {}
        for vid in self.exposure:
            source, band = self.groups.get(vid, (ANY, ANY))
            by_source.setdefault(source, []).append(vid)
            by_band.setdefault(band, []).append(vid)
        return {
            "papers": len(self.papers),
            "eligible_questions": self.eligible,
            "questions_used": sum(1 for u in usage if u),
            "exposure_min": min(usage) if usage else 0,
            "exposure_max": max(usage) if usage else 0,
            "exposure_mean": round(sum(usage) / len(usage), 2) if usage else 0,
            "difficulty_min": round(min(means), 3) if means else None,
            "difficulty_max": round(max(means), 3) if means else None,
            "difficulty_spread": round(max(means) - min(means), 3) if means else None,
            # the range of use the quotas imply (draw chance x papers)
            "exposure_expected_min": round(min(implied), 1) if implied and n else None,
            "exposure_expected_max": round(max(implied), 1) if implied and n else None,
            # usage over the quota-implied expectation (questions expected >= 20 times)
            "exposure_vs_expected_min": round(min(ratios), 3) if ratios else None,
            "exposure_vs_expected_max": round(max(ratios), 3) if ratios else None,
            "exposure_dispersion": round(dev / var, 3) if var > 0 else None,
            "exposure_by_source": _group_exposure(by_source, self.exposure, exp, n) if n else [],
            "exposure_by_band": _group_exposure(by_band, self.exposure, exp, n) if n else [],
        }


def generate_cohort(
    plan: Plan, seed: str, person_ids: Iterable[int], *, progress=None, every: int = 500
) -> CohortResult:
    """Papers for ``person_ids`` (each from its own rng: independent of the cohort),
    with exposure counts over every eligible question of the plan."""
    exposure = dict.fromkeys(sorted(plan.eligible_ids()), 0)
    papers: dict[int, GeneratedPaper] = {}
    bp = plan.blueprint
    person_ids = list(person_ids)
    total = len(person_ids)
    # Hundreds of thousands of small immutable objects and no cycles: the cyclic
    # collector would rescan the growing heap again and again for nothing.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for n, pid in enumerate(person_ids, start=1):
            paper = generate_paper(plan, bp, rng_for(seed, pid))
            papers[pid] = paper
            for it in paper.items:
                exposure[it.version_id] += 1
            if progress is not None and (n % every == 0 or n == total):
                progress(n, total)
    finally:
        if gc_was_enabled:
            gc.enable()
    band_of = bp.band_of
    groups = {}
    for cell in plan.cells:
        for it in cell.items:
            groups[it.version_id] = (it.source, band_of(it.difficulty))
    for layouts in plan.layouts:
        for layout in layouts:
            for cell in layout:
                for it in cell.items:
                    groups[it.version_id] = (it.source, band_of(it.difficulty))
    return CohortResult(papers, exposure, len(exposure), draw_probabilities(plan), groups)
