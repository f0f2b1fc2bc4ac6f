"""Print a digest of the API's answers to fixed questions, to compare two
trees byte for byte on one database (a refactoring must not change them).

    KUDOS_DATABASE_URL=sqlite:////tmp/answers.db kudos seed --users 60 --kudos 800 --months 3
    kudos tokens create SOMEONE@… > /tmp/token   # a manager, for the summary
    python scripts/api_answers.py /path/to/old/tree /tmp/token > old.txt
    python scripts/api_answers.py . /tmp/token > new.txt && diff old.txt new.txt

With ``KUDOS_BASE_URL`` and ``KUDOS_SECRET_KEY`` set as for any command.
Past months only, so that both runs see the same numbers.
"""

from __future__ import annotations

import hashlib
import os
import sys


def main(tree: str, token_file: str) -> None:
    sys.path.insert(0, os.path.abspath(tree))
    os.chdir(tree)
    from kudos import create_app

    app = create_app({"RATELIMIT_ENABLED": False})
    token = open(token_file).read().split()[-1]  # noqa: SIM115
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    first = client.get("/api/v1/kudos?limit=5", headers=headers).json
    sender = first["items"][0]["sender"]["id"]
    questions = [
        "/api/v1/kudos?limit=100",
        f"/api/v1/kudos?limit=7&before={first['next'] or ''}",
        f"/api/v1/kudos?limit=30&direction=given&person={sender}",
        f"/api/v1/kudos/{first['items'][0]['id']}",
        "/api/v1/values",
        "/api/v1/users?q=a&limit=20",
        "/api/v1/me/preferences",
        "/api/v1/leaderboard?month=2026-10&board=received&limit=100",
        "/api/v1/leaderboard?month=2026-09&board=given",
        "/api/v1/manager/summary?month=2026-10",
        "/api/v1/manager/summary?month=2026-09&indirect=true",
        "/api/v1/kudos?limit=0&team=nope",
        "/api/v1/kudos/999999",
        "/api/v1/leaderboard?month=2099-01",
    ]
    for url in questions:
        answer = client.get(url, headers=headers)
        digest = hashlib.sha256(answer.data).hexdigest()[:16]
        print(answer.status_code, url, len(answer.data), digest)


if __name__ == "__main__":
    main(*sys.argv[1:3])
