"""A confined HTTP client for the probe checks: GET/HEAD under one wwwroot, short timeouts.

Every request goes to the wwwroot's scheme, host and port (or, for ``http_get``, the same host
over plain HTTP), below the wwwroot's path; redirects are reported, never followed. Responses
are cached per scan so each URL is fetched once. Bodies are read up to ``BODY_LIMIT`` bytes.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 5.0
BODY_LIMIT = 64 * 1024
USER_AGENT = "moodle-soc-probe (read-only)"


@dataclass(frozen=True)
class Response:
    """What one request returned (``status`` 0 with ``error`` when nothing answered)."""

    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    error: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class TlsInfo:
    """The TLS handshake with the wwwroot: negotiated protocol and the certificate's expiry."""

    protocol: str | None
    not_after: datetime | None
    verified: bool
    verify_error: str | None = None


class WebProbe:
    """Requests confined to one wwwroot. ``requested`` lists every URL asked, in order."""

    def __init__(
        self,
        wwwroot: str,
        *,
        timeout: float = TIMEOUT_SECONDS,
        cafile: str | None = None,
        http_port: int = 80,
    ) -> None:
        parts = urlsplit(wwwroot.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"wwwroot {wwwroot!r} is not an http(s) URL.")
        self.wwwroot = wwwroot.rstrip("/")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.base_path = parts.path.rstrip("/")
        self.timeout = timeout
        self.cafile = cafile
        self.http_port = http_port
        self.requested: list[str] = []
        self._cache: dict[tuple[str, str, bool], Response] = {}
        self._tls: TlsInfo | None = None

    def _context(self, verify: bool) -> ssl.SSLContext:
        if not verify:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return ssl.create_default_context(cafile=self.cafile)

    def get(self, path: str) -> Response:
        """GET ``path`` (relative to the wwwroot, starting with ``/``) on the wwwroot itself."""
        return self._request("GET", path, plain_http=False)

    def head(self, path: str) -> Response:
        return self._request("HEAD", path, plain_http=False)

    def http_get(self, path: str) -> Response:
        """GET ``path`` on the wwwroot's host over plain HTTP (``http_port``)."""
        return self._request("GET", path, plain_http=True)

    def _request(self, method: str, path: str, *, plain_http: bool) -> Response:
        if (
            not path.startswith("/")
            or path.startswith("//")
            or "://" in path
            or ".." in path.split("/")
        ):
            raise ValueError(f"probe path {path!r} must stay below the wwwroot.")
        key = (method, path, plain_http)
        if key in self._cache:
            return self._cache[key]
        secure = self.https and not plain_http
        port = self.http_port if plain_http else self.port
        scheme = "https" if secure else "http"
        target = f"{self.base_path}{path}"
        url = f"{scheme}://{self.host}{'' if port in (80, 443) else f':{port}'}{target}"
        self.requested.append(f"{method} {url}")
        connection: http.client.HTTPConnection
        if secure:  # headers and bodies are read, not trusted: the TLS check judges the cert
            connection = http.client.HTTPSConnection(
                self.host, port, timeout=self.timeout, context=self._context(verify=False)
            )
        else:
            connection = http.client.HTTPConnection(self.host, port, timeout=self.timeout)
        try:
            connection.request(method, target, headers={"User-Agent": USER_AGENT})
            reply = connection.getresponse()
            body = reply.read(BODY_LIMIT) if method == "GET" else b""
            headers: dict[str, str] = {}
            for name, value in reply.getheaders():
                low = name.lower()
                headers[low] = f"{headers[low]}, {value}" if low in headers else value
            response = Response(url, reply.status, headers, body)
        except (OSError, http.client.HTTPException) as error:
            response = Response(url, 0, error=" ".join(str(error).split()) or type(error).__name__)
        finally:
            connection.close()
        self._cache[key] = response
        return response

    def tls(self) -> TlsInfo:
        """The handshake with the wwwroot (https only): protocol, expiry, whether it verifies."""
        if self._tls is not None:
            return self._tls
        self.requested.append(f"TLS {self.host}:{self.port}")
        verify_error = None
        try:
            with (
                socket.create_connection((self.host, self.port), timeout=self.timeout) as raw,
                self._context(verify=True).wrap_socket(raw, server_hostname=self.host),
            ):
                pass
            verified = True
        except ssl.SSLCertVerificationError as error:
            verified, verify_error = False, error.verify_message or str(error)
        except (OSError, ssl.SSLError):
            verified = False
        protocol, not_after = None, None
        with (
            socket.create_connection((self.host, self.port), timeout=self.timeout) as raw,
            self._context(verify=False).wrap_socket(raw, server_hostname=self.host) as tls,
        ):
            protocol = tls.version()
            der = tls.getpeercert(binary_form=True)
        if der:
            from cryptography import x509

            not_after = x509.load_der_x509_certificate(der).not_valid_after_utc
        self._tls = TlsInfo(protocol, not_after, verified, verify_error)
        return self._tls


def now_utc() -> datetime:
    return datetime.now(UTC)
