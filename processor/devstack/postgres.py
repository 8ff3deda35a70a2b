"""A throwaway PostgreSQL cluster from the system's binaries, on its own port, loopback only.

initdb refuses to run as root, so when the tool runs as root the cluster belongs to the
``postgres`` system user (Debian's package creates it), or ``nobody`` if there is none.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from processor.devstack.process import free_port, is_ours, port_open, spawn, stop, tail
from processor.devstack.state import PostgresState
from processor.devstack.tls import ensure_pki
from processor.errors import StackError
from processor.settings import Settings

__all__ = ["PostgresNode", "find_bindir"]


def find_bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    )
    for c in candidates:
        if (Path(c) / "postgres").exists() and (Path(c) / "initdb").exists():
            return Path(c)
    exe = shutil.which("postgres")
    if exe:
        return Path(exe).parent
    raise StackError(
        "the local PostgreSQL needs the server binaries: apt-get install postgresql "
        "(or set DATABASE_URL to an existing server)"
    )


class PostgresNode:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.state_dir / "postgres"
        self.data = self.home / "data"
        self.sock = self.home / "sock"
        self.log = self.home / "postgres.log"

    def _run_as(self) -> str | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        raise StackError("running as root, and neither a 'postgres' nor a 'nobody' user exists")

    def _chown(self, path: Path, user: str | None) -> None:
        if user:
            pw = pwd.getpwnam(user)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def running(self, st: PostgresState) -> bool:
        return is_ours(st.pid, str(self.data)) and port_open(st.port)

    def start(
        self, st: PostgresState, timeout: float = 60.0, *, secure: bool | None = None
    ) -> PostgresState:
        """Start (idempotent). ``secure``: ``ssl=on`` with the stack's throwaway CA and TCP
        clients accepted over TLS only; None keeps the mode the stack has."""
        if self.running(st):
            if secure is not None and secure != st.secure:
                raise StackError(
                    f"the local PostgreSQL is running {'with' if st.secure else 'without'} "
                    "--secure; stop that stack first (or use another CHATSTATE_STATE_DIR)"
                )
            return st
        if secure is not None:
            st.secure = secure
        bindir = find_bindir()
        user = self._run_as()
        # Every directory on the way must be traversable by the server's user.
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.settings.state_dir.chmod(0o755)
        self.home.mkdir(exist_ok=True)
        self.home.chmod(0o755)
        self.sock.mkdir(exist_ok=True)
        self._chown(self.sock, user)
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            self.data.mkdir()
            self._chown(self.data, user)
            st.password = secrets.token_urlsafe(18)
            pwfile = self.home / "initdb.pw"
            pwfile.write_text(st.password + "\n")
            pwfile.chmod(0o600)
            self._chown(pwfile, user)
            try:
                result = subprocess.run(
                    [
                        str(bindir / "initdb"),
                        "-D",
                        str(self.data),
                        "-U",
                        st.user,
                        f"--pwfile={pwfile}",
                        "--auth=scram-sha-256",
                        "-E",
                        "UTF8",
                        "--no-locale",
                        "--no-instructions",
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                    user=user,
                )
            finally:
                pwfile.unlink(missing_ok=True)
            if result.returncode != 0:
                raise StackError(f"initdb failed:\n{result.stdout}{result.stderr}")
        if not st.port or port_open(st.port):
            st.port = free_port()
        self.log.touch()
        self._chown(self.log, user)
        proc = spawn(
            [
                str(bindir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(st.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.sock}",
                "-c",
                "max_connections=200",
                "-c",
                "shared_buffers=256MB",
                *self._tls_options(st, user),
            ],
            self.log,
            user=user,
        )
        st.pid = proc.pid
        self._wait_ready(st, proc, timeout)
        return st

    def stop(self, st: PostgresState) -> bool:
        # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
        stopped = bool(st.pid) and stop(st.pid or 0, str(self.data), sig=signal.SIGINT)
        st.pid = None
        return stopped

    def url(self, st: PostgresState, database: str | None = None) -> str:
        db = database or st.database
        url = f"postgresql://{st.user}:{st.password}@127.0.0.1:{st.port}/{db}"
        if st.secure:
            # libpq's names, which asyncpg reads from the DSN: TLS, CA-verified, host checked.
            ca = ensure_pki(self.settings.state_dir / "tls").ca
            url += f"?sslmode=verify-full&sslrootcert={ca}"
        return url

    def _tls_options(self, st: PostgresState, user: str | None) -> list[str]:
        """Server options for ``ssl=on``; the key is copied to a file the server's user owns
        (PostgreSQL refuses a key file others can read or that another user owns)."""
        if not st.secure:
            return []
        pki = ensure_pki(self.settings.state_dir / "tls")
        tls = self.home / "tls"
        tls.mkdir(exist_ok=True)
        self._chown(tls, user)
        cert, key = tls / "server.pem", tls / "server.key"
        cert.write_bytes(pki.cert.read_bytes())
        key.touch(mode=0o600)
        key.chmod(0o600)
        key.write_bytes(pki.key.read_bytes())
        hba = tls / "pg_hba.conf"
        # TCP only over TLS (a client that does not ask for it is refused); the socket is local.
        hba.write_text(
            "local all all scram-sha-256\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
        )
        for path in (cert, key, hba):
            self._chown(path, user)
        return [
            "-c", "ssl=on",
            "-c", f"ssl_cert_file={cert}",
            "-c", f"ssl_key_file={key}",
            "-c", f"hba_file={hba}",
        ]

    def _wait_ready(self, st: PostgresState, proc: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StackError(f"PostgreSQL exited at start-up; its log ends:\n{tail(self.log)}")
            if port_open(st.port) and asyncio.run(self._ensure_database(st)):
                return
            time.sleep(0.2)
        raise StackError(f"PostgreSQL did not answer within {timeout:.0f}s:\n{tail(self.log)}")

    async def _ensure_database(self, st: PostgresState) -> bool:
        import asyncpg

        try:
            conn = await asyncpg.connect(self.url(st, "postgres"), timeout=3)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        try:
            exists = await conn.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", st.database
            )
            if not exists:
                await conn.execute(f'CREATE DATABASE "{st.database}"')
            return True
        finally:
            await conn.close()
