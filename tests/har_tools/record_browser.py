#!/usr/bin/env python3
"""Records a HAR of a small agent desktop page driven by a real browser (Playwright + Chromium).

The page is served from its own loopback origin (a throw-away http.server on port 0) and calls
the AEAPI simulator cross-origin, as a desktop served from another local port would (the
simulator answers CORS). Its script does what a desktop does: token (client_credentials), login,
available, a long-poll GET messages kept in flight, accept after THINK seconds, typing + lines,
close with a disposition, deny one offer, verifySession every second. Playwright writes the
HAR (record_har_path) when the context closes.

Usage: record_browser.py --api URL --auth URL --out FILE.har [--think 2.0]
Exit 0 and FILE.har written, or exit 1 with the reason on stderr.
Needs: PyPI playwright, Chromium at --chromium (Debian's /usr/bin/chromium).
"""
import argparse
import http.server
import json
import sys
import threading

PAGE = r"""<!doctype html>
<html><head><meta charset="utf-8"><title>desk</title></head>
<body><pre id="log"></pre>
<script>
const log = (s) => { document.getElementById('log').textContent += s + '\n'; };
const sleep = (ms) => new Promise(r => setTimeout(r, ms));
async function desk(cfg) {
  const A = cfg.api + '/engagementAPI/v2/agent';
  const q = (o) => new URLSearchParams({...o, output: 'json'}).toString();
  const tok = await fetch(cfg.auth + '/oauth-server/oauth/token', {
    method: 'POST',
    headers: {'Authorization': 'Basic ' + btoa(cfg.clientId + ':' + cfg.clientSecret),
              'Content-Type': 'application/x-www-form-urlencoded'},
    body: 'grant_type=client_credentials'});
  if (tok.status !== 200) throw new Error('token ' + tok.status);
  const bearer = 'Bearer ' + (await tok.json()).access_token;
  const H = {'Authorization': bearer};
  const J = {'Authorization': bearer, 'Content-Type': 'application/json'};
  const post = (op, query, body) =>
    fetch(A + '/' + op + '?' + q(query), {method: 'POST', headers: J, body: JSON.stringify(body)});
  await fetch(A + '/preLoginStatus?' + q({username: cfg.username}));
  const lr = await fetch(A + '/login?' + q({}), {method: 'POST', headers: J,
    body: JSON.stringify({username: cfg.username, password: cfg.password})});
  if (lr.status !== 200) throw new Error('login ' + lr.status);
  const login = await lr.json();
  const reg = login.registeredId, agentId = login.userId;
  const st = await post('agentStatus', {registeredId: reg}, {agentId, state: 'available'});
  if (st.status !== 200) throw new Error('agentStatus ' + st.status);

  // One long-poll always in flight, as a desktop keeps it; events queue up for the script.
  const events = [];
  let polling = true;
  const pollLoop = (async () => {
    while (polling) {
      const r = await fetch(A + '/messages?' + q({registeredId: reg, agentId,
        instantResponse: 'false'}), {headers: H});
      if (r.status === 200) {
        const b = await r.json();
        for (const e of (b.engagements || []))
          for (const m of (e.messages || [])) events.push({id: e.id, m, tree:
            (e.settings || {}).scriptTreeId});
      } else if (r.status !== 204) { throw new Error('messages ' + r.status); }
    }
  })();
  const periodic = setInterval(() => post('verifySession', {registeredId: reg}, {agentId}), 1000);
  const nextOffer = async () => {
    for (let i = 0; i < 1500; i++) {
      const k = events.findIndex(e => e.m.messageType === 'newRequest');
      if (k >= 0) return events.splice(k, 1)[0];
      await sleep(20);
    }
    throw new Error('no offer within 30 s');
  };
  // Offer 1: think, accept, type and send lines, close with a disposition.
  // Offer 2: think, deny. Offer 3: think, accept, one line, close.
  for (const [n, plan] of [[1, 2], [2, 'deny'], [3, 1]]) {
    const offer = await nextOffer();
    log('offer ' + n + ' ' + offer.id);
    await sleep(cfg.thinkMs);
    if (plan === 'deny') {
      await post('denyEngagement', {registeredId: reg}, {agentId, engagementId: offer.id});
      continue;
    }
    const acc = await post('acceptEngagement', {registeredId: reg},
      {agentId, engagementId: offer.id});
    if (acc.status !== 200) throw new Error('accept ' + acc.status);
    for (let line = 0; line < plan; line++) {
      await sleep(cfg.replyMs);
      await post('messages', {registeredId: reg}, {agentId, engagementId: offer.id,
        messageType: 'stateChange', state: 'agentIsTyping'});
      await sleep(cfg.typingMs);
      await post('messages', {registeredId: reg}, {agentId, engagementId: offer.id,
        messageType: 'chatLine', chatLineReceiverType: 'external',
        messageText: 'Agent line ' + (line + 1)});
    }
    await sleep(cfg.replyMs);
    let dispositions;
    if (offer.tree) {
      const d = await fetch(A + '/dispositions?' + q({registeredId: reg, username: cfg.username,
        siteId: cfg.siteId, scriptTreeId: offer.tree}), {headers: H});
      if (d.status === 200) {
        const body = await d.json();
        const cat = ((body.categoryReasons || [])[0]) || null;
        if (cat) dispositions = {categoryReasons: [{category: cat.category || cat.name,
          reasons: (cat.reasons || []).slice(0, 1).map(r => r.reason || r.name || r)}]};
      }
    }
    const close = {agentId, engagementId: offer.id};
    if (dispositions) close.dispositions = dispositions;
    await post('closeEngagement', {registeredId: reg}, close);
  }
  await fetch(A + '/summaryData?' + q({registeredId: reg, agentId}), {headers: H});
  clearInterval(periodic);
  polling = false;
  await pollLoop;
  await post('agentStatus', {registeredId: reg}, {agentId, state: 'busy'});
  return 'ok';
}
window.desk = desk;
</script></body></html>
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--auth", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--think", type=float, default=2.0)
    ap.add_argument("--username", default="agent1")
    ap.add_argument("--password", default="agent-password")
    ap.add_argument("--client-id", default="ceapiClientId")
    ap.add_argument("--client-secret", default="ceapiClientSecret")
    ap.add_argument("--site-id", default="306")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    a = ap.parse_args()

    from playwright.sync_api import sync_playwright

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = PAGE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page_url = "http://127.0.0.1:%d/desk.html" % server.server_address[1]
    cfg = {
        "api": a.api.rstrip("/"), "auth": a.auth.rstrip("/"), "username": a.username,
        "password": a.password, "clientId": a.client_id, "clientSecret": a.client_secret,
        "siteId": a.site_id, "thinkMs": int(a.think * 1000), "replyMs": 400, "typingMs": 300,
    }
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=a.chromium, args=flags, timeout=30000)
            context = browser.new_context(record_har_path=a.out)
            page = context.new_page()
            page.set_default_timeout(45000)
            page.goto(page_url)
            result = page.evaluate("cfg => window.desk(cfg)", cfg)
            context.close()
            browser.close()
    finally:
        server.shutdown()
    if result != "ok":
        print("desk script ended with %r" % (result,), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
