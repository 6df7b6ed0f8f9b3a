"""Start-up inside the container, without Docker's overhead: run by `docker exec`.

Prints JSON: seconds for a bare `python3 -c pass`, and seconds from starting
`python3 -m moscow_time` to its port accepting a connection, each repeated.
Standard library only: it runs in the distroless image, which has no shell.
"""

import json
import socket
import subprocess
import sys
import time

PORT = 5001
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def bare() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def app() -> float:
    started = time.perf_counter()
    command = [sys.executable, "-m", "moscow_time", "--host", "127.0.0.1", "--port", str(PORT)]
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
                return time.perf_counter() - started
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > 30:
                    raise SystemExit("the app did not listen within 30 s") from None
                time.sleep(0.001)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    print(
        json.dumps(
            {"bare": [bare() for _ in range(ROUNDS)], "app": [app() for _ in range(ROUNDS)]}
        )
    )
