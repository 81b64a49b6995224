"""What keeps a big library fast without timing anything: the queries the window opens with
read an index, never every face's row or a sort per person."""

from __future__ import annotations

from photoface.bench.clustering import bulk_fill, synthetic


def plan_of(lib, call) -> list[str]:
    """The query plan lines of each SQL statement `call` runs on the library's connection."""
    seen: list[str] = []
    lib.conn.set_trace_callback(seen.append)
    try:
        call()
    finally:
        lib.conn.set_trace_callback(None)
    lines: list[str] = []
    for sql in seen:
        if sql.lstrip().upper().startswith("SELECT"):
            lines += [r[3] for r in lib.conn.execute("EXPLAIN QUERY PLAN " + sql)]
    return lines


def test_the_people_list_reads_each_persons_faces_from_one_covering_index(lib):
    x, person = synthetic(300, seed=3)
    bulk_fill(lib, x, person=person)
    ids = lib.query("SELECT id FROM faces ORDER BY id")
    lib.query("INSERT INTO people(id, name, hidden, created_at) VALUES (1, 'A', 0, 0)")
    lib.conn.executemany("UPDATE faces SET person_id = 1 WHERE id = ?", ids[:50])
    people = lib.people()
    assert [p.face_count for p in people] == [50]
    assert people[0].cover_face_id in {i for (i,) in ids[:50]}
    plan = plan_of(lib, lib.people)
    faces = [line for line in plan if line.startswith("SEARCH f")]
    # A chosen cover is one row read by its id; every other read of faces is the index alone.
    by_id = [line for line in faces if "INTEGER PRIMARY KEY (rowid=?)" in line]
    scans = [line for line in faces if line not in by_id]
    assert len(by_id) <= 1 and len(scans) == 2, plan
    assert all("COVERING INDEX" in line for line in scans), plan
    # The only sort left is the list's own order, not one per person's faces.
    assert sum("TEMP B-TREE" in line for line in plan) == 1, plan
