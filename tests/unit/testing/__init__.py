"""Unit tests of the pure parts of the test doubles (``helix.testing``)."""
