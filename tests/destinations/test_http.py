"""The one HTTP-outcome -> typed-error mapping every adapter uses (toolkit/destinations/_http.py)."""

from __future__ import annotations

import email.utils
import re
import time

import httpx
import pytest

from toolkit.destinations import _http
from toolkit.errors import (AuthError, FatalError, FileTooLargeError, NotFoundError, QuotaExhaustedError,
                            RateLimitedError, RetriableError)


def _resp(status, body=None, headers=None, text=None):
    req = httpx.Request("POST", "https://crm.example/x")
    if text is not None:
        return httpx.Response(status, text=text, headers=headers, request=req)
    return httpx.Response(status, json=body if body is not None else {"message": "vendor says no"}, headers=headers,
                          request=req)


def _message(body):
    return body["message"] if isinstance(body, dict) else str(body)


@pytest.mark.parametrize("status,error", [(500, RetriableError), (503, RetriableError), (401, AuthError),
                                          (403, AuthError), (404, NotFoundError), (400, FatalError),
                                          (422, FatalError), (429, RateLimitedError)])
def test_status_maps_to_its_type_with_the_vendor_message(status, error):
    err = _http.error_for("POST /x", _resp(status), message=_message)
    assert type(err) is error and err.status == status
    assert str(err) == f"HTTP {status}: POST /x: vendor says no" and err.body == {"message": "vendor says no"}


def test_429_waits_as_asked_and_tells_the_limiter_or_stops_on_a_spent_quota():
    told = []
    err = _http.error_for("GET /y", _resp(429, headers={"Retry-After": "7"}), message=_message, penalize=told.append)
    assert isinstance(err, RateLimitedError) and err.retry_after == 7.0 and told == [7.0]
    spent = _http.error_for("GET /y", _resp(429), message=_message, quota_spent=lambda r: True)
    assert isinstance(spent, QuotaExhaustedError) and spent.resume_at.endswith("T00:00:00Z")


def test_special_readings_come_first_and_text_bodies_are_kept():
    def special(status, body, text):
        return FileTooLargeError(text, status=status, body=body) if status == 413 else None

    assert isinstance(_http.error_for("POST /up", _resp(413), message=_message, special=special), FileTooLargeError)
    err = _http.error_for("GET /z", _resp(502, text="<html>bad gateway</html>"), message=_message, special=special)
    assert isinstance(err, RetriableError) and "bad gateway" in str(err)


def test_retry_after_reads_seconds_dates_other_headers_and_intervals():
    assert _http.retry_after(httpx.Headers({"Retry-After": "3"})) == 3.0
    soon = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 50 < _http.retry_after(httpx.Headers({"Retry-After": soon})) <= 60
    assert _http.retry_after(httpx.Headers({"x-ratelimit-reset": "2"}), ("Retry-After", "x-ratelimit-reset")) == 2.0
    assert _http.retry_after(httpx.Headers({"X-RateLimit-Interval-Milliseconds": "10000"}),
                             interval_ms="X-RateLimit-Interval-Milliseconds") == 10.0
    assert _http.retry_after(httpx.Headers({"Retry-After": "soon"})) is None


@pytest.mark.parametrize("exc,words", [(httpx.ConnectTimeout("t"), "timed out"),
                                       (httpx.ConnectError("refused"), "connection failed (ConnectError)"),
                                       (httpx.RemoteProtocolError("cut"), "connection failed (RemoteProtocolError)")])
def test_no_answer_is_retriable(exc, words):
    def handler(req):
        raise exc

    with httpx.Client(transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(RetriableError, match=re.escape(words)):
            _http.send(c, "GET", "https://crm.example/a", where="GET /a")


def test_a_success_that_is_not_json_is_retriable():
    assert _http.decode(_resp(200, text=""), "GET /a") == {}
    with pytest.raises(RetriableError, match="not JSON"):
        _http.decode(_resp(200, text="<html>"), "GET /a")


def test_file_too_large_lives_in_the_error_tree_and_is_re_exported():
    from toolkit.destinations.highlevel import FileTooLargeError as from_highlevel

    assert from_highlevel is FileTooLargeError and issubclass(FileTooLargeError, FatalError)
