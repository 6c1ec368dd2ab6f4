"""Which worker owns a subject: stable across processes, by the subject's last token."""

from __future__ import annotations

import zlib

import pytest

from helix.errors import ConfigError
from projections.partitions import check_partitionable, partition_of
from projections.registry import all_projectors


def test_the_symbol_decides_the_partition() -> None:
    a = partition_of(b"mkt.bybit.trade.BTCUSDT", 4)
    assert a == partition_of(b"mkt.bybit.ticker.BTCUSDT", 4)
    assert a == zlib.crc32(b"BTCUSDT") % 4


def test_partitions_cover_every_worker_for_enough_symbols() -> None:
    symbols = [f"S{i}USDT".encode() for i in range(64)]
    assert {partition_of(b"mkt.v.trade." + s, 4) for s in symbols} == {0, 1, 2, 3}


def test_ledger_projectors_run_as_one_worker() -> None:
    every = all_projectors()
    check_partitionable(every["candles"], 4)
    check_partitionable(every["accounts"], 1)
    with pytest.raises(ConfigError):
        check_partitionable(every["accounts"], 2)
    with pytest.raises(ConfigError):
        check_partitionable(every["candles"], 0)
