"""The page as `vsent up` serves it: its files, config.json, security headers, the API's CORS
answer for the page's origin, and a signed-out visitor landing on the sign-in form."""

from __future__ import annotations

import requests
from playwright.sync_api import Page, expect

from vsent.local_info import StackInfo


def test_page_and_config_are_served_with_security_headers(web_stack: StackInfo) -> None:
    page = requests.get(web_stack.web_url, timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert web_stack.api_url.rsplit("/", 1)[0] in csp

    config = requests.get(f"{web_stack.web_url}config.json", timeout=10).json()
    assert config["apiUrl"] == web_stack.api_url
    assert config["cognito"]["endpoint"] == f"{web_stack.aws_endpoint_url}/"
    assert config["local"] is True
    assert web_stack.api_key not in requests.get(f"{web_stack.web_url}config.json", timeout=10).text
    script = requests.get(f"{web_stack.web_url}js/main.js", timeout=10)
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert requests.get(f"{web_stack.web_url}../template.yaml", timeout=10).status_code == 404


def test_api_answers_the_page_origin_in_cors(web_stack: StackInfo) -> None:
    origin = web_stack.web_url.rstrip("/")
    preflight = requests.options(
        f"{web_stack.api_url}/jobs",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
        timeout=10,
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    # A refusal by the gateway itself is readable by the page too.
    refused = requests.get(f"{web_stack.api_url}/jobs", headers={"Origin": origin}, timeout=10)
    assert refused.status_code in (401, 403)
    assert refused.headers["Access-Control-Allow-Origin"] == origin
    # Another origin gets no CORS grant.
    other = requests.options(
        f"{web_stack.api_url}/jobs",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert "Access-Control-Allow-Origin" not in other.headers


def test_a_signed_out_visitor_lands_on_the_sign_in_form(page: Page, web_stack: StackInfo) -> None:
    page.goto(f"{web_stack.web_url}#/jobs")
    expect(page).to_have_url(f"{web_stack.web_url}#/signin")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
