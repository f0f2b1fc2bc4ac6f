"""The page cache cannot be blown up: pages are kept under their parsed
parameters only, and each worker's cache is bounded in bytes."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import pytest

import config
from kudos import cache, create_app
from kudos.leaderboard.services import NO_FILTERS
from kudos.timeutil import Month
from tests.conftest import sign_in

MB = 1024 * 1024


def rss_bytes() -> int:
    """This process's resident memory, from /proc (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def page_cache(app) -> cache.PageCache:
    return app.extensions["kudos.cache"]


@pytest.fixture
def viewer(client, make):
    ann, ben = make.person(name="Ann Archer"), make.person(name="Ben Bell")
    make.kudos(ann, [ben])
    sign_in(client, ann)
    return ann


@pytest.mark.one_engine  # the cache is in memory, whatever stores the data
def test_ten_thousand_junk_addresses_leave_the_cache_and_memory_as_they_were(app, client, viewer):
    assert client.get("/leaderboard").status_code == 200
    store = page_cache(app)
    entries, size, rss = len(store), store.size, rss_bytes()
    page = client.get("/leaderboard").get_data(as_text=True)

    started = time.monotonic()
    for number in range(10_000):
        response = client.get(f"/leaderboard?junk{number}={'x' * 50}&utm_source={number}")
        assert response.status_code == 200
    elapsed = time.monotonic() - started

    assert (len(store), store.size) == (entries, size)
    assert store.size <= store.max_bytes
    # Before: each address kept a page of its own (4,096 of them, ~100 MB).
    growth = rss_bytes() - rss
    assert growth < 16 * MB, f"RSS grew {growth / MB:.1f} MB in {elapsed:.1f} s"
    assert "Ann Archer" in page


def test_other_spellings_of_the_same_parameters_share_one_page(app, client, viewer, make):
    make.person(team=make.team("Platform"))
    client.get("/leaderboard?team=platform")
    store = page_cache(app)
    entries = len(store)

    for spelling in ("Platform", "PLATFORM", " platform ", "pLaTfOrM"):
        page = client.get("/leaderboard", query_string={"team": spelling})
        assert page.status_code == 200
    assert len(store) == entries


def test_a_bad_parameter_is_answered_without_the_cache(app, client, viewer):
    client.get("/leaderboard")
    store = page_cache(app)
    entries = len(store)
    assert client.get("/leaderboard?month=nonsense").status_code == 400
    assert client.get("/leaderboard?team=nobody").status_code == 400
    assert len(store) == entries


def test_the_bound_is_configured_in_megabytes(tmp_path):
    assert config.load({}, instance_path=str(tmp_path))["CACHE_MAX_BYTES"] == 64 * MB
    settings = config.load({"KUDOS_CACHE_MAX_MB": "8"}, instance_path=str(tmp_path))
    assert settings["CACHE_MAX_BYTES"] == 8 * MB
    with pytest.raises(config.ConfigError, match="KUDOS_CACHE_MAX_MB"):
        config.load({"KUDOS_CACHE_MAX_MB": "0"}, instance_path=str(tmp_path))
    app = create_app({"TESTING": True, "CACHE_MAX_BYTES": 3 * MB})
    assert page_cache(app).max_bytes == 3 * MB


def test_the_refresh_window_is_configured_in_seconds(tmp_path):
    assert config.load({}, instance_path=str(tmp_path))["CACHE_REFRESH_SECONDS"] == 5
    settings = config.load({"KUDOS_CACHE_REFRESH_SECONDS": "0"}, instance_path=str(tmp_path))
    assert settings["CACHE_REFRESH_SECONDS"] == 0
    with pytest.raises(config.ConfigError, match="KUDOS_CACHE_REFRESH_SECONDS"):
        config.load({"KUDOS_CACHE_REFRESH_SECONDS": "soon"}, instance_path=str(tmp_path))


