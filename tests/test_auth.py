"""Signing in: throttling, no account enumeration, server-side sessions and their timeouts, the
password policy."""

from __future__ import annotations

import hashlib
import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from portal.auth.passwords import hash_password, needs_rehash, verify_password, weakness
from portal.models import Account, AccountSession
from tests.conftest import (
    DEMO_PASSWORDS,
    PRODUCTION_HASHER,
    TEST_HASHER,
    csrf_token,
    login,
    signed_in,
    use_hasher,
)

THROTTLED = "Đăng nhập sai quá nhiều lần."
WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."


def attempt(client, username, password, address="10.1.1.1"):
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def test_the_portal_hashes_passwords_with_argon2id_at_production_cost():
    """The suite hashes cheaply (tests/conftest.py); the portal itself with argon2id at RFC 9106's
    second recommended setting (64 MiB, 3 passes, 4 lanes), and a cheaper hash is redone."""
    cheap = hash_password("một mật khẩu dài để thử")
    use_hasher(PRODUCTION_HASHER)
    try:
        encoded = hash_password("một mật khẩu dài để thử")
        assert encoded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert verify_password(encoded, "một mật khẩu dài để thử")
        assert not verify_password(encoded, "một mật khẩu khác để thử")
        assert needs_rehash(cheap) and not needs_rehash(encoded)
    finally:
        use_hasher(TEST_HASHER)


def test_an_account_is_throttled_after_five_failures_even_with_the_right_password(app, demo):
    client = app.test_client()
    for _ in range(5):
        response = attempt(client, "quantri", "wrong-password-x")
        assert response.status_code == 401
        assert WRONG in response.get_data(as_text=True)
    blocked = attempt(client, "quantri", DEMO_PASSWORDS["quantri"])
    assert blocked.status_code == 429
    assert THROTTLED in blocked.get_data(as_text=True)
    assert re.search(r"thử lại sau (1[0-5]|[1-9]) phút", blocked.get_data(as_text=True))
    # the limit is on the account: the other accounts sign in from the same address
    assert attempt(client, "totruong", DEMO_PASSWORDS["totruong"]).status_code == 302


def _without_tokens(page: str) -> str:
    # the echoed username, the signed CSRF tokens and the scripts' nonces differ by design;
    # nothing else may
    page = re.sub(r"<input[^>]*>", "", page)
    page = re.sub(r'nonce="[^"]*"', "", page)
    page = re.sub(r"\bm\.[\w=-]{20,}", "TOKEN", page)  # masked anew for every response
    return re.sub(r"[\w-]{20,}\.[\w-]+\.[\w-]+", "TOKEN", page)


def test_unknown_and_real_accounts_get_the_same_answers(app, demo):
    client = app.test_client()
    pages = set()
    for username in ("quantri", "khong-co-ai"):
        answers = [attempt(client, username, "wrong-password-x", "10.2.2.2") for _ in range(6)]
        assert [r.status_code for r in answers] == [401] * 5 + [429], username
        pages |= {_without_tokens(r.get_data(as_text=True)) for r in answers[:5]}
    assert len(pages) == 1, "the page must not differ between attempts or accounts"


def test_an_address_is_throttled_across_account_names(app, demo):
    app.config["LOGIN_MAX_PER_ADDRESS"] = 8
    try:
        client = app.test_client()
        for i in range(8):
            assert (
                attempt(client, f"doan-mo-{i}", "wrong-password-x", "10.3.3.3").status_code == 401
            )
        assert attempt(client, "quantri", DEMO_PASSWORDS["quantri"], "10.3.3.3").status_code == 429
        assert attempt(client, "quantri", DEMO_PASSWORDS["quantri"], "10.4.4.4").status_code == 302
    finally:
        app.config["LOGIN_MAX_PER_ADDRESS"] = 30


def test_a_strangers_failures_lock_the_name_at_their_address_only(app, demo):
    client = app.test_client()
    for _ in range(5):
        assert attempt(client, "canbo.xa", "wrong-password-x", "10.6.6.6").status_code == 401
    right = DEMO_PASSWORDS["canbo.xa"]
    assert attempt(client, "canbo.xa", right, "10.6.6.6").status_code == 429
    # the owner, at an address with no failures, signs in
    assert attempt(app.test_client(), "canbo.xa", right, "10.7.7.7").status_code == 302
    # and that does not unlock the name for the stranger
    assert attempt(client, "canbo.xa", right, "10.6.6.6").status_code == 429


def test_thirty_failures_across_names_lock_the_address(app, demo):
    assert app.config["LOGIN_MAX_PER_ADDRESS"] == 30
    client = app.test_client()
    for i in range(30):
        # four tries per name: no name reaches its own limit
        name = f"doan-ten-{i // 4}"
        assert attempt(client, name, "wrong-password-x", "10.8.8.8").status_code == 401, i
    assert attempt(client, "quantri", DEMO_PASSWORDS["quantri"], "10.8.8.8").status_code == 429
    assert attempt(client, "quantri", DEMO_PASSWORDS["quantri"], "10.9.9.9").status_code == 302


def test_an_ipv6_address_counts_by_its_64_block(app, demo):
    app.config["LOGIN_MAX_PER_ADDRESS"] = 8
    try:
        client = app.test_client()
        for i in range(8):
            address = f"2001:db8:1:2::{i + 1:x}"
            assert attempt(client, f"ten-{i}", "wrong-password-x", address).status_code == 401
        right = DEMO_PASSWORDS["quantri"]
        assert attempt(client, "quantri", right, "2001:db8:1:2:ffff::9").status_code == 429
        assert attempt(client, "quantri", right, "2001:db8:1:3::1").status_code == 302
    finally:
        app.config["LOGIN_MAX_PER_ADDRESS"] = 30


