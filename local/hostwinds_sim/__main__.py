"""`python -m local.hostwinds_sim --port 8089 --key hwkey-local`: serve until Ctrl-C."""

from __future__ import annotations

import argparse
import threading

from local.hostwinds_sim.server import HostwindsSimulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.hostwinds_sim", description="Hostwinds Cloud API simulator"
    )
    parser.add_argument("--port", type=int, default=8089, help="0 lets the OS choose")
    parser.add_argument(
        "--key", action="append", required=True, help="an accepted API key (repeatable)"
    )
    parser.add_argument(
        "--activation-delay", type=float, default=0.0, help="seconds from create to ACTIVE"
    )
    args = parser.parse_args(argv)
    with HostwindsSimulator(
        api_keys=set(args.key), activation_delay_s=args.activation_delay, port=args.port
    ) as sim:
        print(f"Hostwinds simulator listening on {sim.url} (Ctrl-C to stop)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopping", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
