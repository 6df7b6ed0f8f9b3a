"""The app under one set of server settings, for `python -m tools.bench.sweep`.

Run in the app's image as `python3 tuned_server.py THREADS SWITCH_INTERVAL`:
our server and app, with that many worker threads and that GIL switch
interval (sys.setswitchinterval), on 0.0.0.0:5000.
"""

import sys

from moscow_time.__main__ import configure_logging
from moscow_time.app import create_app
from moscow_time.server import Server

if __name__ == "__main__":
    threads, interval = int(sys.argv[1]), float(sys.argv[2])
    sys.setswitchinterval(interval)
    configure_logging()
    server = Server(create_app(), host="0.0.0.0", port=5000, threads=threads)  # noqa: S104
    server.install_signal_handlers()
    server.serve_forever()
