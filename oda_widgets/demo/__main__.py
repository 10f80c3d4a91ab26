"""``python -m oda_widgets.demo [--port N] [--speed F] [--legacy-meta-data] [--host H] [--workflows DIR ...]``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from oda_widgets.demo import make_token, start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m oda_widgets.demo",
        description="Run the demo ODA dispatcher (ISGRI, JEM-X, SPI-ACS, and workflow instruments).",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--speed", type=float, default=1.0, help="job speed factor (default 1)")
    parser.add_argument(
        "--legacy-meta-data", action="store_true", help="answer /api/meta-data in the old JSON-string form"
    )
    parser.add_argument(
        "--workflows",
        action="append",
        metavar="DIR",
        default=[],
        help="a folder of nb2workflow notebooks to serve as one more instrument (repeatable; needs "
        "'pip install oda-widgets[workflows]')",
    )
    parser.add_argument(
        "--no-shipped-workflows", action="store_true", help="leave out the demo's own workflow instrument"
    )
    parser.add_argument("--no-workflows", action="store_true", help="serve the INTEGRAL instruments only")
    parser.add_argument("--ontology", metavar="TTL", help="ontology file for the workflow instruments")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # Installed before anything is printed, so a SIGTERM right after start-up still stops cleanly.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # one line per request on stderr (tokens redacted by the package's log filter)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    requests_log = logging.getLogger("oda_widgets.demo.requests")
    requests_log.addHandler(handler)
    requests_log.setLevel(logging.INFO)
    if args.no_workflows:
        workflows = False
    else:
        workflows = args.workflows or None
    server = start(
        port=args.port,
        speed=args.speed,
        host=args.host,
        legacy_meta_data=args.legacy_meta_data,
        quiet=False,
        workflows=workflows,
        shipped_workflows=not args.no_shipped_workflows,
        ontology=args.ontology,
    )
    print(f"demo dispatcher at {server.url}", flush=True)
    print(f"a token it accepts (24 h): {make_token()}", flush=True)
    if server.workflows.note:
        print(server.workflows.note, flush=True)
    # A dedicated server: start the workflow services now rather than on the first request.
    server.workflows.start_in_background()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
