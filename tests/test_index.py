import numpy as np

from tidings.index import UsearchIndex, reciprocal_rank_fusion


def test_rrf_prefers_documents_ranked_well_by_both_lists():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]])
    assert [doc for doc, _ in fused][:2] == [1, 3]
    assert {doc for doc, _ in fused} == {1, 2, 3, 4}


def test_usearch_index_round_trips_and_survives_a_torn_file(tmp_path):
    path = tmp_path / "v.usearch"
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(20, 8)).astype(np.float32)
    index = UsearchIndex(path, 8)
    index.add(np.arange(1, 21, dtype=np.uint64), vectors)
    index.save()
    again = UsearchIndex(path, 8)
    assert len(again) == 20
    assert again.search(vectors[4], 1)[0][0] == 5
    path.write_bytes(b"not an index")
    assert len(UsearchIndex(path, 8)) == 0  # unreadable file → empty index, to be rebuilt


def test_saved_index_files_get_the_usual_permissions(tmp_path):
    """Saving goes through mkstemp (mode 0600); the saved files must be readable like any
    file this process creates (a backup job or a second user's server reads them)."""
    import os

    import numpy as np

    from tidings.index import UsearchIndex

    mask = os.umask(0)
    os.umask(mask)
    index = UsearchIndex(tmp_path / "v.usearch", 8)
    index.add(np.arange(1, 5, dtype=np.uint64), np.random.default_rng(0).normal(size=(4, 8)))
    assert index.save()
    for name in ("v.usearch", "v.usearch.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_saved_index_is_searched_in_place_and_copied_only_to_change(tmp_path):
    """Opening maps the file (a million vectors are ~750 MB: reading them all made every CLI
    command wait); the first change copies it into memory, and the file another process
    replaces meanwhile does not disturb the open view."""
    path = tmp_path / "v.usearch"
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(30, 8)).astype(np.float32)
    first = UsearchIndex(path, 8)
    first.add(np.arange(1, 31, dtype=np.uint64), vectors)
    first.generation = 3
    first.save()
    opened = UsearchIndex(path, 8, expansion=64)
    assert opened.viewed and opened.generation == 3
    assert opened.search(vectors[7], 1, expansion=16)[0][0] == 8
    opened.remove([9999])  # nothing to remove: still the view
    assert opened.viewed
    # another process saves a different file over it while the view is open
    first.add(np.array([31], dtype=np.uint64), rng.normal(size=(1, 8)).astype(np.float32))
    first.generation = 4
    first.save()
    assert len(opened) == 30 and opened.search(vectors[2], 1)[0][0] == 3
    new = rng.normal(size=(1, 8)).astype(np.float32)
    opened.add(np.array([50], dtype=np.uint64), new)
    opened.remove([1])
    assert not opened.viewed and len(opened) == 30
    assert opened.search(new[0], 1)[0][0] == 50
    assert 1 not in [k for k, _ in opened.search(vectors[0], 5)]
    assert not opened.save()  # the file on disk reflects a newer generation: left alone
    assert len(UsearchIndex(path, 8)) == 31


def test_a_viewed_index_is_copied_into_memory_when_asked_and_not_before(tmp_path):
    """A one-shot command searches the view and exits; a server copies the index into
    memory before it answers (`Engine.warm`). Nothing copies behind a command's back: usearch
    holds the GIL while copying, which stalled the first search at a million vectors."""
    import time

    path = tmp_path / "v.usearch"
    vectors = np.random.default_rng(2).normal(size=(500, 8)).astype(np.float32)
    first = UsearchIndex(path, 8)
    first.add(np.arange(1, 501, dtype=np.uint64), vectors)
    first.save()
    # the same graph answers the same (HNSW is approximate: a top-1 can miss in any index)
    expected = [first.search(vectors[i], 1)[0][0] for i in range(0, 500, 7)]
    assert sum(k == i + 1 for k, i in zip(expected, range(0, 500, 7), strict=True)) >= 65
    opened = UsearchIndex(path, 8)
    found = [opened.search(vectors[i], 1)[0][0] for i in range(0, 500, 7)]
    assert found == expected
    time.sleep(0.2)  # a background copy of 500 vectors would be done by now
    assert opened.viewed
    opened.load_into_memory()
    assert not opened.viewed
    assert [opened.search(vectors[i], 1)[0][0] for i in range(0, 500, 7)] == expected
    opened.add(np.array([900], dtype=np.uint64), vectors[:1] * -1)
    assert len(opened) == 501
