"""Drives the portal in headless Chromium (Debian's chromium + chromedriver; nothing is
downloaded) through every screen, checking what a person would, and writes a screenshot of each
screen to SHOTS_DIR.

Usage: portal_browser.py BASE_URL ADMIN_TOKEN SHOTS_DIR
"""

import json
import os
import sys
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

base, admin, shots = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
os.makedirs(shots, exist_ok=True)

opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000"]:
    opts.add_argument(arg)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
wait = WebDriverWait(driver, 15, ignored_exceptions=[StaleElementReferenceException])


def css(sel):
    return driver.find_elements(By.CSS_SELECTOR, sel)


def until(sel, pred=lambda els: len(els) > 0, what=""):
    try:
        wait.until(lambda d: pred(css(sel)))
    except Exception:
        try:
            seen = [e.text[:300] for e in css(sel)] or [e.text[:300] for e in css(".error")]
        except StaleElementReferenceException:
            seen = []
        raise AssertionError(f"waiting for {what or sel}; the page shows {seen}") from None
    return css(sel)


def shot(name):
    driver.save_screenshot(os.path.join(shots, f"{name}.png"))
    print(f"screen {name} ok", flush=True)


def post(path, body, token):
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(req) as resp:
        return resp.status, json.load(resp)


def go(screen, testid):
    driver.get(f"{base}/#{screen}")
    driver.refresh()
    return until(f'[data-testid="{testid}"]', what=testid)


try:
    # Sign-in: a wrong token is refused, the admin token opens the overview.
    driver.get(base + "/")
    until("#login-token", lambda e: e and e[0].is_displayed())
    css("#login-token")[0].send_keys("wrong")
    css("#login-form button")[0].click()
    until("#login-error", lambda e: e and "not the admin token" in e[0].text)
    shot("login")
    css("#login-token")[0].clear()
    css("#login-token")[0].send_keys(admin)
    css("#login-form button")[0].click()

    # Overview: charts with data points, tiles with the seeded traffic.
    until('[data-testid="screen-overview"]')
    points = until('figure[data-chart="Requests and errors"] .point', what="chart points")
    assert sum(float(p.get_attribute("data-value")) for p in points) >= 9, "requests in the chart"
    assert until('figure[data-chart="Top models"] .point')
    assert int(css('[data-testid="tile-requests"] .value')[0].text.replace(",", "")) >= 9
    shot("overview")

    # Providers: the open circuit of m/fail-503 is reset from the page.
    go("providers", "screen-providers")
    state = until('[data-testid="state-m/fail-503"]')[0]
    assert state.text == "open", state.text
    css('button[data-reset="m/fail-503"]')[0].click()
    until('[data-testid="state-m/fail-503"]', lambda e: e and e[0].text == "closed", "circuit closed")
    assert until('[data-testid="catalog"] tbody tr')
    shot("providers")

    # Keys: a new key's secret is shown once, and the key then works.
    go("keys", "screen-keys")
    css('input[name="name"]')[0].send_keys("browser-key")
    css('[data-testid="create-key"] button[type="submit"]')[0].click()
    secret = until('[data-testid="new-secret"]')[0].text.strip()
    assert secret.startswith("sk-gw-"), secret
    status, answer = post("/v1/chat/completions", {"model": "m/echo", "messages": [{"role": "user", "content": "hi"}]}, secret)
    assert status == 200 and answer["choices"], answer
    shot("keys")
    go("keys", "keys")
    until('[data-testid="keys"] tbody tr')
    assert secret not in driver.page_source, "the secret is shown only once"

    # Requests: the log, then one request's routing trace.
    go("requests", "requests")
    rows = until('[data-testid="requests"] tbody tr')
    assert len(rows) >= 9
    shot("requests")
    css('[data-testid="requests"] tbody tr a')[0].click()
    until('[data-testid="trace"]')
    assert "Attempts" in css('[data-testid="trace"]')[0].text
    shot("request")

    # Simulator: five layers and the chain of POST /v1/route for the same question.
    go("simulator", "screen-simulator")
    css('[data-testid="screen-simulator"] button[type="submit"]')[0].click()
    layers = until('[data-testid="layers"] > li', what="layers")
    assert [l.get_attribute("data-layer") for l in layers] == ["classification", "capability", "quality", "cost", "latency"], [l.get_attribute("data-layer") for l in layers]
    shown = [c.get_attribute("data-model") for c in css('[data-testid="chain"] li')]
    prompt = css('textarea[name="prompt"]')[0].get_attribute("value")
    profile = css('select[name="profile"]')[0].get_attribute("value")
    _, routed = post("/v1/route", {"model": "auto", "messages": [{"role": "user", "content": prompt}], "profile": profile, "classification": "internal", "capabilities": []}, admin)
    assert shown == [f"{c['provider']}/{c['model']}" for c in routed["chain"]], (shown, routed["chain"])
    assert shown, "a chain"
    shot("simulator")

    # Playground: the answer streams in through the gateway with the new key.
    go("playground", "screen-playground")
    model = css('input[name="model"]')[0]
    model.clear()
    model.send_keys("m/echo")
    css('[data-testid="screen-playground"] button[type="submit"]')[0].click()
    until('[data-testid="answer-meta"]', lambda e: e and "first token" in e[0].text, "streamed answer")
    assert css('[data-testid="answer"]')[0].text.strip(), "an answer"
    shot("playground")

    # Config: secrets masked; the running configuration validates.
    go("config", "screen-config")
    text = css('textarea[name="config"]')[0].get_attribute("value")
    assert admin not in text and "***" in text
    css('[data-testid="screen-config"] button')[0].click()
    until('[data-testid="config-result"]', lambda e: e and e[0].text.startswith("Valid"), "validation")
    shot("config")

    # The API viewer: every operation listed, and "Try it" answers.
    driver.get(base + "/docs")
    ops = until("details.op", lambda e: len(e) > 40, "operations")
    health = [o for o in ops if o.get_attribute("data-op") == "GET /health"][0]
    health.find_element(By.TAG_NAME, "summary").click()
    health.find_element(By.TAG_NAME, "button").click()
    wait.until(lambda d: health.find_element(By.CSS_SELECTOR, '[data-testid="try-answer"]').text.startswith("200"))
    shot("docs")

    # Nothing but the gateway was asked for anything.
    hosts = driver.execute_script("return performance.getEntriesByType('resource').map(e => new URL(e.name).host)")
    assert all(h == base.split("//")[1] for h in hosts), hosts
finally:
    driver.quit()
