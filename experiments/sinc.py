"""Placeholder: the sinc(x) experiment is being written (issue 4)."""
