"""Importers: pure parsers that turn recorded exchange files into Helix market events.

Formats (see :mod:`helix.importers.formats`): ``binance-ws`` (Binance USDⓈ-M combined-stream
captures), ``bybit-trades-csv`` (Bybit's public trade archive), ``bybit-ws`` (Bybit public
WebSocket captures), ``klines-csv`` (OHLCV bars of one symbol and interval, given as options)
and ``binance-oi-csv`` (Binance open-interest history).  Parsers read only the file they are
given and never touch the network, the clock or the event store.
"""

# Import order matters: ``formats`` defines what the parser modules import from it, then
# imports them to build the registry (see the end of ``formats``).
from helix.importers.formats import FORMATS, FormatOptions, Parsed, RecordParser, get_format

__all__ = ["FORMATS", "FormatOptions", "Parsed", "RecordParser", "get_format"]
