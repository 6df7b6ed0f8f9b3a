"""The app under one set of server settings, for `python -m tools.bench.sweep` and `.profile`.

Run in the app's image as
`python3 tuned_server.py THREADS SWITCH_INTERVAL [QUEUE_LOG [WAITRESS_SETTING=INT ...]]`:
our server and app, with that many worker threads and that GIL switch
interval (sys.setswitchinterval), on 0.0.0.0:5000. QUEUE_LOG `on` turns
Waitress's per-request "Task queue depth" warning back on, as it was before
moscow_time.limits.quiet_waitress_queue. Each WAITRESS_SETTING=INT overrides
one of moscow_time.server.WAITRESS_SETTINGS (send_bytes=65536, for example).
"""

import logging
import sys

from moscow_time.__main__ import configure_logging
from moscow_time.app import create_app
from moscow_time.server import WAITRESS_SETTINGS, Server

if __name__ == "__main__":
    threads, interval = int(sys.argv[1]), float(sys.argv[2])
    queue_log = len(sys.argv) > 3 and sys.argv[3] == "on"
    for setting in sys.argv[4:]:
        key, value = setting.split("=")
        WAITRESS_SETTINGS[key] = int(value)
    sys.setswitchinterval(interval)
    configure_logging()
    logging.getLogger("waitress.queue").disabled = not queue_log
    server = Server(create_app(), host="0.0.0.0", port=5000, threads=threads)  # noqa: S104
    server.install_signal_handlers()
    server.serve_forever()
