"""Set helpers shared by apps (no Django)."""

from collections.abc import Iterable


def merge_overlapping(groups: Iterable[Iterable[str]]) -> list[frozenset[str]]:
    """The groups with every two that share a member merged, transitively.

    ``[{A, B}, {B, C}, {D, E}]`` gives ``[{A, B, C}, {D, E}]``, in the order each merged group
    first appears.
    """
    parent: dict[str, str] = {}

    def root(item: str) -> str:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for group in groups:
        members = list(group)
        for member in members:
            parent.setdefault(member, member)
        for member in members[1:]:
            a, b = root(members[0]), root(member)
            if a != b:
                parent[b] = a
    merged: dict[str, set[str]] = {}
    for item in parent:
        merged.setdefault(root(item), set()).add(item)
    return [frozenset(members) for members in merged.values()]
