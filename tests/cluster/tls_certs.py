"""A throwaway CA, a Redis server certificate for 127.0.0.1 and a node client certificate,
made with `cryptography` for the TLS tests."""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tui.engine.lab.cluster_lab import LabRedisTls, find_redis_server


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def make_tls(folder: Path, *, client: bool = True) -> LabRedisTls:
    """CA, server certificate (IP 127.0.0.1) and, with `client`, a client certificate."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("rac test CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def leaf(name: str, san: x509.GeneralName) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([san]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        (folder / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(folder / f"{name}.key", key)

    leaf("redis", x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    if client:
        leaf("node", x509.DNSName("node"))
    return LabRedisTls(
        folder / "redis.crt",
        folder / "redis.key",
        folder / "ca.crt",
        folder / "node.crt" if client else None,
        folder / "node.key" if client else None,
    )


def redis_without_tls() -> str:
    """Why this redis-server cannot serve TLS ("" when it can): builds without it refuse
    the `tls-port` directive."""
    probe = subprocess.run(
        [find_redis_server(), "-"],
        input=b"port 0\ntls-port 0\n",
        capture_output=True,
        timeout=30,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )
    if b"Bad directive" in probe.stdout + probe.stderr:
        return "this redis-server was built without TLS (no tls-port directive)"
    return ""