def test_a_successful_sign_in_forgets_the_accounts_failures(app, demo):
    client = app.test_client()
    for _ in range(4):
        attempt(client, "totruong", "wrong-password-x", "10.5.5.5")
    assert attempt(client, "totruong", DEMO_PASSWORDS["totruong"], "10.5.5.5").status_code == 302
    for _ in range(4):
        assert attempt(client, "totruong", "wrong-password-x", "10.5.5.5").status_code == 401


def test_throttling_holds_across_gunicorn_workers(live_server):
    """Six attempts spread over two workers: the sixth is refused whichever worker takes it."""

    def post_login(username, password):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(live_server + "/login").read().decode()
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode(
            {"username": username, "password": password, "csrf_token": token}
        )
        try:
            return opener.open(live_server + "/login", data.encode()).status
        except urllib.error.HTTPError as error:
            return error.code

    name = f"worker-test-{time.time_ns()}"
    codes = [post_login(name, "wrong-password-x") for _ in range(6)]
    assert codes == [401] * 5 + [429]


def _sessions_of(session, username):
    return session.scalars(
        select(AccountSession)
        .join(Account, Account.id == AccountSession.account_id)
        .where(Account.username == username)
        .order_by(AccountSession.id)
    ).all()


def _age(session, username, **ago):
    """Move the account's sessions' clocks back: started_at=hours, last_seen_at=minutes."""
    now = datetime.now(UTC)
    values = {}
    if "started_hours" in ago:
        values["started_at"] = now - timedelta(hours=ago["started_hours"])
    if "seen_minutes" in ago:
        values["last_seen_at"] = now - timedelta(minutes=ago["seen_minutes"])
    ids = [s.id for s in _sessions_of(session, username)]
    session.execute(update(AccountSession).where(AccountSession.id.in_(ids)).values(**values))
    session.commit()


def test_an_idle_session_ends(app, demo):
    client = signed_in(app, "quantri")
    assert client.get("/areas/").status_code == 200
    _age(demo, "quantri", seen_minutes=31)
    response = client.get("/areas/")
    assert response.status_code == 302
    assert "expired=idle" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "lâu không hoạt động" in page
    assert client.get("/areas/").status_code == 302  # and it stays ended
    assert _sessions_of(demo, "quantri")[-1].ended_at is not None


def test_a_copied_cookie_is_refused_after_sign_out(app, demo):
    client = signed_in(app, "quantri")
    copied = client.get_cookie("session").value
    token = csrf_token(client, "/areas/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/areas/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert "expired" not in response.headers["Location"]  # signed out, not timed out
    assert _sessions_of(demo, "quantri")[-1].ended_at is not None


def test_a_session_ends_after_its_lifetime_however_busy(app, demo):
    client = signed_in(app, "canbo.xa")
    _age(demo, "canbo.xa", started_hours=13, seen_minutes=0)  # active a moment ago
    response = client.get("/areas/")
    assert response.status_code == 302
    assert "expired=age" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "đã quá 12 giờ kể từ khi đăng nhập" in page
    # eleven hours in, it still holds
    again = signed_in(app, "canbo.xa")
    _age(demo, "canbo.xa", started_hours=11, seen_minutes=0)
    assert again.get("/areas/").status_code == 200


def test_the_cookie_holds_a_random_id_and_the_table_only_its_hash(app, demo):
    client = signed_in(app, "totruong")
    with client.session_transaction() as cookie:
        sid = cookie["sid"]
        assert "account_id" not in cookie
    record = _sessions_of(demo, "totruong")[-1]
    assert record.token_hash == hashlib.sha256(sid.encode()).hexdigest()
    assert sid not in record.token_hash
    assert record.user_agent  # the test client names itself
    # last_seen_at moves at most once a minute, not with every request
    seen = record.last_seen_at
    assert client.get("/areas/").status_code == 200
    assert _sessions_of(demo, "totruong")[-1].last_seen_at == seen
    _age(demo, "totruong", seen_minutes=2)
    assert client.get("/areas/").status_code == 200
    assert _sessions_of(demo, "totruong")[-1].last_seen_at > seen


def test_signing_in_again_ends_the_session_it_replaces(app, demo):
    client = signed_in(app, "quantri")
    copied = client.get_cookie("session").value
    login(client, "quantri", DEMO_PASSWORDS["quantri"])
    first, second = _sessions_of(demo, "quantri")
    assert first.ended_at is not None and second.ended_at is None
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/areas/").status_code == 302
    assert client.get("/areas/").status_code == 200


def test_own_password_change_keeps_this_session_and_ends_the_others(app, demo):
    here, elsewhere = signed_in(app, "quantri"), signed_in(app, "quantri")
    me = demo.scalar(select(Account).where(Account.username == "quantri"))
    response = here.post(
        f"/accounts/{me.id}/password",
        data={"password": "tuan-tra-dem-phuong-ba-dinh", "csrf_token": csrf_token(here, "/areas/")},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert here.get("/areas/").status_code == 200
    assert elsewhere.get("/areas/").status_code == 302


@pytest.mark.parametrize(
    ("password", "username", "problem"),
    [
        ("short-pass", "", "too_short"),
        ("password1234", "", "common"),
        ("iloveyou2025!!", "", "common"),
        ("matkhau123456", "", "common"),
        ("qwertyuiop123", "", "common"),
        ("ten.dang.nhap-xyz", "ten.dang.nhap", "contains_username"),
        ("aaaaaaaaaaaaaaaa", "", "guessable"),
        ("abcdefghijklmnop", "", "guessable"),
        ("tuan-tra-dem-phuong-ba-dinh", "", None),
        ("Xe máy đỗ ở ngõ 42", "", None),
    ],
)
def test_password_policy(password, username, problem):
    assert weakness(password, username) == problem
