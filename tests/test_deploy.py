"""deploy/: the nginx site in front of gunicorn, run for real; the systemd units checked by
systemd itself; the environment file against what the portal reads (issue 18).

The nginx site runs as the operator installs it, rendered by replacing a few strings only
(SITE_STRINGS below: the code's folder, the ports, gunicorn's address, the certificate, the
ACME and log folders), with a self-signed certificate, before gunicorn serving a migrated
database of its own as in production (PORTAL_ENV=production, PORTAL_PROXY_HOPS=1,
PORTAL_HTTPS=1). The client is curl (HTTP/2, a chosen source address).
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from portal import assets, config
from tests.clusters import gunicorn
from tests.conftest import fresh_database, make_app, migrate

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SITE = DEPLOY / "nginx" / "antt-portal.conf"
UNITS = {name: DEPLOY / "systemd" / f"antt-portal-{name}.service" for name in ("web", "worker")}
NGINX = Path("/usr/sbin/nginx")
CURL = shutil.which("curl")
# the visitor's own address: nginx sees it as the connection's peer, gunicorn sees nginx's
# (127.0.0.1), so the portal knows it only from X-Forwarded-For
VISITOR = "127.0.0.2"
SPOOFED = "203.0.113.7"

needs_nginx = pytest.mark.skipif(
    not NGINX.exists() or CURL is None,
    reason="nginx and curl are installed by scripts/setup.sh --test",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, server: subprocess.Popen) -> None:
    """Until gunicorn answers /healthz as it does behind nginx: PORTAL_HTTPS=1 sends a plain
    http request to https (which gunicorn itself does not speak)."""
    deadline = time.monotonic() + 90
    ask = urllib.request.Request(base + "/healthz", headers={"X-Forwarded-Proto": "https"})
    while True:
        try:
            urllib.request.urlopen(ask, timeout=2)
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("gunicorn did not start: " + server.log.read_text()[-2000:])
            time.sleep(0.2)


# --- the site, rendered and run ---------------------------------------------------------------


def site_strings(tmp: Path, http: int, https: int, upstream: str) -> dict[str, str]:
    """What the test replaces in deploy/nginx/antt-portal.conf, and with what: nothing else."""
    return {
        "/opt/antt-portal/": f"{ROOT}/",
        "127.0.0.1:5000": upstream,
        "listen 80;": f"listen {http};",
        "listen [::]:80;": f"listen [::]:{http};",
        "listen 443 ": f"listen {https} ",
        "listen [::]:443 ": f"listen [::]:{https} ",
        "/etc/letsencrypt/live/portal.example.gov.vn/": f"{tmp}/tls/",
        "/var/www/acme": f"{tmp}/acme",
        "/var/log/nginx/": f"{tmp}/log/",
    }


def render_site(tmp: Path, http: int, https: int, upstream: str) -> str:
    site = SITE.read_text()
    for old, new in site_strings(tmp, http, https, upstream).items():
        assert old in site, f"the site no longer has {old!r}: update SITE_STRINGS"
        site = site.replace(old, new)
    return site


MAIN_CONF = """\
user www-data;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/log/nginx.error.log warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/antt-portal.conf;
}}
"""


@dataclass
class Site:
    https: str  # base URL
    http: str
    tmp: Path
    database_url: str
    gunicorn: str


@pytest.fixture(scope="module")
def portal_database():
    url = fresh_database("antt_portal_deploy")
    migrate(make_app(url))
    return url


@pytest.fixture(scope="module")
def site(portal_database):
    if not NGINX.exists() or CURL is None:
        pytest.skip("nginx and curl are installed by scripts/setup.sh --test")
    # under /tmp itself, open to nginx's workers (www-data): they read the ACME folder and
    # write request bodies to body/ (pytest's own folders are root's alone)
    tmp = Path(tempfile.mkdtemp(prefix="antt-nginx-"))
    tmp.chmod(0o755)
    for folder in ("tls", "log", "acme/.well-known/acme-challenge"):
        (tmp / folder).mkdir(parents=True)
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(tmp / "tls/privkey.pem"), "-out", str(tmp / "tls/fullchain.pem")),
        ],
        check=True,
        capture_output=True,
    )
    env = {
        **os.environ,
        "DATABASE_URL": portal_database,
        "SECRET_KEY": "deploy-test-key",
        "PORTAL_ENV": "production",
        "PORTAL_PROXY_HOPS": "1",
        "PORTAL_HTTPS": "1",
        "PORTAL_LOOKUP_INDEX": "0",  # nothing to index: no areas
    }
    base, server = gunicorn(env, tmp / "log" / "gunicorn.log", workers=1, wait=False)
    wait_until_up(base, server)
    http, https = free_port(), free_port()
    upstream = base.removeprefix("http://")
    (tmp / "antt-portal.conf").write_text(render_site(tmp, http, https, upstream))
    (tmp / "nginx.conf").write_text(MAIN_CONF.format(tmp=tmp))
    nginx = [str(NGINX), "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
    checked = subprocess.run([*nginx, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    proxy = subprocess.Popen(
        [*nginx, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", https), timeout=1).close()
                break
            except OSError:
                if proxy.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("nginx did not start: " + proxy.stderr.read().decode()[-2000:])
                time.sleep(0.1)
        yield Site(
            f"https://127.0.0.1:{https}",
            f"http://127.0.0.1:{http}",
            tmp,
            portal_database,
            base,
        )
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Answer:
    status: int
    version: str
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[-1] if values else None


def curl(url: str, *args: str, source: str = VISITOR, tmp: Path) -> Answer:
    """One request by curl from `source`; the answer's last header block (not a 100)."""
    head, body = tmp / "curl.head", tmp / "curl.body"
    done = subprocess.run(
        [
            *(CURL, "-sS", "-k", "--interface", source, "-D", str(head), "-o", str(body)),
            *("-w", "%{http_code} %{http_version}", *args, url),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    status, version = done.stdout.split()
    headers: dict[str, list[str]] = {}
    block = head.read_text().replace("\r\n", "\n").strip().split("\n\n")[-1]
    for line in block.splitlines()[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return Answer(int(status), version, headers, body.read_bytes())


# --- what the site does ----------------------------------------------------------------------


@needs_nginx
def test_port_80_redirects_to_https_and_answers_acme_challenges(site):
    moved = curl(site.http + "/tra-cuu?q=ba+dinh", tmp=site.tmp)
    assert moved.status == 301
    assert moved.header("location") == "https://127.0.0.1/tra-cuu?q=ba+dinh"
    token = site.tmp / "acme/.well-known/acme-challenge/abc123"
    token.write_text("abc123.thumbprint")
    token.chmod(0o644)
    challenge = curl(site.http + "/.well-known/acme-challenge/abc123", tmp=site.tmp)
    assert challenge.status == 200
    assert challenge.body == b"abc123.thumbprint"


def handshake(base: str, version: ssl.TLSVersion) -> str:
    """The protocol a TLS handshake pinned to `version` settles on."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = context.maximum_version = version
    port = int(base.rsplit(":", 1)[1])
    raw = socket.create_connection(("127.0.0.1", port), source_address=(VISITOR, 0))
    with context.wrap_socket(raw) as tls:
        return tls.version()


@needs_nginx
def test_https_speaks_http2_over_tls_1_2_or_1_3_only(site):
    page = curl(site.https + "/healthz", "--http2", tmp=site.tmp)
    assert (page.status, page.version) == (200, "2")
    assert page.header("strict-transport-security") == "max-age=31536000; includeSubDomains"
    assert handshake(site.https, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert handshake(site.https, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    # TLS 1.0 and 1.1: this machine's OpenSSL refuses them on both ends by itself, so a
    # handshake would prove nothing; the site's own line is what holds on a laxer build
    assert re.search(r"^\s*ssl_protocols TLSv1\.2 TLSv1\.3;$", SITE.read_text(), re.M)


@needs_nginx
def test_static_files_come_from_nginx_kept_a_year_when_versioned_and_gzipped(site):
    name = "css/portal.css"
    version = assets.fingerprint(assets.STATIC, name)
    kept = curl(
        f"{site.https}/static/{name}?v={version}", "-H", "Accept-Encoding: gzip", tmp=site.tmp
    )
    assert kept.status == 200
    assert kept.header("cache-control") == assets.IMMUTABLE  # as the portal would say
    assert kept.header("content-encoding") == "gzip"
    assert gzip.decompress(kept.body) == (assets.STATIC / name).read_bytes()
    assert kept.header("x-content-type-options") == "nosniff"
    assert kept.header("strict-transport-security")
    # nginx's, not gunicorn's: every answer of the portal carries its security policy
    assert kept.header("content-security-policy") is None
    assert curl(site.https + "/healthz", tmp=site.tmp).header("content-security-policy")

    bare = curl(f"{site.https}/static/{name}", tmp=site.tmp)  # no hash, no gzip asked
    assert bare.status == 200
    assert bare.header("cache-control") == "no-cache"
    assert bare.header("content-encoding") is None
    assert bare.body == (assets.STATIC / name).read_bytes()


@needs_nginx
def test_vendor_serves_the_packages_folders_the_portal_names_and_nothing_else(site):
    name = "leaflet/dist/leaflet.js"
    served = curl(
        f"{site.https}/vendor/{name}?v={assets.fingerprint(assets.NODE_MODULES, name)}",
        tmp=site.tmp,
    )
    assert served.status == 200
    assert served.body == (assets.NODE_MODULES / name).read_bytes()
    assert served.header("cache-control") == assets.IMMUTABLE
    assert served.header("content-security-policy") is None  # nginx's
    one_file = "leaflet-textpath/leaflet.textpath.js"
    assert curl(f"{site.https}/vendor/{one_file}", tmp=site.tmp).status == 200
    for outside in (
        "leaflet/package.json",
        "leaflet-textpath/package.json",
        "axe-core/axe.min.js",  # a package of node_modules the portal does not serve
        "leaflet/dist/../package.json",
        "leaflet/dist/%2e%2e/package.json",
    ):
        if ".." not in outside and "%2e" not in outside:
            assert (assets.NODE_MODULES / outside).is_file(), outside  # there, but not served
        answer = curl(f"{site.https}/vendor/{outside}", "--path-as-is", tmp=site.tmp)
        assert answer.status == 404, outside


def test_the_sites_vendor_folders_are_exactly_the_portals():
    site = SITE.read_text()
    found = re.findall(
        r"location (=\s+)?/vendor/(\S+) \{\s*alias /opt/antt-portal/node_modules/(\S+);", site
    )
    assert found, "no /vendor/ locations"
    for exact, url, path in found:
        assert url == path
        assert bool(exact) == (not url.endswith("/"))  # a folder by prefix, a file exactly
    assert sorted(url for _exact, url, _path in found) == sorted(assets.SERVED)


def nginx_bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", size).groups()
    return int(number) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit.lower()]


def test_nginx_takes_exactly_the_body_the_portal_takes():
    limit = re.search(r"^\s*client_max_body_size (\S+);$", SITE.read_text(), re.M).group(1)
    portal = config.load(
        {"SQLALCHEMY_DATABASE_URI": "postgresql://x@127.0.0.1/x", "SECRET_KEY": "x"}
    )
    assert nginx_bytes(limit) == portal["MAX_CONTENT_LENGTH"]


@needs_nginx
def test_a_body_over_the_limit_is_refused_by_nginx_one_at_it_reaches_the_portal(site):
    limit = config.load(
        {"SQLALCHEMY_DATABASE_URI": "postgresql://x@127.0.0.1/x", "SECRET_KEY": "x"}
    )["MAX_CONTENT_LENGTH"]
    body = site.tmp / "body.bin"
    for size, from_nginx in ((limit + 1, True), (limit, False)):
        with body.open("wb") as f:
            f.truncate(size)
        answer = curl(
            site.https + "/healthz",
            "--data-binary",
            f"@{body}",
            "-H",
            "Content-Type: application/octet-stream",
            tmp=site.tmp,
        )
        if from_nginx:
            assert answer.status == 413
            assert b"nginx" in answer.body
            assert answer.header("content-security-policy") is None
        else:
            # the portal's own answer (GET only there), after nginx passed the whole body on
            assert answer.status == 405
            assert answer.header("content-security-policy")
    body.unlink()


@needs_nginx
def test_the_portal_sees_https_and_the_visitors_address_from_nginx(site):
    spoof = ("-H", f"X-Forwarded-For: {SPOOFED}", "-H", "X-Forwarded-Proto: http")
    # the tip form gives a device cookie, Secure when the request came over https
    # (request.is_secure: X-Forwarded-Proto, read through ProxyFix)
    form = curl(site.https + "/bao-tin", *spoof, tmp=site.tmp)
    assert form.status == 200
    device = [c for c in form.headers["set-cookie"] if c.startswith("thiet_bi=")]
    assert device and "Secure" in device[0]
    # gunicorn asked directly, over plain http and without nginx's headers: not https
    direct = subprocess.run(
        [CURL, "-s", "-o", "/dev/null", "-w", "%{http_code}", site.gunicorn + "/bao-tin"],
        capture_output=True,
        text=True,
    )
    assert direct.stdout == "302"  # PORTAL_HTTPS=1: to https

    # a failed sign-in is counted against the visitor's address, the one nginx saw: not the
    # address the visitor claimed, nor nginx's own
    jar = str(site.tmp / "cookies")
    page = curl(site.https + "/login", "-c", jar, tmp=site.tmp)
    token = re.search(rb'<meta name="csrf-token" content="([^"]+)"', page.body).group(1)
    failed = curl(
        site.https + "/login",
        *spoof,
        "-b",
        jar,
        # Flask-WTF checks an https form's Referer against the Host nginx passes ($host, which
        # has no port: the test's port is not 443)
        "-H",
        "Referer: https://127.0.0.1/login",
        "--data-urlencode",
        "username=khong.co.ai",
        "--data-urlencode",
        "password=sai-mat-khau",
        "--data-urlencode",
        f"csrf_token={token.decode()}",
        tmp=site.tmp,
    )
    assert failed.status == 401
    engine = create_engine(site.database_url)
    try:
        with engine.connect() as conn:
            keys = set(conn.scalars(text("SELECT key FROM login_failures")))
    finally:
        engine.dispose()
    assert keys == {f"ip:{VISITOR}", f"user:khong.co.ai@{VISITOR}"}


LOOPBACK_ONLY = [("allow", "127.0.0.1"), ("allow", "::1"), ("deny", "all")]


def access_rules(location: str) -> list[tuple[str, str]]:
    """The allow and deny lines of the site's `location <location> { … }`, in order."""
    block = re.search(re.escape(f"location {location} {{") + r"(.*?)\}", SITE.read_text(), re.S)
    return re.findall(r"^\s*(allow|deny) (\S+);", block.group(1), re.M)


@needs_nginx
def test_metrics_only_for_this_machine(site):
    assert access_rules("= /metrics") == LOOPBACK_ONLY
    # nginx decides by the connection's address: refused from another, passed on from loopback
    assert curl(site.https + "/metrics", source=VISITOR, tmp=site.tmp).status == 403
    local = curl(site.https + "/metrics", source="127.0.0.1", tmp=site.tmp)
    assert local.status != 403
    assert local.header("content-security-policy")  # the portal's answer, whatever it is


@needs_nginx
def test_liveness_and_readiness_only_for_this_machine_healthz_for_all(site):
    assert access_rules("~ ^/(livez|readyz)$") == LOOPBACK_ONLY
    for probe in ("/livez", "/readyz"):
        assert curl(site.https + probe, source=VISITOR, tmp=site.tmp).status == 403
        assert curl(site.https + probe, source="127.0.0.1", tmp=site.tmp).status in (200, 503)
    assert curl(site.https + "/healthz", source=VISITOR, tmp=site.tmp).status == 200


@needs_nginx
def test_the_access_log_has_no_address_and_no_query(site):
    curl(site.https + "/tra-cuu?lat=21.0285&lon=105.8542", tmp=site.tmp)
    log = (site.tmp / "log" / "antt-portal.access.log").read_text()
    assert '"GET /tra-cuu"' in log
    assert VISITOR not in log and "105.8542" not in log and SPOOFED not in log


# --- the systemd units -----------------------------------------------------------------------


def unit_settings(path: Path) -> dict[tuple[str, str], list[str]]:
    """(section, key) -> values, in order: a key may repeat (Environment=)."""
    settings: dict[tuple[str, str], list[str]] = {}
    section = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault((section, key.strip()), []).append(value.strip())
    return settings


HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    # only what geo/sandbox.py's child enters to cut itself off from the network
    "RestrictNamespaces": "user net",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",  # test_the_readers_survive_memory_deny_write_execute
    "SystemCallFilter": "@system-service",
    "CapabilityBoundingSet": "",
    "UMask": "0077",
}


@pytest.mark.parametrize("name", UNITS)
def test_the_units_run_unprivileged_hardened_and_restart(name):
    unit = unit_settings(UNITS[name])
    service = {key: values[-1] for (section, key), values in unit.items() if section == "Service"}
    assert service["User"] == service["Group"] == "antt-portal"
    assert service["EnvironmentFile"] == "/etc/antt-portal/portal.env"
    assert service["WorkingDirectory"] == "/opt/antt-portal"
    assert service["Restart"] == "on-failure"
    if name == "worker":
        # restarted however long the database is away: no limit that would stop it for good
        assert unit[("Unit", "StartLimitIntervalSec")] == ["0"]
    else:  # the web server does not stop while the database is away: a limit stops a bad setting
        assert unit[("Unit", "StartLimitBurst")] and unit[("Unit", "StartLimitIntervalSec")]
    for key, value in HARDENING.items():
        assert service.get(key) == value, key
    assert "ReadWritePaths" not in service  # nothing but the runtime folder and /tmp is written
    assert service["RuntimeDirectory"] == f"antt-portal-{name}"
    executable, *_args = service["ExecStart"].split()
    assert executable.startswith("/opt/antt-portal/")
    assert (ROOT / executable.removeprefix("/opt/antt-portal/")).exists()  # .venv/bin/…


def test_the_web_unit_runs_gunicorn_with_its_config_and_a_metrics_folder():
    unit = unit_settings(UNITS["web"])
    assert unit[("Service", "ExecStart")] == [
        "/opt/antt-portal/.venv/bin/gunicorn --config /opt/antt-portal/deploy/gunicorn.conf.py"
        " wsgi:app"
    ]
    assert (
        "PROMETHEUS_MULTIPROC_DIR=/run/antt-portal-web/metrics" in unit[("Service", "Environment")]
    )
    worker = unit_settings(UNITS["worker"])
    assert worker[("Service", "ExecStart")] == [
        "/opt/antt-portal/.venv/bin/flask --app wsgi worker"
    ]


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_reads_the_units_without_a_complaint(tmp_path):
    # systemd's own parser (no running systemd needed), on copies pointing at this clone: it
    # checks that ExecStart's program exists
    rendered = []
    for path in UNITS.values():
        copy = tmp_path / path.name
        copy.write_text(path.read_text().replace("/opt/antt-portal/", f"{ROOT}/"))
        rendered.append(str(copy))
    done = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", *rendered], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    for path in rendered:
        scored = subprocess.run(
            [SYSTEMD_ANALYZE, "security", "--offline=true", "--no-pager", path],
            capture_output=True,
            text=True,
        )
        exposure = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", scored.stdout)
        assert exposure, scored.stdout + scored.stderr
        # systemd's own score, 0 (locked down) to 10: the units hold at 2.0 ("OK")
        assert float(exposure.group(1)) <= 2.0, scored.stdout


# The web and worker units set MemoryDenyWriteExecute=yes: no memory both writable and
# executable, which a JIT needs. The kernel's PR_SET_MDWE (Linux 6.3) is the same refusal,
# inherited by every child: the readers of uploads (GDAL in pyogrio, Pillow), PROJ, GEOS and
# argon2 run under it here.
MDWE_SCRIPT = r"""
import ctypes, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(77)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit("writable and executable memory was allowed")
except OSError:
    pass
import io, json, pathlib
import numpy as np, pyogrio, shapely
from argon2 import PasswordHasher
from PIL import Image
from geo import photos, readers, tracks

folder = pathlib.Path(sys.argv[1])
square = shapely.Polygon([(105.80, 21.00), (105.81, 21.00), (105.81, 21.01), (105.80, 21.00)])
pyogrio.raw.write(
    folder / "x.gpkg", np.array([shapely.to_wkb(square)], dtype=object),
    [np.array(["Thôn Một"], dtype=object), np.array(["001"], dtype=object)],
    fields=["name", "code"], geometry_type="Polygon", crs="EPSG:4326", driver="GPKG",
)
read = readers.read_file((folder / "x.gpkg").read_bytes(), "x.gpkg")
picture = io.BytesIO()
Image.new("RGB", (64, 48), (200, 30, 30)).save(picture, "PNG")
photo = photos.reencode(picture.getvalue())
gpx = b'''<?xml version="1.0"?>
<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>
<trkpt lat="21.0285" lon="105.8542"><time>2025-01-01T20:00:00Z</time></trkpt>
<trkpt lat="21.0290" lon="105.8550"><time>2025-01-01T20:05:00Z</time></trkpt>
</trkseg></trk></gpx>'''
track = tracks.read_gpx(gpx, "t.gpx")
hasher = PasswordHasher()
print(json.dumps({
    "features": len(read.features), "problems": [p.kind for p in read.problems],
    "photo": [photo.width, photo.height], "track": [track.ok, track.points],
    "argon2": hasher.verify(hasher.hash("mật khẩu"), "mật khẩu"),
}))
"""


def test_the_readers_survive_memory_deny_write_execute(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", MDWE_SCRIPT, str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3 and later)")
    assert done.returncode == 0, done.stderr[-3000:]
    print(done.stdout)
    result = __import__("json").loads(done.stdout.strip().splitlines()[-1])
    assert result == {
        "features": 1,
        "problems": [],
        "photo": [64, 48],
        "track": [True, 2],
        "argon2": True,
    }


# --- the environment file --------------------------------------------------------------------

# read by portal/config.py but for development and tests only
NOT_FOR_PRODUCTION = {
    "PORTAL_LOCAL",
    "PORTAL_DBNAME",
    "PORTAL_SHARED_DATA",
    "PORTAL_JOBS_INLINE",
    "PORTAL_JOBS_STEP_DELAY",
    "FLASK_DEBUG",
    "PROMETHEUS_MULTIPROC_DIR",  # set by antt-portal-web.service itself, not the env file
}


def test_the_environment_file_names_every_setting_production_reads():
    example = (DEPLOY / "portal.env.example").read_text()
    named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.M))
    read = set(re.findall(r'os\.environ(?:\.get)?[\[(]"([A-Z][A-Z0-9_]+)"', config_source()))
    assert read - NOT_FOR_PRODUCTION <= named, read - NOT_FOR_PRODUCTION - named
    settings = dict(re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", example, re.M))  # the ones set
    assert settings["PORTAL_ENV"] == "production"
    assert settings["PORTAL_PROXY_HOPS"] == "1"
    assert settings["PORTAL_HTTPS"] == "1"
    assert settings["PORTAL_BIND"] == "127.0.0.1:5000"  # the site's upstream
    assert "127.0.0.1:5000" in SITE.read_text()
    # set by the web unit; this file would override it, and the worker has no such folder
    assert "PROMETHEUS_MULTIPROC_DIR" not in settings
    # the schema owner's password is not for the service user's eyes
    assert "DATABASE_OWNER_URL" not in settings


def config_source() -> str:
    """Where production's settings are read: the configuration, the logs' set-up and gunicorn's."""
    files = [
        Path(config.__file__),
        ROOT / "portal" / "logs.py",
        ROOT / "deploy" / "gunicorn.conf.py",
    ]
    return "\n".join(path.read_text() for path in files)


def operators_guide() -> str:
    """README's "Running it for a city (operators)", which an operator follows line by line."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Running it for a city (operators)")
    return readme[start : readme.index("\n## ", start + 1)]


def test_the_first_install_installs_every_program_the_guide_runs_and_no_sudo():
    """A province's Debian 12, installed with a root password: no sudo, and only what the first
    apt-get brings. The backups' steps run pgbackrest and the settings' ones openssl."""
    guide = operators_guide()
    apt = re.search(r"apt-get install -y ((?:[^\n\\]|\\\n)+)", guide)
    installed = set(apt.group(1).replace("\\\n", " ").split())
    for program, package in [
        ("pgbackrest", "pgbackrest"),
        ("openssl rand", "openssl"),
        ("certbot", "certbot"),
        ("nginx -t", "nginx"),
        ("psql", "postgresql-15"),
        ("npm ci", "npm"),
    ]:
        assert program in guide
        assert package in installed, f"{program} needs {package}"
    assert not re.search(r"^\s*sudo |[;&|(]\s*sudo ", guide, re.M)
