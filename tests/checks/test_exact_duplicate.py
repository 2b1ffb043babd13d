from app.checks.exact_duplicate import ExactDuplicateCheck
from tests.checks.conftest import by_example


def test_normalised_copies_form_one_cluster_with_the_lowest_id_as_representative(make_ctx):
    ctx = make_ctx([
        {"input": "How do I list files?", "output": "ls"},
        {"input": "how do i  LIST files?", "output": "ls -la"},     # case and spacing differ
        {"input": "How do I list files?\n", "output": "ls"},        # trailing newline
        {"input": "How do I list folders?", "output": "ls -d"},     # a different question
        {"input": "ｈｏｗ do I list files?", "output": "ls"},          # full-width letters: NFKC
    ], embed=False)
    found = by_example(ExactDuplicateCheck().run(ctx))
    assert set(found) == {2, 3, 5}
    for draft in found.values():
        assert draft.details["cluster_id"] == "exact:1" and draft.details["duplicate_of"] == 1
        assert draft.details["members"] == [1, 2, 3, 5] and draft.score == 1.0 and draft.details["message"]


def test_an_accepted_member_is_the_representative(make_ctx):
    ctx = make_ctx([{"input": "same", "output": "a"}, {"input": "same", "output": "b", "status": "accepted"},
                    {"input": "other", "output": "c"}], embed=False)
    found = by_example(ExactDuplicateCheck().run(ctx))
    assert set(found) == {1} and found[1].details["duplicate_of"] == 2


def test_no_duplicates_no_findings(make_ctx):
    ctx = make_ctx([{"input": f"question {i}", "output": "x"} for i in range(5)], embed=False)
    assert ExactDuplicateCheck().run(ctx) == []
