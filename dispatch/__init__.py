"""Dispatch: the park as a linear programme (storage, flexible loads, grid), solved with HiGHS."""
