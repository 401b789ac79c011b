"""The Python SDK over HTTPS: `ak serve --tls-cert --tls-key` with a certificate made for the
test, trusted through the SDK's own setting (SSL_CERT_FILE feeds its ssl context in
descope/_http_client_base.py), with verification on (skip_verify stays False)."""

from __future__ import annotations

import os
import subprocess

import pytest

from akserver import SUITE_SERVE_ARGS, AkServer, ak_bin
from clients import Sdk


def make_certificate(directory: str) -> tuple[str, str]:
    """A self-signed P-256 certificate for 127.0.0.1, valid for a day, by the openssl command."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    cert, key = make_certificate(str(tmp_path_factory.mktemp("tls")))
    srv = AkServer(ak_bin(), name="pytest-tls", ca_file=cert,
                   serve_args=(*SUITE_SERVE_ARGS, "--tls-cert", cert, "--tls-key", key))
    srv.cert = cert
    srv.management = srv.management_key("compat-tls-admin")
    srv.start()
    yield srv
    assert srv.stop() == 0, f"ak serve did not stop cleanly; log: {srv.log_tail()}"


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_management_exchange_and_validation_over_https(tls_server, kind, monkeypatch):
    assert tls_server.url.startswith("https://127.0.0.1:")
    monkeypatch.setenv("SSL_CERT_FILE", tls_server.cert)
    sdk = Sdk(kind, tls_server, tls_server.management["cleartext"])
    try:
        created = sdk.run(sdk.mgmt.create(name=f"tls {kind}", role_names=["reader"]))
        info = sdk.run(sdk.client.exchange_access_key(created["cleartext"]))
        session = sdk.run(sdk.client.validate_session(info["sessionToken"]["jwt"]))
        assert session["sessionToken"]["sub"] == created["key"]["id"]
        assert sdk.client.validate_roles(session, ["reader"])
    finally:
        sdk.close()


def test_an_untrusted_certificate_is_refused(tls_server):
    # Without the test CA the SDK's verification fails: proof the check above was a real one.
    sdk = Sdk("sync", tls_server, None)
    with pytest.raises(Exception) as excinfo:
        sdk.client.exchange_access_key("ak_whatever")
    assert "CERTIFICATE_VERIFY_FAILED" in repr(excinfo.value) or "certificate" in repr(excinfo.value).lower()
