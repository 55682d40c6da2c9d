"""The SSRF guard: what a data address may point at, before a request and when a connection opens."""

import asyncio
import socket

import aiohttp
import pytest

from connector.services.ssrf import Allowlist, SsrfRefused, check_backend_url, guarded_session


@pytest.mark.parametrize("url, why", [
    ("file:///etc/passwd", "scheme 'file'"),
    ("ftp://files.example.com/x", "scheme 'ftp'"),
    ("gopher://127.0.0.1:25/", "scheme 'gopher'"),
    ("http:///no-host", "no host"),
    ("http://127.0.0.1:8080/admin", "loopback"),
    ("http://127.9.9.9/", "loopback"),
    ("http://localhost/", "loopback"),
    ("http://api.localhost/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://10.0.0.8/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://100.64.0.1/", "not globally routable"),
    ("http://224.0.0.1/", "multicast"),
])
def test_refused_without_an_allowlist(url, why):
    with pytest.raises(SsrfRefused) as caught:
        check_backend_url(url, [])
    assert why in caught.value.reason


def test_public_addresses_pass():
    assert [str(ip) for ip in check_backend_url("https://93.184.216.34/data", [])] == ["93.184.216.34"]
    assert check_backend_url("http://[2606:2800:220:1:248:1893:25c8:1946]:8080/", [])


def test_the_allowlist_admits_hosts_and_networks():
    allow = ["127.0.0.1", "10.20.0.0/16", "backend.internal"]
    check_backend_url("http://127.0.0.1:9000/", allow)
    check_backend_url("http://10.20.3.4/", allow)
    check_backend_url("http://BACKEND.internal./x", allow)  # names compare case-insensitively, without the root dot
    with pytest.raises(SsrfRefused):
        check_backend_url("http://127.0.0.2/", allow)
    with pytest.raises(SsrfRefused):
        check_backend_url("http://10.21.0.1/", allow)
    with pytest.raises(SsrfRefused, match="scheme"):
        check_backend_url("file:///etc/passwd", allow)  # the allowlist never admits other schemes


def test_names_are_resolved_and_every_address_counts(monkeypatch):
    def fake(host, port, *args, **kw):  # type: ignore[no-untyped-def]
        answers = {"mixed.example": ["93.184.216.34", "192.168.0.10"], "public.example": ["93.184.216.34"]}
        if host not in answers:
            raise socket.gaierror("not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers[host]]
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    check_backend_url("https://public.example/", [])
    with pytest.raises(SsrfRefused, match="192.168.0.10, a private address"):
        check_backend_url("https://mixed.example/", [])
    with pytest.raises(SsrfRefused, match="does not resolve"):
        check_backend_url("https://nowhere.example/", [])
    # without resolution (inside a transaction), names pass until they are resolved at call time
    assert check_backend_url("https://mixed.example/", [], resolve=False) == []


def test_the_connect_time_guard_holds_for_the_sessions_it_builds(backend):
    server, _ = backend

    async def get(allowlist: list[str]) -> int:
        async with guarded_session(Allowlist.parse(allowlist)) as session:
            async with session.get(f"http://localhost:{server.port}/status/200") as answer:
                return answer.status
    # no check before the request here: the name's addresses are refused as it is dialled
    with pytest.raises(aiohttp.ClientConnectorError, match="refused by the SSRF guard"):
        asyncio.run(get([]))
    assert asyncio.run(get(["127.0.0.1", "::1"])) == 200
    assert asyncio.run(get(["localhost"])) == 200


def test_a_data_address_at_a_forbidden_backend_is_refused_at_request_time(dw):
    for asset, url in (("meta", "http://169.254.169.254/latest/meta-data/"), ("file", "file:///etc/passwd"),
                       ("other-loopback", "http://127.0.0.2:9/")):
        edr = dw.pull(asset, {"type": "HttpData", "baseUrl": url})
        answer = dw.fetch(edr)
        assert answer.status_code == 502, answer.text
        body = answer.json()
        assert body["error"] == "backend_refused" and "refused" in body["reason"]


def test_an_oauth2_token_url_is_guarded_too(dw):
    edr = dw.pull("oauth", {"type": "HttpData", "baseUrl": dw.backend.url + "/protected",
                            "oauth2:tokenUrl": "http://169.254.169.254/token", "oauth2:clientId": "pontis",
                            "oauth2:clientSecret": "s3cret"})
    answer = dw.fetch(edr)
    assert answer.status_code == 502 and "token URL is refused" in answer.json()["reason"]


def test_the_allowlist_is_checked_when_the_config_is_read():
    from pydantic import ValidationError

    from connector.config import DataPlaneSettings

    assert DataPlaneSettings(allowlist=["127.0.0.1", "10.0.0.0/8", "::1", "backend.internal"]).allowlist
    with pytest.raises(ValidationError, match="expected a host name"):
        DataPlaneSettings(allowlist=["http://backend"])
