"""The fund's write side wiring: the aggregate on the event store, and the book's valuation."""
