"""``zcpark edge GATEWAY.yaml`` and ``zcpark simulate PARK.yaml``."""

from __future__ import annotations

import argparse


def run_edge(args: argparse.Namespace) -> int:
    from edge_agent.agent import run_agent

    return run_agent(args.gateway)


def run_simulate(args: argparse.Namespace) -> int:
    from edge_agent.simulate import run_simulator

    return run_simulator(args)
