"""Unit tests of the deterministic market simulator (``helix.sim``)."""
