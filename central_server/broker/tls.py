"""The deployment's own CA and the broker's certificates (ECDSA P-256, `cryptography`).

`ensure_ca` creates the CA once and reuses it afterwards (boxes trust it from enrolment on, so
it must not change under them); `ensure_server_cert` issues the broker's certificate for the
given host names and addresses, and issues it again only when the names change, the CA changed
or it nears its end. Client certificates are optional (boxes log in with passwords); they are
there for deployments that want the broker to require them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from central_server.broker.files import BROKER_READS, PUBLIC, SECRET, Written, write_file

logger = logging.getLogger(__name__)

CA_DAYS = 3650
CERT_DAYS = 397  # what browsers and most TLS stacks accept for a leaf certificate
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class TlsPaths:
    """Where the TLS files of a broker output directory live."""

    root: Path

    @property
    def ca_cert(self) -> Path:
        """The CA certificate (boxes and the server's clients trust it)."""
        return self.root / "ca.crt"

    @property
    def ca_key(self) -> Path:
        """The CA's private key (0600; the broker never needs it)."""
        return self.root / "ca.key"

    @property
    def server_cert(self) -> Path:
        """The broker's certificate."""
        return self.root / "server.crt"

    @property
    def server_key(self) -> Path:
        """The broker's private key (0640: the broker's group reads it)."""
        return self.root / "server.key"

    def complete(self) -> bool:
        """Whether the CA and the server certificate exist."""
        return all(p.exists() for p in (self.ca_cert, self.server_cert, self.server_key))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "trafficwatch"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def ensure_ca(paths: TlsPaths, common_name: str = "trafficwatch deployment CA") -> list[Written]:
    """Create the CA unless it exists (an existing CA is never replaced)."""
    if paths.ca_cert.exists() and paths.ca_key.exists():
        return []
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    logger.info("created the deployment CA in %s", paths.root)
    return [
        write_file(paths.ca_key, _key_pem(key), SECRET),
        write_file(paths.ca_cert, _cert_pem(cert), PUBLIC),
    ]


def load_ca(paths: TlsPaths) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The CA certificate and key."""
    cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{paths.ca_key} is not an EC private key")
    return cert, key


def _alt_names(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):  # ordered, unique
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _issue(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    common_name: str,
    usage: x509.ObjectIdentifier,
    hosts: list[str],
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(_alt_names(hosts)), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256()), key


def _server_cert_current(paths: TlsPaths, ca_cert: x509.Certificate, hosts: list[str]) -> bool:
    if not (paths.server_cert.exists() and paths.server_key.exists()):
        return False
    cert = x509.load_pem_x509_certificate(paths.server_cert.read_bytes())
    try:
        cert.verify_directly_issued_by(ca_cert)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    fresh = cert.not_valid_after_utc - _now() > RENEW_BEFORE
    return fresh and set(names) == set(_alt_names(hosts))


def ensure_server_cert(paths: TlsPaths, hosts: list[str]) -> list[Written]:
    """Issue the broker's certificate for `hosts` unless the current one still fits."""
    ca = load_ca(paths)
    if _server_cert_current(paths, ca[0], hosts):
        return []
    cert, key = _issue(ca, hosts[0] if hosts else "broker", ExtendedKeyUsageOID.SERVER_AUTH, hosts)
    logger.info("issued the broker certificate for %s", ", ".join(hosts))
    return [
        write_file(paths.server_key, _key_pem(key), BROKER_READS),
        write_file(paths.server_cert, _cert_pem(cert), PUBLIC),
    ]


def issue_client_cert(paths: TlsPaths, common_name: str) -> list[Written]:
    """A client certificate (for brokers that require one): `clients/<name>.crt` and `.key`."""
    cert, key = _issue(load_ca(paths), common_name, ExtendedKeyUsageOID.CLIENT_AUTH, [])
    folder = paths.root / "clients"
    return [
        write_file(folder / f"{common_name}.key", _key_pem(key), SECRET),
        write_file(folder / f"{common_name}.crt", _cert_pem(cert), PUBLIC),
    ]
