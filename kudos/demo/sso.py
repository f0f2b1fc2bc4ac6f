"""Configuration for trying real single sign-on against the demo company.

``scripts/demo-sso`` runs this to write the test OpenID provider's settings
and one login per demo person (their first name, any password), then starts
the provider and ``kudos demo`` wired to it.

    python -m kudos.demo.sso OUTPUT_DIR PROVIDER_PORT KUDOS_URL
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kudos.demo.data import ADMINS, PEOPLE, email_for
from kudos.text import slugify

CLIENT_ID = "kudos-demo"
CLIENT_SECRET = "kudos-demo-secret-only-for-the-local-test-provider"  # noqa: S105
ADMIN_GROUP = "kudos-admins"


def demo_users() -> dict[str, dict[str, object]]:
    users = {}
    for name, title, department, team, manager in PEOPLE:
        login = slugify(name.split()[0])
        users[login] = {
            "email": email_for(name),
            "email_verified": True,
            "name": name,
            "title": title,
            "department": department,
            "team": team,
            "manager_email": email_for(manager) if manager else None,
            "groups": ["northwind", *([ADMIN_GROUP] if name in ADMINS else [])],
        }
    return users


def write(output: Path, port: int, kudos_url: str) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "users.json").write_text(json.dumps(demo_users(), indent=2))
    (output / "provider.json").write_text(
        json.dumps(
            {
                "port": port,
                "usersFile": "users.json",
                "clients": [
                    {
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                        "redirect_uris": [f"{kudos_url}/auth/callback"],
                        "post_logout_redirect_uris": [f"{kudos_url}/login"],
                    }
                ],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    write(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3].rstrip("/"))
