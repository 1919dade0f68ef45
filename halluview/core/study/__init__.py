"""Robustness studies: grids of independent, keyed attack cells and their tidy table (Qt-free)."""
