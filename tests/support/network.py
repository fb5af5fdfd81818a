"""The network around the provider's outgoing calls, for the SSRF tests: a raw TCP listener
that counts who connects, a resolver that answers chosen addresses for chosen names, and a
certificate authority for an https server on a local port."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_real_getaddrinfo = socket.getaddrinfo


@dataclass
class Listener:
    """A port that accepts connections and counts them. It says ``banner`` and hangs up; with
    ``drip``, it answers a 200 and sends its body a byte every 50 ms for 3 s; with neither, it keeps the
    connection open and silent (the caller times out)."""

    host: str
    port: int = 0
    connections: int = 0
    _open: list = field(default_factory=list)


def _drip(conn, stop: threading.Event) -> None:
    try:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n[")
        for _ in range(60):  # three seconds of it, then silence
            if stop.wait(0.05):
                return
            conn.sendall(b" ")
    except OSError:
        return


@contextmanager
def listening(host: str = "127.0.0.1", port: int = 0, banner: bytes | None = None, drip: bool = False):
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.bind((host, port))
    sock.listen(16)
    sock.settimeout(0.05)
    listener = Listener(host, sock.getsockname()[1])
    stop = threading.Event()
    threads = []

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            listener.connections += 1
            if banner is not None:
                with conn:
                    conn.sendall(banner)
                continue
            listener._open.append(conn)
            if drip:
                threads.append(threading.Thread(target=_drip, args=(conn, stop), daemon=True))
                threads[-1].start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        stop.set()
        for t in (thread, *threads):
            t.join(timeout=5)
        for conn in listener._open:
            conn.close()
        sock.close()


class Resolver:
    """``socket.getaddrinfo`` answering chosen addresses for chosen names, one answer per lookup
    (the last one repeats), and as usual for every other host. ``lookups`` counts per name."""

    def __init__(self, monkeypatch):
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: dict[str, int] = {}
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def answer(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = [list(a) for a in answers]

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return _real_getaddrinfo(host, port, family, type, proto, flags)
        self.lookups[name] = self.lookups.get(name, 0) + 1
        queue = self.answers[name]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        port = int(port or 0)
        infos = []
        for address in addresses:
            if ipaddress.ip_address(address).version == 6:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port)))
        if family:
            infos = [i for i in infos if i[0] == family]
        if not infos:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return infos


@dataclass(frozen=True)
class ServerCertificate:
    ca_file: str
    cert_file: str
    key_file: str


def issue_certificate(folder: Path, names: list[str]) -> ServerCertificate:
    """A test CA (written to ``ca.pem``) and a server certificate for ``names`` signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test agencies' CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = ServerCertificate(str(folder / "ca.pem"), str(folder / "server.pem"), str(folder / "server.key"))
    Path(files.ca_file).write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    Path(files.cert_file).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    Path(files.key_file).write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files
