"""The partner program's on/off settings, changed by finance, each change in the audit log.

A setting that was never set is off: turning one on is a decision someone recorded.
Settings in use: `portal.leaderboard` (`payouts.leaderboard`) and `tax.forms_required`
(`payouts.tax.profiles`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, Session, mapped_column

from payouts import audit
from payouts.base import Base, utcnow


class ProgramSetting(Base):
    """A setting of the partner program as a whole, changed by finance."""

    __tablename__ = "program_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


def is_on(session: Session, name: str) -> bool:
    setting = session.get(ProgramSetting, name)
    return setting is not None and setting.value == "on"


def turn(session: Session, name: str, on: bool, *, actor: str) -> None:
    """Turn the setting `name` on or off, with before and after in the audit log."""
    row = session.get(ProgramSetting, name)
    before = row.value if row is not None else "off"
    value = "on" if on else "off"
    if row is None:
        session.add(ProgramSetting(name=name, value=value, updated_by=actor))
    else:
        row.value, row.updated_by, row.updated_at = value, actor, utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="program.setting",
        subject_type="program",
        subject_id=name,
        before={"value": before},
        after={"value": value},
    )
