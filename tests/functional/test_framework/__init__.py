"""test_framework: the bwc functional test framework (Python 3 standard library only)."""
