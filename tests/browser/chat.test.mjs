// End-to-end test of the browser page served by loopchat-server, in headless
// Chromium driven by playwright-core. Run from the repo root:
//   LOOPCHAT_SERVER=build/server/loopchat-server node --test tests/browser/chat.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const artifacts = path.join(here, 'artifacts');
const serverBin = path.resolve(process.cwd(),
  process.env.LOOPCHAT_SERVER || path.join(repoRoot, 'build', 'server', 'loopchat-server'));
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const haveServer = fs.existsSync(serverBin);

const WAIT = 15000; // ms for any single condition

const servers = new Set();
const proxies = new Set();
let browser;
let pageServer;
// The servers' history databases: one folder per server under this one, made
// in before() and removed in after(), so that no run leaves a loopchat-data
// folder in the working directory (the server's default).
let dataRoot;

function freshDataDir() {
  return fs.mkdtempSync(path.join(dataRoot, 'server-'));
}

// Starts loopchat-server on a data folder of its own unless given one (a
// restart passes the folder of the server it replaces); resolves with
// { child, port, dataDir } once it printed its port.
function startServer(port, extra = [], dataDir = freshDataDir()) {
  return new Promise((resolve, reject) => {
    const args = ['--bind', '127.0.0.1', '--port', String(port), '--fetch-allow', '127.0.0.0/8', '--quiet',
      '--data-dir', dataDir, ...extra];
    const child = spawn(serverBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    servers.add(child);
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`server did not report its port in time\n${out}\n${err}`)), WAIT);
    const fail = (e) => { clearTimeout(timer); child.kill('SIGKILL'); reject(e); };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on [^\s:]+:(\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve({ child, port: Number(m[1]), dataDir }); }
    });
    child.stderr.on('data', (d) => { err += d; if (err.length > 20000) err = err.slice(-10000); });
    child.on('error', fail);
    child.on('exit', (code, sig) => {
      servers.delete(child);
      fail(new Error(`server exited early (code ${code}, signal ${sig})\n${out}\n${err}`));
    });
  });
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(t);
}

// The same port and data folder right after a stop (the history goes on from
// disk): retry a few times in case the OS is slow to free the port.
async function restartServer(port, dataDir) {
  let lastErr;
  for (let i = 0; i < 20; i++) {
    try { return await startServer(port, [], dataDir); } catch (e) {
      lastErr = e;
      await new Promise((r) => setTimeout(r, 250 * (i + 1)));
    }
  }
  throw lastErr;
}

async function launch() {
  if (!browser) {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
        '--no-first-run', '--disable-component-update', '--disable-sync'],
    });
  }
  return browser;
}

// A TCP relay between the page and the server, so that a test can drop the
// page's connection for real: cut() destroys every relayed socket and refuses
// new ones until open().
async function startProxy(targetPort) {
  const sockets = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) { client.destroy(); return; }
    const upstream = net.connect(targetPort, '127.0.0.1');
    const end = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    for (const s of [client, upstream]) { sockets.add(s); s.on('error', end); s.on('close', end); }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const proxy = {
    port: server.address().port,
    cut() { refusing = true; for (const s of [...sockets]) s.destroy(); },
    open() { refusing = false; },
    close() { this.cut(); server.close(); proxies.delete(proxy); },
  };
  proxies.add(proxy);
  return proxy;
}

