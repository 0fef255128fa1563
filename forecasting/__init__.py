"""Forecasting of PV, wind and load, with backtests against honest references."""
