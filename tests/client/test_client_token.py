"""Token: payload reading, discovery order, expiry refusal, redaction (incl. captured bodies)."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from astropy.time import Time
from client_helpers import CAPTURES, capture

from oda_widgets.client import Dispatcher, TokenInfo, discover_token, redact
from oda_widgets.client.token import JWT_PATTERN, REDACTED
from oda_widgets.errors import InvalidParameter, TokenExpired, Unauthorized


def make(ttl=3600, roles="general", sub="ann@example.org", **extra):
    # Any secret will do: the client never verifies signatures.
    claims = {"sub": sub, "name": "Ann", "roles": roles, "exp": int(time.time() + ttl), **extra}
    return jwt.encode(claims, "a-secret-long-enough-for-hs256-xxxxxxxxxx", algorithm="HS256")


def test_token_info_reads_payload_without_verification():
    token = make(roles="authenticated user, general, unige-hpc-full")
    info = TokenInfo.from_token(token)
    assert info.email == "ann@example.org"
    assert info.name == "Ann"
    assert info.roles == ["authenticated user", "general", "unige-hpc-full"]
    assert isinstance(info.expires, Time)
    assert abs(info.expires.unix - (time.time() + 3600)) < 5
    assert not info.expired
    assert info.has_roles("general", "unige-hpc-full") and not info.has_roles("refresh-tokens")


def test_roles_as_list_and_email_fallback():
    token = jwt.encode({"email": "bob@example.org", "roles": ["general", " jemx "]}, "k" * 32)
    info = TokenInfo.from_token(token)
    assert info.email == "bob@example.org"
    assert info.roles == ["general", "jemx"]
    assert info.expires is None and not info.expired


def test_expired_token_info_and_repr_never_shows_token():
    token = make(ttl=-7200)
    info = TokenInfo.from_token(token)
    assert info.expired
    text = repr(info)
    assert token not in text and "eyJ" not in text
    assert "expired" in text and "ann@example.org" in text


def test_not_a_jwt_is_a_clear_error():
    with pytest.raises(InvalidParameter) as err:
        TokenInfo.from_token("not-a-jwt")
    assert err.value.parameter == "token"
    assert "not a readable JWT" in str(err.value)


def test_expired_token_refused_before_sending(real_dispatcher, proxy):
    token = make(ttl=-3 * 3600)
    disp = Dispatcher(proxy.url, token=token)
    with pytest.raises(TokenExpired) as err:
        disp.run_analysis(
            {
                "instrument": "empty",
                "product_type": "numerical",
                "query_type": "Dummy",
                "query_status": "new",
                "p": 2.5,
            }
        )
    message = str(err.value)
    assert "expired on" in message and "h ago" in message
    assert "API token" in message  # says how to get a new one
    assert token not in message
    assert isinstance(err.value, Unauthorized)
    assert proxy.log == []  # nothing reached the dispatcher
    with pytest.raises(TokenExpired):
        disp.submit("empty", "numerical", {"p": 2.5}, query_type="Dummy")
    assert proxy.log == []


def test_repr_of_dispatcher_hides_token(token):
    disp = Dispatcher("http://127.0.0.1:9", token=token)
    assert token not in repr(disp) and "tester@example.org" in repr(disp)
    assert disp.token_info.roles == ["general"]


@pytest.fixture
def clean_places(tmp_path, monkeypatch):
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("ODA_TOKEN", raising=False)
    monkeypatch.chdir(work)
    return home, work


def test_discovery_order(clean_places, monkeypatch):
    home, work = clean_places
    assert discover_token() is None
    t_context, t_home, t_cwd, t_env = (make(sub=f"{n}@example.org") for n in ("ctx", "home", "cwd", "env"))
    (work / ".oda_api_context").write_text(json.dumps({"token": t_context, "callback": "x"}))
    assert discover_token() == t_context
    (home / ".oda-token").write_text(t_home + "\n")
    assert discover_token() == t_home
    (work / ".oda-token").write_text(t_cwd)
    assert discover_token() == t_cwd
    monkeypatch.setenv("ODA_TOKEN", t_env)
    assert discover_token() == t_env


def test_discovery_skips_expired_and_unreadable(clean_places, monkeypatch):
    home, work = clean_places
    good = make(sub="good@example.org")
    monkeypatch.setenv("ODA_TOKEN", make(ttl=-60))  # expired
    (work / ".oda-token").write_text("garbage")  # not a JWT
    (work / ".oda_api_context").write_text("{not json")  # unreadable
    (home / ".oda-token").write_text(good)
    assert discover_token() == good
    disp = Dispatcher("http://127.0.0.1:9")
    assert disp.token == good and disp.token_info.email == "good@example.org"
    assert Dispatcher("http://127.0.0.1:9", token="").token is None  # explicit public


def test_redact_nested_structures():
    token = make()
    other = make(sub="someone-else@example.org")
    obj = {
        "analysis_parameters": {"token": "not-a-jwt-but-a-token", "p": 5},
        "api_code": f"par_dict={{'token': '{token}'}}",
        "list": [f"x {other} y", ("t", token)],
        "n": 3,
        "none": None,
    }
    out = redact(obj, token)
    text = repr(out)
    assert token not in text and other not in text and "not-a-jwt-but-a-token" not in text
    assert out["analysis_parameters"] == {"token": REDACTED, "p": 5}
    assert out["api_code"] == f"par_dict={{'token': '{REDACTED}'}}"
    assert out["list"] == [f"x {REDACTED} y", ("t", REDACTED)]
    assert out["n"] == 3 and out["none"] is None
    assert obj["analysis_parameters"]["token"] == "not-a-jwt-but-a-token"  # input untouched
    assert redact("plain text about eyJ tokens", None) == "plain text about eyJ tokens"


@pytest.mark.parametrize("folder", ["pypi-1.3.3", "git-1.3.6"])
def test_redact_captured_bodies(folder):
    files = sorted((CAPTURES / folder).glob("*.json"))
    with_tokens = 0
    for path in files:
        text = path.read_text()
        if JWT_PATTERN.search(text):
            with_tokens += 1
        cleaned = json.dumps(redact(json.loads(text)))
        assert not JWT_PATTERN.search(cleaned), path.name
    assert with_tokens >= 10  # the captures do echo the token back (analysis_parameters, api_code, ...)


def test_redact_captured_job_monitor_with_token():
    body = capture("pypi-1.3.3/run_analysis_empty_failing.json")
    token = body["products"]["analysis_parameters"]["token"]
    out = redact(body, token)
    assert token not in json.dumps(out)
    assert out["products"]["analysis_parameters"]["token"] == REDACTED
    assert f'"token": "{REDACTED}"' in out["products"]["api_code"]