// Another client says `texts` in `room`, one after the other, each once the
// server has accepted the one before (rate_limited ones again, a moment later).
async function post(port, room, texts) {
  const ctx = await (await launch()).newContext();
  const page = await ctx.newPage();
  await page.goto(`http://127.0.0.1:${port}/healthz`);
  await page.evaluate(async ({ port, room, texts }) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const waiting = new Map();
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      const answer = m.id !== undefined && waiting.get(m.id);
      if (answer) { waiting.delete(m.id); answer(m); }
    };
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('poster: no connection')); });
    const ask = (request) => new Promise((resolve) => { waiting.set(request.id, resolve); ws.send(JSON.stringify(request)); });
    const joined = await ask({ type: 'join', room, id: 'join' });
    if (joined.type !== 'joined') throw new Error(`poster: ${JSON.stringify(joined)}`);
    for (let i = 0; i < texts.length; i++) {
      for (;;) {
        const answer = await ask({ type: 'say', room, text: texts[i], id: `say-${i}` });
        if (answer.type === 'message') break;
        if (answer.code !== 'rate_limited') throw new Error(`poster: ${JSON.stringify(answer)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    ws.close();
  }, { port, room, texts });
  await ctx.close();
}

function numbered(prefix, count) {
  return Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);
}

// The texts of a room's message rows, top to bottom.
function roomTexts(page, room) {
  return page.$$eval(`[data-testid="log"] .msg[data-room="${room}"] .text`, (rows) => rows.map((r) => r.textContent));
}

// The last things the page told its user (to explain a failure).
async function notes(page) {
  const rows = await page.$$eval('[data-testid="log"] .note, [data-testid="log"] .error',
    (list) => list.map((r) => [...r.children].map((c) => c.textContent).join(' ')));
  return rows.slice(-10).join('\n');
}

// Waits for `condition` (a function of the page, run there), or fails saying what the page showed.
async function waitOrExplain(page, condition, arg, what) {
  try {
    await page.waitForFunction(condition, arg, { timeout: WAIT });
  } catch (e) {
    throw new Error(`${what} did not happen; the page said:\n${await notes(page)}\n(${e.message.split('\n')[0]})`);
  }
}

// `got` must be `want`: else say what is missing, repeated or out of place.
function assertOnceInOrder(got, want, context) {
  const missing = want.filter((t) => !got.includes(t));
  const repeated = got.filter((t, i) => got.indexOf(t) !== i);
  const brief = (list) => `${list.length}${list.length ? ` (${list.slice(0, 3).join(', ')}${list.length > 3 ? ', ...' : ''})` : ''}`;
  assert.deepEqual(got, want,
    `messages shown: ${got.length}, wanted ${want.length}; missing ${brief(missing)}; repeated ${brief(repeated)}\n${context}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
}

async function connected(page) {
  await page.locator('[data-testid="conn-state"][data-state="open"]').waitFor({ timeout: WAIT });
  assert.match(await page.getByTestId('conn-state').textContent(), /connected/);
}

// The room shows in the list and the server has confirmed the join.
async function inRoom(page, room) {
  await page.locator(`[data-testid="rooms"] li[data-room="${room}"][data-joined="true"]`).waitFor({ timeout: WAIT });
}

async function setNick(page, name) {
  const nick = page.getByTestId('nick');
  await nick.fill(name);
  await nick.press('Enter');
  await page.waitForFunction((n) => document.body.dataset.me === n, name, { timeout: WAIT });
}

async function type(page, line) {
  const input = page.getByTestId('input');
  await input.fill(line);
  await input.press('Enter');
}

function msgRow(page, from, text) {
  return page.locator(`[data-testid="log"] .msg[data-from="${from}"]`, { hasText: text });
}

// Every message row must be unique by (room, seq, text).
async function assertNoDuplicates(page, who) {
  const keys = await page.$$eval('[data-testid="log"] .msg', (rows) => rows.map((r) =>
    `${r.dataset.room}|${r.dataset.seq}|${r.querySelector('.text')?.textContent ?? r.textContent}`));
  const dup = keys.filter((k, i) => keys.indexOf(k) !== i);
  assert.deepEqual(dup, [], `${who}: duplicated message rows`);
  return keys.length;
}

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'loopchat-browser-'));
  pageServer = http.createServer((req, res) => {
    if (req.url === '/page') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><html><head><title>Test Page</title></head><body><p>hello</p></body></html>');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  pageServer.listen(0, '127.0.0.1');
  await once(pageServer, 'listening');
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  // Each server gone before its folder goes.
  await Promise.all([...servers].map(async (child) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
    await exited;
  }));
  for (const proxy of [...proxies]) proxy.close();
  if (pageServer) pageServer.close();
  if (dataRoot) fs.rmSync(dataRoot, { recursive: true, force: true });
});