def test_the_cache_holds_at_most_its_bytes_and_keeps_the_latest(app, client, viewer):
    store = app.extensions["kudos.cache"] = cache.PageCache(max_bytes=100_000)
    months = [f"{year}-{month:02d}" for year in range(2001, 2011) for month in range(1, 13)]
    for month in months:
        assert client.get(f"/leaderboard?month={month}").status_code == 200
        assert store.size <= 100_000

    # Two boards a month were kept; the oldest made room.
    assert 0 < len(store) < 2 * len(months)
    assert ("leaderboard", "given", Month.parse(months[-1]), NO_FILTERS, 10) in store
    assert store.max_bytes == 100_000


def test_sizes_are_estimated_from_what_an_entry_holds():
    @dataclass(frozen=True)
    class Row:
        name: str
        quotes: tuple[str, ...]

    page = "x" * 100_000
    assert 100_000 <= cache.estimate_size(page) < 100_200
    rows = [Row(f"person {n}", ("y" * 1_000,) * 3) for n in range(100)]
    # Shared objects count once; each row's own name counts.
    assert 1_000 + 100 * 50 < cache.estimate_size(rows) < 1_100 + 100 * 400

    store = cache.PageCache(max_bytes=250_000)
    store.get_or_compute("token", "first", lambda: page)
    store.get_or_compute("token", "second", lambda: page)
    store.get_or_compute("token", "third", lambda: page)  # the first goes
    assert len(store) == 2
    assert store.get_or_compute("token", "first", lambda: "made again") == "made again"
    # Too large for the whole cache: given back, never kept.
    assert store.get_or_compute("token", "huge", lambda: "z" * 300_000) == "z" * 300_000
    assert store.size <= 250_000


def test_an_estimate_counts_every_object_held_once_and_nothing_shared():
    """Exact sums, so each part of the walk is pinned: dictionaries' keys and
    values, objects' attributes, and never functions or modules."""
    big = "q" * 5_000

    class Holder:
        def __init__(self) -> None:
            self.text = big
            self.again = big  # the same object: counted once

    holder = Holder()
    assert cache.estimate_size(holder) == sys.getsizeof(holder) + sys.getsizeof(big)
    table = {"key": big}
    assert cache.estimate_size(table) == (
        sys.getsizeof(table) + sys.getsizeof("key") + sys.getsizeof(big)
    )
    # Functions and modules are shared by every entry, not made for one.
    shared = [len, rss_bytes, sys]
    assert cache.estimate_size(shared) == sys.getsizeof(shared)


def test_an_estimate_reads_slots_and_leaves_sqlalchemy_state_out():
    class Slotted:
        __slots__ = ("text", "unset", "__weakref__")

        def __init__(self) -> None:
            self.text = "s" * 3_000

    slotted = Slotted()
    assert cache.estimate_size(slotted) == sys.getsizeof(slotted) + sys.getsizeof(slotted.text)
    # A mapped object counts its column values, not SQLAlchemy's bookkeeping
    # (shared with the mapper, the session and every other object).
    row = cache.CacheGeneration(id=7, token="t" * 32)
    assert cache.estimate_size(row) == (
        sys.getsizeof(row) + sys.getsizeof(row.id) + sys.getsizeof(row.token)
    )


def test_an_estimate_stops_walking_after_a_hundred_thousand_objects():
    numbers = list(range(10**6, 10**6 + 150_000))  # distinct objects, 28 bytes each
    walked = 100_000  # the list and the last 99,999 numbers
    assert cache.estimate_size(numbers) == sys.getsizeof(numbers) + (walked - 1) * 28


def test_an_entry_costs_its_key_its_value_and_the_overhead():
    store = cache.PageCache(max_bytes=1_000_000)
    key, page = ("page", "k" * 10_000), "p" * 20_000
    store.get_or_compute("token", key, lambda: page)
    assert store.size == (
        cache.ENTRY_OVERHEAD + cache.estimate_size(key) + cache.estimate_size(page)
    )


def test_an_entry_the_exact_size_of_the_cache_is_kept():
    key, page = "key", "p" * 20_000
    exact = cache.ENTRY_OVERHEAD + cache.estimate_size(key) + cache.estimate_size(page)
    store = cache.PageCache(max_bytes=exact)
    store.get_or_compute("token", key, lambda: page)
    assert store.get_or_compute("token", key, lambda: "made again") is page
    assert store.size == exact
