"""THE BASELINE, NOT THE PRODUCT: the seed project's app, as people write it.

A Flask page with the Moscow time, run by Flask's development server. It
exists only so `nox -s bench` can measure what our practices improve on.
"""

from datetime import datetime, timedelta, timezone

from flask import Flask, Response, jsonify

app = Flask(__name__)
MOSCOW = timezone(timedelta(hours=3))


@app.route("/")
def index() -> str:
    return f"<h1>Moscow time: {datetime.now(MOSCOW):%H:%M:%S}</h1>"


@app.route("/api/time")
def api_time() -> Response:
    now = datetime.now(MOSCOW)
    return jsonify(iso=now.isoformat(), epoch=now.timestamp())


@app.route("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)  # noqa: S104 -- the baseline's naivety is the point
