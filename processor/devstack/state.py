"""What the stack remembers between commands: ports, PIDs, the database password."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

__all__ = ["KafkaState", "PostgresState", "StackState"]


class KafkaState(BaseModel):
    version: str = ""
    port: int = 0
    controller_port: int = 0
    pid: int | None = None
    cluster_id: str = ""
    # The secure stack (`dev up --secure`): a SASL_SSL listener, one SCRAM-SHA-512 user.
    secure: bool = False
    sasl_username: str = "chatstate"
    sasl_password: str = ""


class PostgresState(BaseModel):
    port: int = 0
    pid: int | None = None
    user: str = "chatstate"
    password: str = ""
    database: str = "chatstate"
    secure: bool = False  # ssl=on and hostssl only: clients must use TLS (verify-full)


class StackState(BaseModel):
    kafka: KafkaState = KafkaState()
    postgres: PostgresState = PostgresState()

    @staticmethod
    def path(state_dir: Path) -> Path:
        return state_dir / "stack.json"

    @classmethod
    def load(cls, state_dir: Path) -> StackState:
        p = cls.path(state_dir)
        return cls.model_validate_json(p.read_text()) if p.exists() else cls()

    def save(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        p = self.path(state_dir)
        tmp = p.with_suffix(".tmp")
        # The file holds the throwaway database's password: owner-only.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.model_dump(), f, indent=2)
        tmp.replace(p)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump()
