"""Local web servers the probe tests request: a leaking site, a hardened one, TLS variants.

Each server records every path it was asked for, so a test proves what was (not) requested.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path

LEAKING_FILES = {
    "/.git/HEAD": b"ref: refs/heads/main\n",
    "/composer.json": b'{"name": "moodle/moodle"}',
    "/composer.lock": b"{}",
    "/package.json": b"{}",
    "/Gruntfile.js": b"module.exports = {};",
    "/environment.xml": b"<COMPATIBILITY_MATRIX/>",
    "/lib/upgrade.txt": b"=== 5.1 ===",
    "/vendor/": b"<html>Index of /vendor</html>",
    "/node_modules/": b"<html>Index of /node_modules</html>",
    "/behat/": b"<html>Index of /behat</html>",
    "/admin/cli/": b"<html>Index of /admin/cli</html>",
    "/config.php": b"<?php\n$CFG->dbpass = 'secret';\n",
    "/moodledata/diag/public.txt": b"test file, do not delete",
    "/login/index.php": b"<form>login</form>",
    "/": b"<html>Moodle</html>",
}


@dataclass
class Site:
    """How one server answers: ``leaking`` serves everything with no security headers;
    otherwise only ``/`` and ``/login/index.php`` with hardened headers. ``redirect_to`` turns
    it into a plain-http server that redirects every request there."""

    leaking: bool
    base: str = ""
    redirect_to: str | None = None
    requested: list[str] = field(default_factory=list)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            site.requested.append(self.path)
            if site.redirect_to is not None:
                self.send_response(301)
                self.send_header("Location", site.redirect_to + self.path)
                self.end_headers()
                return
            path = self.path.removeprefix(site.base) if self.path.startswith(site.base) else None
            public = {"/", "/login/index.php"}
            body = LEAKING_FILES.get(path or "") if (site.leaking or path in public) else None
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            if site.leaking:
                self.send_header("X-Powered-By", "PHP/8.1.2")
            else:
                self.send_header("Strict-Transport-Security", "max-age=31536000")
                self.send_header("X-Content-Type-Options", "nosniff")
                self.send_header("X-Frame-Options", "SAMEORIGIN")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)

    return Handler


@contextmanager
def serve(site: Site, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """Serve ``site`` on 127.0.0.1; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def self_signed(directory: Path, days: int) -> tuple[ssl.SSLContext, Path]:
    """A server context with a self-signed certificate for 127.0.0.1 valid ``days`` more days,
    and the certificate's PEM path (the CA file that makes it verify)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / f"cert-{days}.pem"
    key_path = directory / f"key-{days}.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path
