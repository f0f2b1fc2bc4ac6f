"""The baseline for HTTP benchmarks: a bare Flask endpoint, nothing else."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "ok"
