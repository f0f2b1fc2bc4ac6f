"""What a service raises when a person's request breaks a rule."""

from __future__ import annotations


class Refused(Exception):
    """``fields`` maps each field (or ``"__all__"``) to what is wrong with
    it, in words for the person, so a form shows each beside its field and
    the API lists them all."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{name}: {text}" for name, text in fields.items()))