test('two people chat, remind, fetch, and survive a server restart', {
  timeout: 120000,
}, async () => {
  assert.ok(haveServer, `no server binary at ${serverBin} (set LOOPCHAT_SERVER)`);
  let { child, port, dataDir } = await startServer(0);
  // The pages reach the server through a relay, so that after the restart the
  // test can keep them off it until another client has posted (they would
  // otherwise reconnect whenever their backoff says).
  const proxy = await startProxy(port);
  const url = `http://127.0.0.1:${proxy.port}/`;

  await launch();
  const viewport = { width: 1000, height: 700 };
  const ctxA = await browser.newContext({ viewport });
  const ctxB = await browser.newContext({ viewport });
  const alice = await ctxA.newPage();
  const bob = await ctxB.newPage();
  const pageErrors = [];
  // Every frame each page receives, to tell a history answer from live messages.
  const received = new Map([[alice, []], [bob, []]]);
  for (const [who, p] of [['alice', alice], ['bob', bob]]) {
    p.on('pageerror', (e) => pageErrors.push(`${who}: ${e.message}`));
    p.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => {
      try { received.get(p).push(JSON.parse(String(payload))); } catch { /* not ours to judge */ }
    }));
  }

  // --- both open the page: guests in lobby --------------------------------
  await alice.goto(url);
  await connected(alice);
  await inRoom(alice, 'lobby');
  await bob.goto(url);
  await connected(bob);
  await inRoom(bob, 'lobby');

  // --- nicknames; each sees the other's presence --------------------------
  await setNick(alice, 'alice');
  await bob.locator('[data-testid="log"] .presence[data-room="lobby"]', { hasText: 'alice' }).waitFor({ timeout: WAIT });
  await setNick(bob, 'bob');
  await alice.locator('[data-testid="log"] .presence[data-room="lobby"]', { hasText: 'bob' }).waitFor({ timeout: WAIT });

  // A taken name is refused, visibly, and the old name stays.
  await bob.getByTestId('nick').fill('alice');
  await bob.getByTestId('nick').press('Enter');
  await bob.locator('#nick-error', { hasText: 'taken' }).waitFor({ timeout: WAIT });
  assert.equal(await bob.evaluate(() => document.body.dataset.me), 'bob');
  await bob.getByTestId('nick').fill('bob');
  await bob.getByTestId('nick').press('Enter');

  // --- messages both ways --------------------------------------------------
  await type(alice, 'hello bob, see https://example.org/docs.');
  await msgRow(bob, 'alice', 'hello bob').waitFor({ timeout: WAIT });
  assert.equal(await msgRow(alice, 'alice', 'hello bob').getAttribute('data-room'), 'lobby');
  assert.ok(await alice.locator('.msg.own[data-from="alice"]').count() >= 1, 'own message styled apart');
  assert.equal(await msgRow(bob, 'alice', 'hello bob').locator('a[href="https://example.org/docs"]').count(), 1,
    'URL in text is a link');

  await bob.getByTestId('input').fill('hi alice <b>not bold</b>');
  await bob.getByTestId('send').click();
  await msgRow(alice, 'bob', 'hi alice').waitFor({ timeout: WAIT });
  assert.equal(await msgRow(alice, 'bob', 'hi alice').locator('b').count(), 0, 'user text is never markup');
  await shot(alice, '01-alice-chat');
  await shot(bob, '01-bob-chat');

  // --- reminder and link preview -------------------------------------------
  await type(alice, '/remind 1 tea');
  await alice.locator('[data-testid="log"] .reminder', { hasText: 'tea' }).waitFor({ timeout: WAIT });

  const pagePort = pageServer.address().port;
  await type(alice, `/fetch http://127.0.0.1:${pagePort}/page`);
  await alice.locator('[data-testid="log"] .preview', { hasText: 'Test Page' }).waitFor({ timeout: WAIT });
  // The room sees the server's preview message too.
  await bob.locator('[data-testid="log"] .msg[data-from="alice"]', { hasText: 'Test Page' }).waitFor({ timeout: WAIT });
  await shot(alice, '02-alice-remind-fetch');
  await shot(bob, '02-bob-preview');

  // --- a second room: unread badge on the room not shown -------------------
  await type(alice, '/join side');
  await inRoom(alice, 'side');
  await type(bob, '/join side');
  await inRoom(bob, 'side');
  await bob.locator('[data-testid="rooms"] li[data-room="lobby"] button').click();
  await type(alice, 'psst, over here');
  await bob.locator('[data-testid="rooms"] li[data-room="side"] .badge', { hasText: '1' }).waitFor({ timeout: WAIT });
  await bob.locator('[data-testid="rooms"] li[data-room="side"] button').click();
  await msgRow(bob, 'alice', 'psst').waitFor({ state: 'visible', timeout: WAIT });
  await alice.locator('[data-testid="rooms"] li[data-room="lobby"] button').click();
  await bob.locator('[data-testid="rooms"] li[data-room="lobby"] button').click();

  // --- the server restarts on the same port and data folder ---------------
  // The newest lobby message each page shows: the fill after the restart asks
  // since one below it, and the server's numbering must go on past it.
  const lobbySeqs = (p) => p.$$eval('[data-testid="log"] .msg[data-room="lobby"]', (rows) => rows.map((r) => Number(r.dataset.seq)));
  const lastBefore = new Map();
  for (const p of [alice, bob]) lastBefore.set(p, Math.max(...await lobbySeqs(p)));
  const lastSeqBefore = Math.max(...lastBefore.values());
  const lobbyBefore = new Map();
  for (const p of [alice, bob]) lobbyBefore.set(p, await roomTexts(p, 'lobby'));

  await stopServer(child);
  servers.delete(child);
  // With no server listening the pages cannot be connected; from here on the
  // relay refuses them too, so they stay away until proxy.open().
  proxy.cut();
  for (const p of [alice, bob]) {
    await p.locator('[data-testid="conn-state"]', { hasText: 'reconnecting' }).waitFor({ timeout: WAIT });
  }
  await shot(alice, '03-alice-reconnecting');
  ({ child, port } = await restartServer(port, dataDir));
  const framesBefore = new Map([...received].map(([p, list]) => [p, list.length]));

  // Someone else talks in the lobby while alice and bob are away.
  const missed = numbered('said during the outage #', 3);
  await post(port, 'lobby', missed);
  for (const p of [alice, bob]) {
    assert.equal(await p.getByTestId('conn-state').getAttribute('data-state'), 'reconnecting',
      'the page is still away when the messages it will miss are posted');
  }

  proxy.open();
  for (const p of [alice, bob]) {
    await connected(p);
    await inRoom(p, 'lobby');
    await inRoom(p, 'side');
    await waitOrExplain(p, (last) => [...document.querySelectorAll('.msg[data-room="lobby"] .text')]
      .some((t) => t.textContent === last), missed[missed.length - 1], 'the missed messages shown');
  }
  assert.equal(await alice.evaluate(() => document.body.dataset.me), 'alice', 'nickname restored');
  assert.equal(await bob.evaluate(() => document.body.dataset.me), 'bob', 'nickname restored');

  for (const [who, p] of [['alice', alice], ['bob', bob]]) {
    // The lobby shows what it showed before, then each missed message once, in order.
    assertOnceInOrder(await roomTexts(p, 'lobby'), [...lobbyBefore.get(p), ...missed], `${who}:\n${await notes(p)}`);
    // They came in the answer to the history the page asked after the reconnect,
    // none as a live message; that answer starts with the last message the page
    // showed before the restart, read back from disk with the same seq and text.
    const after = received.get(p).slice(framesBefore.get(p));
    const live = after.filter((f) => f.type === 'message' && missed.includes(f.text));
    assert.deepEqual(live, [], `${who}: missed messages arrived live, not from history`);
    const filled = after.find((f) => f.type === 'history' && f.room === 'lobby'
      && Array.isArray(f.messages) && f.messages.some((x) => x.text === missed[0]));
    assert.ok(filled, `${who}: no history answer carried the missed messages: ${JSON.stringify(after.map((f) => f.type))}`);
    assert.deepEqual(filled.messages.map((x) => x.text), [...lobbyBefore.get(p).slice(-1), ...missed],
      `${who}: the fill is the last message shown before the restart and the missed ones`);
    assert.equal(filled.messages[0].seq, lastBefore.get(p), `${who}: the fill starts at the last seq shown`);
    // The server numbered on from where it stopped: no restart was noticed.
    const seqs = filled.messages.slice(1).map((x) => x.seq);
    assert.ok(seqs.every((q, i) => q > lastSeqBefore && (i === 0 || q > seqs[i - 1])),
      `${who}: seqs after the restart go on past ${lastSeqBefore}: ${seqs}`);
    assert.equal(await p.locator('[data-testid="log"] .note.restart').count(), 0,
      `${who}: the page saw the numbering start over`);
    await p.locator('[data-testid="log"] .pane[data-room="lobby"] .divider', { hasText: `${missed.length} missed while you were away` })
      .waitFor({ timeout: WAIT });
  }

  await type(alice, 'still here after the restart?');
  await msgRow(bob, 'alice', 'still here after the restart').waitFor({ timeout: WAIT });
  // A live message after the fill is numbered after every one before it.
  const stillHere = Number(await msgRow(bob, 'alice', 'still here after the restart').getAttribute('data-seq'));
  const liveFrame = received.get(bob).find((f) => f.type === 'message' && f.text === 'still here after the restart?');
  assert.equal(liveFrame?.seq, stillHere, 'bob got it live, with the seq shown');
  const earlier = (await lobbySeqs(bob)).filter((q) => q !== stillHere);
  assert.ok(earlier.length >= missed.length + 1 && earlier.every((q) => q < stillHere),
    `seq ${stillHere} comes after every lobby message before it: ${earlier}`);
  await type(bob, 'yes, all good');
  await msgRow(alice, 'bob', 'yes, all good').waitFor({ timeout: WAIT });
  // Messages from before the restart are still there, once; so are the missed ones.
  assert.equal(await msgRow(bob, 'alice', 'hello bob').count(), 1);
  assert.equal(await msgRow(alice, 'bob', 'hi alice').count(), 1);
  for (const p of [alice, bob]) {
    for (const text of missed) {
      assert.equal(await p.locator('[data-testid="log"] .msg[data-room="lobby"]', { hasText: text }).count(), 1, text);
    }
  }
  assert.ok(await assertNoDuplicates(alice, 'alice') >= 8);
  assert.ok(await assertNoDuplicates(bob, 'bob') >= 8);
  await shot(alice, '04-alice-after-restart');
  await shot(bob, '04-bob-after-restart');

  // --- narrow screen -------------------------------------------------------
  await bob.setViewportSize({ width: 375, height: 700 });
  await bob.getByTestId('input').fill('/help');
  await bob.getByTestId('send').click();
  await bob.locator('[data-testid="log"] .help').waitFor({ timeout: WAIT });
  const roomsBox = await bob.getByTestId('rooms').boundingBox();
  const logBox = await bob.getByTestId('log').boundingBox();
  assert.ok(roomsBox && logBox && roomsBox.y + roomsBox.height <= logBox.y + 1, 'room list sits above the log');
  const overflow = await bob.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, 'no horizontal scrolling at 375px');
  await shot(bob, '05-bob-narrow');

  assert.deepEqual(pageErrors, [], 'no script errors on the pages');
  proxy.close();
  await stopServer(child);
  servers.delete(child);
});

