"""The deployment's CA and the broker certificate: made once, kept, reissued only when needed."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509

from central_server.broker.tls import TlsPaths, ensure_ca, ensure_server_cert, issue_client_cert


def _names(path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = names.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]
    return set(dns) | set(ips)


def test_the_ca_is_created_once_and_never_replaced(tmp_path: Path) -> None:
    paths = TlsPaths(tmp_path / "tls")
    written = ensure_ca(paths)
    assert {w.path.name: oct(w.mode) for w in written} == {"ca.key": "0o600", "ca.crt": "0o644"}
    assert paths.ca_key.stat().st_mode & 0o777 == 0o600
    before = paths.ca_cert.read_bytes()
    assert ensure_ca(paths) == []
    assert paths.ca_cert.read_bytes() == before


def test_the_server_certificate_names_the_broker_and_chains_to_the_ca(tmp_path: Path) -> None:
    paths = TlsPaths(tmp_path / "tls")
    ensure_ca(paths)
    ensure_server_cert(paths, ["broker.donghoi.vn", "10.0.0.5"])
    assert _names(paths.server_cert) == {"broker.donghoi.vn", "10.0.0.5"}
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(paths.server_cert.read_bytes())
    server.verify_directly_issued_by(ca)
    assert paths.server_key.stat().st_mode & 0o777 == 0o640
    assert ipaddress.ip_address("10.0.0.5")  # an address, written as an IP SAN above


def test_the_server_certificate_is_reissued_only_when_the_names_change(tmp_path: Path) -> None:
    paths = TlsPaths(tmp_path / "tls")
    ensure_ca(paths)
    ensure_server_cert(paths, ["broker.donghoi.vn"])
    first = paths.server_cert.read_bytes()
    assert ensure_server_cert(paths, ["broker.donghoi.vn"]) == []
    assert ensure_server_cert(paths, ["broker.donghoi.vn", "127.0.0.1"]) != []
    assert paths.server_cert.read_bytes() != first


def test_client_certificates_are_for_client_authentication(tmp_path: Path) -> None:
    paths = TlsPaths(tmp_path / "tls")
    ensure_ca(paths)
    written = issue_client_cert(paths, "dh-cam-001")
    cert = x509.load_pem_x509_certificate(written[1].path.read_bytes())
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in usage
    assert written[0].path.stat().st_mode & 0o777 == 0o600
