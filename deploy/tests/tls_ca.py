"""A throw-away certificate authority for the TLS tests (edge, Promtail, browser, lab).

Certificates are made with the `cryptography` library (PyPI), the way an operator's private CA
or a public ACME CA would issue them: a self-signed CA with basicConstraints CA:TRUE, and
server certificates with the names in subjectAltName and extendedKeyUsage serverAuth.
The file names are the edge's (fullchain.pem, privkey.pem), so a folder written by
`write_server_files` can be mounted as EDGE_TLS_DIR as it is.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PEM = serialization.Encoding.PEM


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _names(names: list[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


@dataclass
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    @property
    def serial(self) -> int:
        return self.certificate.serial_number


class TestCA:
    __test__ = False   # a helper, not a pytest class
    """One CA; `issue` makes server certificates signed by it."""

    def __init__(self, name: str = "Lookout test CA"):
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(days=1))
            .not_valid_after(_now() + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(PEM)

    def write(self, path: Path) -> Path:
        path.write_bytes(self.pem)
        path.chmod(0o644)
        return path

    def issue(self, names: list[str], *, expired: bool = False, days: int = 30, rsa_key: bool = False) -> Issued:
        """A server certificate for `names` (DNS names or IP addresses); `expired` makes one
        whose validity ended yesterday; `rsa_key` an RSA-2048 key instead of ECDSA P-256."""
        key = rsa.generate_private_key(65537, 2048) if rsa_key else ec.generate_private_key(ec.SECP256R1())
        start = _now() - dt.timedelta(days=10 if expired else 1)
        end = _now() - dt.timedelta(days=1) if expired else _now() + dt.timedelta(days=days)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(_names(names)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return Issued(certificate, key)


def write_server_files(folder: Path, issued: Issued) -> Path:
    """fullchain.pem and privkey.pem as the edge reads them from EDGE_TLS_DIR."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    (folder / "fullchain.pem").write_bytes(issued.cert_pem)
    (folder / "privkey.pem").write_bytes(issued.key_pem)
    (folder / "privkey.pem").chmod(0o600)
    return folder


def served_serial(s_client_output: str) -> int | None:
    """The serial number of the first certificate in `openssl s_client -showcerts` output."""
    start = s_client_output.find("-----BEGIN CERTIFICATE-----")
    if start < 0:
        return None
    end = s_client_output.index("-----END CERTIFICATE-----", start) + len("-----END CERTIFICATE-----")
    return x509.load_pem_x509_certificate(s_client_output[start:end].encode()).serial_number