// The page's connection drops (the relay cuts it) while another client says
// `count` messages; once it is back, it has asked for the history since the
// last message it had shown, and shows each missed message once, in order.
async function dropAndFill(room, count) {
  assert.ok(haveServer, `no server binary at ${serverBin} (set LOOPCHAT_SERVER)`);
  const { child, port } = await startServer(0, ['--history', '1000', '--rate', '1000', '--burst', '1000']);
  const proxy = await startProxy(port);
  const ctx = await (await launch()).newContext();
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const asked = [];
  page.on('websocket', (ws) => ws.on('framesent', ({ payload }) => {
    const frame = JSON.parse(payload);
    if (frame.type === 'history' && frame.room === room) asked.push(frame);
  }));
  try {
    await page.goto(`http://127.0.0.1:${proxy.port}/?room=${room}`);
    await connected(page);
    await inRoom(page, room);
    await post(port, room, ['before the drop']);
    await page.locator('[data-testid="log"] .msg', { hasText: 'before the drop' }).waitFor({ timeout: WAIT });
    const lastSeen = Number(await page.locator(`.msg[data-room="${room}"]`).last().getAttribute('data-seq'));

    proxy.cut();
    await page.locator('[data-testid="conn-state"]', { hasText: 'reconnecting' }).waitFor({ timeout: WAIT });
    const missed = numbered('missed-', count);
    await post(port, room, missed);
    asked.length = 0;
    proxy.open();
    await page.locator('#retry').click({ timeout: WAIT }).catch(() => { /* it may be reconnecting already */ });
    await connected(page);
    await inRoom(page, room);
    const want = ['before the drop', ...missed];
    await waitOrExplain(page, ({ room, last }) => [...document.querySelectorAll(`.msg[data-room="${room}"] .text`)]
      .some((t) => t.textContent === last), { room, last: missed[missed.length - 1] }, `${missed[missed.length - 1]} shown`);
    // Live messages after the fill are shown once as well.
    await post(port, room, ['after the fill']);
    await waitOrExplain(page, (room) => [...document.querySelectorAll(`.msg[data-room="${room}"] .text`)]
      .some((t) => t.textContent === 'after the fill'), room, 'the live message after the fill');
    assertOnceInOrder(await roomTexts(page, room), [...want, 'after the fill'], await notes(page));
    assert.ok(asked.length >= 1 && asked[0].since_seq === lastSeen - 1,
      `the first history after the reconnect asks since one below the last seq seen (${lastSeen}): ${JSON.stringify(asked)}`);
    assert.deepEqual(errors, [], 'no script errors on the page');
    return asked;
  } finally {
    await ctx.close();
    proxy.close();
    await stopServer(child);
  }
}

