"""Signing in: throttling, no account enumeration, idle timeout, the password policy."""

from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from portal.auth.passwords import weakness
from tests.conftest import DEMO_PASSWORDS, csrf_token, signed_in

THROTTLED = "Đăng nhập sai quá nhiều lần."
WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."


def attempt(client, username, password, address="10.1.1.1"):
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


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
    # the echoed username and the signed CSRF tokens differ by design; nothing else may
    page = re.sub(r"<input[^>]*>", "", page)
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


def test_an_idle_session_ends(app, demo):
    client = signed_in(app, "quantri")
    assert client.get("/areas/").status_code == 200
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - 31 * 60
    response = client.get("/areas/")
    assert response.status_code == 302
    assert "expired=1" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "lâu không hoạt động" in page
    assert client.get("/areas/").status_code == 302  # and it stays ended


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
