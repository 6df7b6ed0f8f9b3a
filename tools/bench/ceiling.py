"""The throughput ceiling: nginx serving a small static file on loopback, under the same wrk."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from tools.bench.measure import Mode
from tools.loopback import free_port, wait_for
from tools.wrk import wrk

NGINX_CONF = """
daemon off;
worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;
  uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
  server {{
    listen 127.0.0.1:{port};
    location / {{ root {dir}/www; }}
  }}
}}
"""


def nginx_ceiling(mode: Mode) -> dict[str, float] | None:
    """wrk against nginx serving a small static file on loopback."""
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        print("bench: nginx is not installed, so there is no throughput ceiling in this run")
        return None
    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        # nginx's workers drop to an unprivileged user, which must read these.
        Path(scratch).chmod(0o755)
        (Path(scratch) / "www").mkdir()
        (Path(scratch) / "tmp").mkdir()
        body = json.dumps({"iso": dt.datetime.now(dt.UTC).isoformat(), "zone": "Europe/Moscow"})
        (Path(scratch) / "www" / "time.json").write_text(body)
        conf = Path(scratch) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=scratch, port=port))
        server = subprocess.Popen([nginx, "-c", str(conf)], stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/time.json"
            if not wait_for(url, within=10, poll=0.05):
                return None
            wrk(url, mode.warmup_s, 16)
            load = wrk(url, mode.load_s, 16)
            return {"rps": load.rps, "p50_ms": load.p50_ms, "p99_ms": load.p99_ms}
        finally:
            server.terminate()
            server.wait(timeout=10)
