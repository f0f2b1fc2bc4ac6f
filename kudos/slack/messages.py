"""The Slack messages about a kudos, in Block Kit, honouring each
recipient's style: a celebratory recipient gets air horns and a mention;
a low-key one is named plainly, without a ping; one who asked to be left
out of channel posts is not named there at all (``announce.py`` tells
them privately instead).

Every text a person wrote (names, messages, value names) is escaped for
Slack's mrkdwn, so a message can't ping ``<!channel>`` or hide a link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kudos.people.models import Person
from kudos.recognition.compose import join_names
from kudos.recognition.models import Kudos
from kudos.urls import external_url

Block = dict[str, Any]

APPLAUD = "kudos_applaud"
# URL buttons still send an action to the app, which must answer it.
LINK_PREFIX = "link_"
SECTION_LIMIT = 3000
QUOTE_LIMIT = 2000


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: ``&``, ``<`` and ``>``, nothing else."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(message: str) -> str:
    shown = message if len(message) <= QUOTE_LIMIT else message[: QUOTE_LIMIT - 1] + "…"
    return "\n".join("> " + escape(line) if line else ">" for line in shown.split("\n"))


def style_of(person: Person) -> str:
    return person.preference.style if person.preference is not None else "low_key"


def in_channel(person: Person) -> bool:
    """Whether ``person`` may be named in a channel post."""
    return person.active and (person.preference is None or person.preference.in_slack_channel)


def value_names(kudos: Kudos) -> str:
    return " · ".join(f"{value.emoji} *{escape(value.name)}*".strip() for value in kudos.values)


def name_of(person: Person, mentions: Mapping[int, str]) -> str:
    """A mention for a person in ``mentions`` (the celebratory ones Slack
    knows, ``delivery.SlackSender._mentions``), else the plain name."""
    if person.id in mentions:
        return f"<@{mentions[person.id]}>"
    return f"*{escape(person.name)}*"


def channel_post(
    kudos: Kudos, named: Sequence[Person], mentions: Mapping[int, str], applause: int
) -> tuple[str, list[Block]]:
    """The post in a channel: festive for the celebratory recipients, plain
    for the low-key ones, with an applause button."""
    sender = escape(kudos.sender.name)
    celebratory = [person for person in named if style_of(person) == "celebratory"]
    names = join_names([name_of(person, mentions) for person in named])
    fallback = f"{sender} thanked {join_names([escape(person.name) for person in named])}"
    blocks: list[Block] = []
    if celebratory:
        cheered = join_names([name_of(person, mentions) for person in celebratory])
        blocks.append(section(f":mega: :balloon: :tada: Air horns and balloons for {cheered}!"))
    blocks.append(section(f"*{sender}* thanked {names} for {value_names(kudos)}"))
    blocks.append(section(quote(kudos.message)))
    blocks.append(
        {
            "type": "actions",
            "block_id": f"kudos_{kudos.id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": APPLAUD,
                    "text": {"type": "plain_text", "text": applause_label(applause)},
                    "value": str(kudos.id),
                },
                _link_button("Open in Kudos", external_url("recognition.show", kudos_id=kudos.id)),
            ],
        }
    )
    return fallback, blocks


def applause_label(count: int) -> str:
    return ":clap: Applaud" + (f" ({count})" if count else "")


def direct_message(kudos: Kudos, person: Person, *, left_out: bool) -> tuple[str, list[Block]]:
    """What a recipient is told privately: their notification, or the
    channel post they asked not to be named in."""
    sender = escape(kudos.sender.name)
    festive = style_of(person) == "celebratory"
    opening = ":tada: " if festive else ""
    blocks = [
        section(f"{opening}*{sender}* thanked you for {value_names(kudos)}"),
        section(quote(kudos.message)),
        {
            "type": "actions",
            "block_id": f"dm_{kudos.id}",
            "elements": [
                _link_button("Open in Kudos", external_url("recognition.show", kudos_id=kudos.id))
            ],
        },
    ]
    why = (
        "This kudos is public. You asked not to be named in Slack channels, "
        "so you're told here instead."
        if left_out
        else "You get these because you chose Slack messages in your recognition preferences."
    )
    settings = external_url("preferences.settings")
    blocks.append(context(f"{why} <{settings}|Change how you're recognised>"))
    return f"{sender} thanked you", blocks


def section(text: str) -> Block:
    """A block of mrkdwn (escape what people wrote first), cut to Slack's limit."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _link_button(label: str, url: str) -> Block:
    return {
        "type": "button",
        "action_id": LINK_PREFIX + label.lower().replace(" ", "_"),
        "text": {"type": "plain_text", "text": label},
        "url": url,
    }
