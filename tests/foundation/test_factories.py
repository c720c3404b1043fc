"""The shared factories build valid rows (other areas' tests rely on them)."""

from exam.models import Exam


def test_exam_with_paper_for_each_type(session, make_person, make_question, make_exam, make_paper):
    person = make_person()
    exam = make_exam([person])
    versions = [make_question(t) for t in ("single", "multiple", "true_false", "fill_blank")]
    paper = make_paper(
        exam, person, [(v, 10, ["B", "A", "C", "D"] if v.options else []) for v in versions]
    )
    assert [i.position for i in paper.items] == [1, 2, 3, 4]
    assert [i.section for i in paper.items] == [0, 1, 2, 3]
    assert session.get(Exam, exam.id).participants[0].person_id == person.id
    assert versions[0].question.current_version.id == versions[0].id