test('a dropped page fills the gap once it is back: each missed message once, in order', {
  timeout: 60000,
}, async () => {
  await dropAndFill('gap', 60);
});

test('a gap longer than one history answer is filled page by page with since_seq', {
  timeout: 60000,
}, async () => {
  const asked = await dropAndFill('longgap', 250);
  assert.ok(asked.length >= 3, `250 messages take 3 answers of 100 at least: ${JSON.stringify(asked)}`);
  for (let i = 1; i < asked.length; i++) assert.ok(asked[i].since_seq > asked[i - 1].since_seq, 'each page goes on from the last');
});

// 100 messages of 16,000 characters: 1.6 MB, more than a connection's queue
// (1 MiB). The server trims the join's history to its byte budget and says
// so; the page shows the newest, stays connected, and pages back on demand.
test('a room whose last 100 messages exceed 1 MiB can be joined from the page', {
  timeout: 90000,
}, async () => {
  assert.ok(haveServer, `no server binary at ${serverBin} (set LOOPCHAT_SERVER)`);
  // A ring of 200 keeps all 100 after the page's own message too.
  const { child, port } = await startServer(0, ['--history', '200', '--rate', '1000', '--burst', '1000']);
  const big = numbered('big-', 100).map((head) => `${head} ${'x'.repeat(16000 - head.length - 1)}`);
  const ctx = await (await launch()).newContext({ viewport: { width: 1000, height: 700 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  let closes = 0;
  page.on('websocket', (ws) => ws.on('close', () => { closes++; }));
  try {
    await post(port, 'big', big);
    await page.goto(`http://127.0.0.1:${port}/?room=big`);
    await waitOrExplain(page, () => !!document.querySelector('[data-testid="older"]'), undefined,
      'the older-messages control');
    assert.equal(closes, 0, `the connection was closed on joining; the page said:\n${await notes(page)}`);
    await connected(page);
    const shown = await roomTexts(page, 'big');
    assert.ok(shown.length > 0 && shown.length < 100, `some, not all, of the 100 are shown: ${shown.length}`);
    assert.deepEqual(shown, big.slice(100 - shown.length), 'the newest, in order');
    // Still connected and served: a message of its own comes back.
    await type(page, 'still connected');
    await msgRow(page, await page.evaluate(() => document.body.dataset.me), 'still connected').waitFor({ timeout: WAIT });
    await shot(page, '06-big-room');

    // The control pages back until the server has no more.
    for (let i = 0; i < 100 && await page.locator('[data-testid="older"]').count(); i++) {
      const before = (await roomTexts(page, 'big')).length;
      await page.locator('[data-testid="older"]').click();
      await waitOrExplain(page, ({ before }) => document.querySelectorAll('.msg[data-room="big"]').length > before
        || !document.querySelector('[data-testid="older"]'), { before }, 'an older page');
    }
    assertOnceInOrder((await roomTexts(page, 'big')).map((t) => t.slice(0, 12)),
      [...big, 'still connected'].map((t) => t.slice(0, 12)), 'every message once, oldest first');
    assert.equal(closes, 0, 'the connection was never closed');
    assert.equal(await page.getByTestId('conn-state').getAttribute('data-state'), 'open');
    assert.deepEqual(errors, [], 'no script errors on the page');
  } finally {
    await ctx.close();
    await stopServer(child);
  }
});

// A server with authentication: each page is the user of the token in its
// own URL, and the member list follows the room (who, then presence).
test('a token in the page URL is its user, and the member list follows the room', {
  timeout: 60000,
}, async () => {
  assert.ok(haveServer, `no server binary at ${serverBin} (set LOOPCHAT_SERVER)`);
  const secret = path.join(dataRoot, 'secret');
  fs.writeFileSync(secret, 'a browser-test secret of well over thirty-two bytes\n');
  const mint = (sub) => {
    const r = spawnSync(serverBin, ['token', '--secret-file', secret, '--sub', sub, '--rooms', 'team-*', '--ttl', '10m'],
      { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  const { child, port } = await startServer(0, ['--auth-secret-file', secret]);
  const ctx = await (await launch()).newContext();
  const ann = await ctx.newPage();
  const bob = await ctx.newPage();
  const errors = [];
  for (const p of [ann, bob]) p.on('pageerror', (e) => errors.push(e.message));
  const members = (page) => page.$$eval('[data-testid="members"] li', (list) => list.map((li) => li.textContent));
  try {
    await ann.goto(`http://127.0.0.1:${port}/?room=team-a&token=${mint('ann')}`);
    await connected(ann);
    await inRoom(ann, 'team-a');
    assert.equal(await ann.evaluate(() => document.body.dataset.me), 'ann', 'the name is the token\'s');
    assert.equal(await ann.getByTestId('nick').getAttribute('readonly'), '', 'and cannot be changed on the page');
    await waitOrExplain(ann, () => [...document.querySelectorAll('[data-testid="members"] li')]
      .map((li) => li.textContent).join(',') === 'ann', undefined, 'ann alone in the member list');

    await bob.goto(`http://127.0.0.1:${port}/?room=team-a&token=${mint('bob')}`);
    await inRoom(bob, 'team-a');
    await waitOrExplain(bob, () => [...document.querySelectorAll('[data-testid="members"] li')]
      .map((li) => li.textContent).join(',') === 'ann,bob', undefined, 'bob sees both (who)');
    await waitOrExplain(ann, () => [...document.querySelectorAll('[data-testid="members"] li')]
      .map((li) => li.textContent).join(',') === 'ann,bob', undefined, 'ann sees bob arrive (presence)');
    await shot(ann, '07-members');

    await bob.close();
    await waitOrExplain(ann, () => [...document.querySelectorAll('[data-testid="members"] li')]
      .map((li) => li.textContent).join(',') === 'ann', undefined, 'bob gone from ann\'s list');

    // A room outside the token's: refused, and the page says so.
    await type(ann, '/join secret');
    await waitOrExplain(ann, () => /forbidden|does not let you/.test(document.querySelector('[data-testid="log"]').textContent),
      undefined, 'the forbidden join explained');
    assert.deepEqual(await members(ann), ['ann']);
    assert.deepEqual(errors, [], 'no script errors on the pages');
  } finally {
    await ctx.close();
    await stopServer(child);
  }
});

// wss:// as deployed (docs/deploy.md): Debian's nginx does TLS with a
// self-signed certificate in front of loopchat, from tests/support/nginx.conf.in.
async function startNginx(upstreamPort) {
  const prefix = fs.mkdtempSync(path.join(dataRoot, 'nginx-'));
  fs.mkdirSync(path.join(prefix, 'tmp'));
  const cert = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', path.join(prefix, 'key.pem'), '-out', path.join(prefix, 'cert.pem')], { encoding: 'utf8' });
  assert.equal(cert.status, 0, `openssl (tools/setup --test installs it): ${cert.stderr}`);
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const p = probe.address().port;
      probe.close(() => resolve(p));
    });
  });
  const conf = fs.readFileSync(path.join(repoRoot, 'tests', 'support', 'nginx.conf.in'), 'utf8')
    .replaceAll('@PREFIX@', prefix).replaceAll('@PORT@', String(port))
    .replaceAll('@UPSTREAM@', String(upstreamPort))
    .replaceAll('@USER@', process.getuid() === 0 ? 'user root;' : '');
  fs.writeFileSync(path.join(prefix, 'nginx.conf'), conf);
  const child = spawn('nginx', ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e',
    path.join(prefix, 'error.log'), '-g', 'daemon off;'], { stdio: 'ignore' });
  servers.add(child);
  child.on('exit', () => servers.delete(child));
  const spawnFailed = new Promise((_, reject) => child.on('error', (e) => reject(new Error(`nginx (tools/setup --test installs it): ${e.message}`))));
  for (let i = 0; i < 200; i++) {
    const up = await Promise.race([spawnFailed, new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    })]);
    if (up) return { child, port };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('nginx did not listen');
}

test('the page chats over wss:// through nginx', { timeout: 60000 }, async () => {
  assert.ok(haveServer, `no server binary at ${serverBin} (set LOOPCHAT_SERVER)`);
  const { child, port } = await startServer(0, ['--trusted-proxy', '127.0.0.1/32']);
  const nginx = await startNginx(port);
  const ctx = await (await launch()).newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  try {
    await page.goto(`https://127.0.0.1:${nginx.port}/?room=tls`);
    await connected(page);
    await inRoom(page, 'tls');
    assert.ok(sockets.length > 0 && sockets.every((u) => u.startsWith(`wss://127.0.0.1:${nginx.port}/ws`)),
      `the page's socket is wss through nginx: ${JSON.stringify(sockets)}`);
    await type(page, 'over tls');
    await msgRow(page, await page.evaluate(() => document.body.dataset.me), 'over tls').waitFor({ timeout: WAIT });
    await shot(page, '08-wss');
    assert.deepEqual(errors, [], 'no script errors on the page');
  } finally {
    await ctx.close();
    await stopServer(nginx.child);
    await stopServer(child);
  }
});
