"""How a spread tick cuts a case's ids among its transactions (duban.store.tick_sql.id_ranges)."""

from duban.store.tick_sql import id_ranges


def test_the_ranges_cover_every_id_once_and_evenly():
    ranges = id_ranges(101, 141_668, 2)
    assert ranges == [(101, 70_884), (70_885, 141_668)]
    for shares in (1, 2, 3, 7):
        cut = id_ranges(5, 1_004, shares)
        covered = [i for first, last in cut for i in range(first, last + 1)]
        assert covered == list(range(5, 1_005))
        sizes = [last - first + 1 for first, last in cut]
        assert max(sizes) - min(sizes) <= 1


def test_fewer_ids_than_writers_give_one_range_per_id():
    assert id_ranges(7, 7, 4) == [(7, 7)]
    assert id_ranges(7, 8, 4) == [(7, 7), (8, 8)]
