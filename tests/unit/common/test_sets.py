from apps.common.sets import merge_overlapping


def test_overlapping_groups_merge_transitively_and_others_stay_apart():
    merged = merge_overlapping([{"A", "B"}, {"D", "E"}, {"B", "C"}, {"C"}, {"F"}])
    assert sorted(sorted(g) for g in merged) == [["A", "B", "C"], ["D", "E"], ["F"]]
    assert merge_overlapping([]) == []
    # A chain joined only by its last link.
    assert merge_overlapping([{"A", "B"}, {"C", "D"}, {"B", "C"}]) == [frozenset("ABCD")]
