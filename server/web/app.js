// loopchat browser page: plain JS, no dependencies, no build step.
// Speaks protocol v1 (JSON text frames over ws://HOST:PORT/ws).
// User data only ever reaches the DOM through textContent / attributes.
'use strict';

(() => {
  const ROOM_RE = /^[A-Za-z0-9._-]{1,64}$/;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const HISTORY_LIMIT = 100;
  const WHO_PAGE = 200;          // names per `who` page
  const MAX_NAMES_SHOWN = 1000;  // the member list stops there ("and more…")
  const MAX_ROWS_PER_ROOM = 1000;
  const NO_ROOM = '';
  // Request ids are copied into broadcasts, so make ours unlikely to collide with other pages'.
  const TAG = Math.random().toString(36).slice(2, 8);

  const $ = (id) => document.getElementById(id);
  const els = {
    conn: $('conn-state'), retry: $('retry'),
    nickForm: $('nick-form'), nick: $('nick'), nickError: $('nick-error'),
    rooms: $('rooms'), joinForm: $('join-form'), joinRoom: $('join-room'), joinError: $('join-error'),
    roomTitle: $('room-title'), roomMembers: $('room-members'), leave: $('leave'),
    members: $('members'),
    log: $('log'), composer: $('composer'), input: $('input'),
  };

  // ------------------------------------------------------------- state ---
  const params = new URLSearchParams(location.search);
  const state = {
    ws: null,
    open: false,          // welcome received on the current socket
    everConnected: false,
    attempt: 0,           // reconnect attempts since the last good connection
    retryTimer: 0,
    countdownTimer: 0,
    me: '',               // nickname the server knows us by
    wanted: '',           // nickname we want (kept across reconnects)
    nextId: 1,
    pending: new Map(),   // request id -> { kind, room, ... }
    rooms: new Map(),     // name -> Room
    current: NO_ROOM,
    sentIds: new Set(),   // ids of our own says
    recall: [],           // sent lines, for ArrowUp
    recallPos: -1,
  };

  // A room: its log pane, sequence bookkeeping and unread counter.
  function makeRoom(name) {
    const pane = document.createElement('div');
    pane.className = 'pane';
    pane.dataset.room = name;
    pane.hidden = true;
    els.log.appendChild(pane);
    const room = {
      name, pane,
      joined: false,       // server confirmed membership on this connection
      members: null,
      names: new Set(),    // who is in it: a `who` after each join, then presence
      namesComplete: true, // false while more names than MAX_NAMES_SHOWN
      lastSeq: 0,          // newest seq shown
      lastKey: '',         // msgKey of that message
      oldestSeq: 0,        // oldest seq shown: older pages are asked before it
      seen: new Set(),     // keys of messages shown (survives seq resets)
      syncing: false,      // waiting for the last history page of a (re)join
      buffered: [],        // live messages that arrived while syncing
      firstSync: true,
      missed: null,        // the "missed while away" divider of the fill under way
      missedCount: 0,
      older: null,         // the "older messages" control, while there may be more
      unread: 0,
      item: null, badge: null,
    };
    if (name !== NO_ROOM) state.rooms.set(name, room);
    return room;
  }
  const lobbyless = makeRoom(NO_ROOM); // pane for notes while no room is open

  function paneFor(name) {
    const r = name !== undefined && state.rooms.get(name);
    if (r) return r;
    return state.rooms.get(state.current) || lobbyless;
  }

  // ------------------------------------------------------ connection ---
  // A server with authentication wants a token: the page passes on the one
  // in its own URL (?token=).
  function wsUrl() {
    const token = params.get('token');
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws' +
      (token ? '?token=' + encodeURIComponent(token) : '');
  }

  function setConn(kind, text) {
    els.conn.dataset.state = kind;
    els.conn.textContent = text;
    els.retry.hidden = !(kind === 'reconnecting' || kind === 'offline');
    document.body.dataset.conn = kind;
  }

  function connect() {
    clearTimeout(state.retryTimer);
    clearInterval(state.countdownTimer);
    if (!navigator.onLine) { setConn('offline', 'offline'); return; }
    setConn(state.everConnected ? 'reconnecting' : 'connecting',
      state.everConnected ? 'reconnecting…' : 'connecting…');
    let ws;
    try { ws = new WebSocket(wsUrl()); } catch (e) { scheduleReconnect(); return; }
    state.ws = ws;
    ws.onmessage = (ev) => {
      if (ws !== state.ws) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg && typeof msg === 'object' && typeof msg.type === 'string') handle(msg);
    };
    ws.onclose = (ev) => {
      if (ws !== state.ws) return;
      const wasOpen = state.open;
      state.ws = null;
      state.open = false;
      for (const r of state.rooms.values()) {
        r.joined = false;
        r.syncing = false;
        r.buffered = [];
        if (r.older) r.older.disabled = false;
      }
      renderRooms();
      renderRoomHead();
      if (wasOpen) {
        const why = ev.code === 1001 ? 'the server is going away' : `connection closed (${ev.code})`;
        note(`Disconnected: ${why}. Reconnecting…`, 'info');
      }
      scheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  function scheduleReconnect() {
    clearTimeout(state.retryTimer);
    clearInterval(state.countdownTimer);
    if (!navigator.onLine) { setConn('offline', 'offline'); return; }
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** state.attempt);
    const delay = Math.round(base * (0.5 + Math.random() * 0.5)); // jitter: 50-100%
    state.attempt++;
    const due = Date.now() + delay;
    const tick = () => {
      const s = Math.max(1, Math.ceil((due - Date.now()) / 1000));
      setConn('reconnecting', `reconnecting in ${s}s`);
    };
    tick();
    state.countdownTimer = setInterval(tick, 250);
    state.retryTimer = setTimeout(connect, delay);
  }

  els.retry.addEventListener('click', () => { state.attempt = 0; connect(); });
  window.addEventListener('online', () => { if (!state.ws) { state.attempt = 0; connect(); } });
  window.addEventListener('offline', () => {
    if (!state.ws) { clearTimeout(state.retryTimer); clearInterval(state.countdownTimer); setConn('offline', 'offline'); }
  });

  function send(obj, meta) {
    const ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return null;
    const id = `${TAG}-${state.nextId++}`;
    obj.id = id;
    if (meta) state.pending.set(id, meta);
    ws.send(JSON.stringify(obj));
    return id;
  }

  // --------------------------------------------------------- handlers ---
  function handle(m) {
    const meta = m.id !== undefined ? state.pending.get(String(m.id)) : undefined;
    if (meta && m.type !== 'message') state.pending.delete(String(m.id));
    switch (m.type) {
      case 'welcome': return onWelcome(m);
      case 'joined': return onJoined(m, meta);
      case 'left': return onLeft(m);
      case 'presence': return onPresence(m);
      case 'message': return onMessage(m);
      case 'history': return onHistory(m, meta);
      case 'pong': return onPong(m, meta);
      case 'reminder': return onReminder(m, meta);
      case 'fetched': return onFetched(m, meta);
      case 'stats': return onStats(m, meta);
      case 'who': return onWho(m);
      case 'error': return onError(m, meta);
      default: return undefined;
    }
  }

  function onWelcome(m) {
    const reconnect = state.everConnected;
    state.open = true;
    state.everConnected = true;
    state.attempt = 0;
    state.pending.clear();
    setConn('open', 'connected');
    els.conn.title = m.version ? `server ${m.version}` : '';
    setMe(String(m.name || ''));
    if (reconnect) {
      note('Reconnected.', 'info');
      if (state.wanted && state.wanted !== state.me) requestNick(state.wanted, true);
      for (const r of state.rooms.values()) rejoin(r);
      if (state.rooms.size === 0) joinRoom(initialRoom());
    } else {
      const wanted = (params.get('name') || '').trim();
      state.wanted = state.me;
      if (wanted && wanted !== state.me) requestNick(wanted, false);
      joinRoom(initialRoom());
    }
  }

  function initialRoom() {
    const r = (params.get('room') || '').trim();
    return ROOM_RE.test(r) ? r : 'lobby';
  }

  function setMe(name) {
    const before = state.me;
    for (const r of state.rooms.values()) {  // the server tells the others, not us
      if (before && r.names.delete(before)) r.names.add(name);
    }
    renderMembers();
    state.me = name;
    document.body.dataset.me = name;
    if (document.activeElement !== els.nick || !els.nick.value) els.nick.value = name;
    for (const row of els.log.querySelectorAll('.msg')) {
      row.classList.toggle('own', row.dataset.from === name || row.dataset.own === '1');
    }
  }

  // Success of `nick` has no answer of its own: a ping sent right after it is
  // answered after it, so a pong with no error in between means it worked.
  function requestNick(name, quiet) {
    const nid = send({ type: 'nick', name }, { kind: 'nick', name, quiet });
    if (nid === null) { showNickError('Not connected — try again when connected.'); return; }
    send({ type: 'ping' }, { kind: 'nick-confirm', nickId: nid, name, quiet });
  }

  function onPong(m, meta) {
    if (!meta || meta.kind !== 'nick-confirm') return;
    if (state.pending.has(meta.nickId)) {
      state.pending.delete(meta.nickId);
      const old = state.me;
      state.wanted = meta.name;
      setMe(meta.name);
      els.nick.value = meta.name;
      showNickError('');
      if (!meta.quiet && old !== meta.name) note(`You are now known as ${meta.name}.`, 'info');
    }
  }

  function joinRoom(name) {
    let r = state.rooms.get(name);
    if (r && r.joined) { switchTo(name); return; }
    if (!r) { r = makeRoom(name); renderRooms(); }
    switchTo(name);
    rejoin(r);
  }

  // A (re)join asks for history: the latest messages the first time; after a
  // reconnect, those since one below the last seq shown (that message comes
  // back and tells a continued history from a restarted server's), page after
  // page while the answers are trimmed or full.
  function rejoin(r) {
    r.syncing = true;
    r.buffered = [];
    r.missed = null;
    r.missedCount = 0;
    send({ type: 'join', room: r.name }, { kind: 'join', room: r.name });
    if (r.lastSeq > 0) askHistory(r, { since_seq: r.lastSeq - 1 }, { check: true });
    else askHistory(r, {});
  }

  function askHistory(r, range, extra) {
    send({ type: 'history', room: r.name, limit: HISTORY_LIMIT, ...range },
      { kind: 'history', room: r.name, since: range.since_seq, ...extra });
  }

  function onJoined(m) {
    const r = state.rooms.get(m.room) || makeRoom(m.room);
    r.joined = true;
    r.members = Number.isFinite(m.members) ? m.members : r.members;
    r.names = new Set();
    r.namesComplete = true;
    send({ type: 'who', room: r.name, limit: WHO_PAGE }, { kind: 'who', room: r.name });
    renderRooms();
    renderRoomHead();
  }

  // The member list: pages of `who` until the last one (or MAX_NAMES_SHOWN),
  // kept current by presence afterwards.
  function onWho(m) {
    const r = state.rooms.get(m.room);
    if (!r || !Array.isArray(m.names)) return;
    for (const name of m.names) if (r.names.size < MAX_NAMES_SHOWN) r.names.add(String(name));
    if (m.truncated && m.names.length > 0) {
      if (r.names.size < MAX_NAMES_SHOWN) {
        send({ type: 'who', room: r.name, limit: WHO_PAGE, after: String(m.names[m.names.length - 1]) },
          { kind: 'who', room: r.name });
      } else {
        r.namesComplete = false;
      }
    }
    if (r.name === state.current) renderMembers();
  }

  function onLeft(m) {
    const r = state.rooms.get(m.room);
    if (!r) return;
    r.pane.remove();
    state.rooms.delete(m.room);
    if (state.current === m.room) {
      const next = state.rooms.keys().next();
      switchTo(next.done ? NO_ROOM : next.value);
    }
    renderRooms();
    note(`You left ${m.room}.`, 'info');
  }

  function onPresence(m) {
    const r = state.rooms.get(m.room);
    if (!r) return;
    const name = String(m.name);
    const old = m.old;
    let text;
    if (m.event === 'join') {
      text = `${name} joined`;
      if (r.members !== null) r.members++;
      if (r.names.size < MAX_NAMES_SHOWN) r.names.add(name);
    } else if (m.event === 'leave') {
      text = `${name} left`;
      if (r.members !== null && r.members > 1) r.members--;
      r.names.delete(name);
    } else if (m.event === 'nick') {
      text = old ? `${old} is now known as ${name}` : `a member is now known as ${name}`;
      if (old) r.names.delete(String(old));
      r.names.add(name);
    } else return;
    if (r.name === state.current) renderMembers();
    const row = document.createElement('div');
    row.className = 'presence';
    row.dataset.room = m.room;
    row.dataset.event = String(m.event);
    row.appendChild(timeEl(Date.now()));
    const t = document.createElement('span');
    t.className = 'presence-text';
    t.textContent = text;
    row.appendChild(t);
    append(r, row, false);
    renderRoomHead();
  }

  function msgKey(m) { return `${m.seq}|${m.ts}|${m.from}|${m.text}`; }

  function onMessage(m) {
    if (m.id !== undefined && state.pending.get(String(m.id))?.kind === 'say') state.pending.delete(String(m.id));
    const r = state.rooms.get(m.room);
    if (!r) return;
    if (r.syncing) { r.buffered.push(m); return; }
    acceptLive(r, m);
  }

  // A live (or buffered) message: new if its seq is ahead; a seq at or behind
  // the last one that we have not shown means the server restarted.
  function acceptLive(r, m) {
    const key = msgKey(m);
    if (r.seen.has(key)) return;
    if (typeof m.seq === 'number' && m.seq <= r.lastSeq) restarted(r);
    showMessage(r, m, true);
  }

  function onHistory(m, meta) {
    const r = state.rooms.get(m.room);
    if (!r) return;
    const list = Array.isArray(m.messages) ? m.messages.filter((x) => x && typeof x.seq === 'number') : [];
    const truncated = m.truncated === true;
    if (meta && meta.older) { onOlder(r, list, truncated); return; }
    const newest = list.length ? list[list.length - 1].seq : 0;
    if (meta && meta.check) {
      // The server restarted if the message it now numbers like our last one
      // is another, or if its numbering has not reached ours.
      const same = list.find((x) => x.seq === r.lastSeq);
      if (same ? msgKey(same) !== r.lastKey : newest < r.lastSeq) {
        restarted(r);
        askHistory(r, {});
        return;
      }
      if (!same && list.length && list[0].seq > r.lastSeq + 1) {
        note(`Some messages of #${r.name} are missing: more were sent than the server keeps.`, 'info', r.name);
      }
    }
    const fresh = list.filter((x) => x.seq > r.lastSeq && !r.seen.has(msgKey(x)));
    if (r.firstSync) {
      if (fresh.length) divider(r, 'earlier messages');
      for (const x of fresh) showMessage(r, { ...x, room: r.name }, false);
    } else if (fresh.length) {
      r.missedCount += fresh.length;
      if (!r.missed) r.missed = divider(r, '');
      r.missed.textContent = `${r.missedCount} missed while you were away`;
      for (const x of fresh) showMessage(r, { ...x, room: r.name }, true);
    }
    const since = meta ? meta.since : undefined;
    if (since !== undefined && (truncated || list.length >= HISTORY_LIMIT) && newest > since) {
      askHistory(r, { since_seq: newest }); // more after these; live ones stay buffered
      return;
    }
    if (since === undefined && truncated) showOlderControl(r);
    if (r.firstSync) note(`You joined #${r.name}.`, 'info', r.name);
    endSync(r);
  }

  function endSync(r) {
    r.firstSync = false;
    r.syncing = false;
    r.missed = null;
    const buffered = r.buffered;
    r.buffered = [];
    for (const b of buffered) acceptLive(r, b);
  }

  function divider(r, text) {
    const d = document.createElement('div');
    d.className = 'divider';
    d.textContent = text;
    append(r, d, false);
    return d;
  }

  // The control at the top of a room that pages back (history before_seq).
  function showOlderControl(r) {
    if (r.older) return;
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn btn-small btn-ghost older';
    b.dataset.testid = 'older';
    b.textContent = 'Load older messages';
    b.addEventListener('click', () => {
      if (!requireOpen() || b.disabled) return;
      b.disabled = true;
      askHistory(r, r.oldestSeq > 0 ? { before_seq: r.oldestSeq } : {}, { older: true });
    });
    r.pane.prepend(b);
    r.older = b;
  }

  function dropOlderControl(r) {
    if (r.older) r.older.remove();
    r.older = null;
  }

  // An older page: its messages go above the oldest shown, the view stays put.
  function onOlder(r, list, truncated) {
    const fresh = list.filter((x) => (r.oldestSeq === 0 || x.seq < r.oldestSeq) && !r.seen.has(msgKey(x)));
    const log = els.log;
    const before = log.scrollHeight;
    const anchor = r.older ? r.older.nextSibling : r.pane.firstChild;
    for (const x of fresh) r.pane.insertBefore(messageRow(r, { ...x, room: r.name }), anchor);
    if (r.name === state.current) log.scrollTop += log.scrollHeight - before;
    if (fresh.length && (truncated || list.length >= HISTORY_LIMIT)) {
      if (r.older) r.older.disabled = false;
    } else {
      dropOlderControl(r);
      note(`That is all the server keeps of #${r.name}.`, 'info', r.name);
    }
  }

  function restarted(r) {
    r.lastSeq = 0;
    r.oldestSeq = 0;
    dropOlderControl(r);
    note('The server restarted; message numbering starts over.', 'info restart', r.name);
  }

  function onReminder(m, meta) {
    const row = document.createElement('div');
    row.className = 'reminder';
    row.setAttribute('role', 'note');
    row.appendChild(timeEl(Date.now()));
    const icon = svgIcon('clock');
    const t = document.createElement('span');
    const label = document.createElement('strong');
    label.textContent = 'Reminder: ';
    t.append(label, String(m.text ?? ''));
    row.append(icon, t);
    if (m.late_ms > 100) {
      const late = document.createElement('span');
      late.className = 'meta';
      late.textContent = ` (${m.late_ms} ms late)`;
      row.appendChild(late);
    }
    const r = paneFor(meta && meta.room);
    append(r, row, true);
  }

  function onFetched(m, meta) {
    const r = paneFor(meta && meta.room);
    const card = document.createElement('div');
    card.className = 'preview';
    const title = document.createElement('div');
    title.className = 'preview-title';
    title.textContent = m.title ? String(m.title) : '(no title)';
    const link = safeLink(String(m.url ?? ''));
    link.className = 'preview-url';
    const info = document.createElement('div');
    info.className = 'preview-meta';
    const ok = m.status >= 200 && m.status < 400;
    const status = document.createElement('span');
    status.className = ok ? 'status ok' : 'status bad';
    status.textContent = `HTTP ${m.status}`;
    info.append(status, ` · ${fmtBytes(m.bytes)} · ${m.ms} ms`);
    card.append(title, link, info);
    append(r, card, true);
  }

  function onStats(m, meta) {
    const lag = m.loop_lag_ms || {};
    note(`Server: ${m.connections} connections, ${m.rooms} rooms, ${m.messages_in} messages in / ${m.messages_out} out, ` +
      `loop lag p50 ${lag.p50} ms, p99 ${lag.p99} ms, max ${lag.max} ms, up ${m.uptime_s} s, ` +
      `${fmtBytes(m.rss_bytes)} RSS.`, 'info', meta && meta.room);
  }

  const ERROR_TEXT = {
    name_taken: 'That nickname is taken.',
    bad_name: 'Nicknames are 1 to 32 characters.',
    bad_room: 'Room names are 1 to 64 letters, digits, - _ or .',
    not_in_room: 'You are not in that room.',
    too_long: 'That is too long.',
    rate_limited: 'Slow down — you are sending too fast.',
    fetch_denied: 'The server may not fetch that address.',
    fetch_failed: 'The fetch failed.',
    fetch_timeout: 'The fetch timed out.',
    too_many_timers: 'Too many pending reminders.',
    server_busy: 'The server is busy; try again shortly.',
  };

  function onError(m, meta) {
    const code = String(m.code || 'error');
    const detail = m.message ? String(m.message) : '';
    // The server's own words say most (left as written: they may start with a
    // name); the code's gloss is the fallback.
    const friendly = code === 'name_taken' && meta && meta.name ? `“${meta.name}” is already taken.`
      : detail ? detail + (/[.!?]$/.test(detail) ? '' : '.') : (ERROR_TEXT[code] || 'Request failed.');
    if (meta && meta.kind === 'nick') {
      showNickError(code === 'name_taken' ? `“${meta.name}” is taken — pick another.` : friendly);
      if (meta.quiet) {
        note(`Could not take back your nickname “${meta.name}” (${code}); you are ${state.me}.`, 'error');
        return;
      }
    }
    if (meta && meta.kind === 'join') {
      els.joinError.textContent = `${friendly}`;
      const r = state.rooms.get(meta.room);
      if (r && !r.joined) {
        r.pane.remove();
        state.rooms.delete(meta.room);
        if (state.current === meta.room) {
          const next = state.rooms.keys().next();
          switchTo(next.done ? NO_ROOM : next.value);
        }
        renderRooms();
      }
    }
    if (meta && meta.kind === 'history') {
      const r = state.rooms.get(meta.room);
      if (!r) return; // the join error says it already
      if (meta.older && r.older) r.older.disabled = false;
      if (!meta.older && r.syncing) endSync(r); // what came is shown; live ones flow again
    }
    if (meta && meta.kind === 'say' && meta.text && !els.input.value) els.input.value = meta.text;
    const row = document.createElement('div');
    row.className = 'error';
    row.dataset.code = code;
    const icon = svgIcon('alert');
    const strong = document.createElement('strong');
    strong.textContent = friendly;
    row.title = `${ERROR_TEXT[code] || 'Request failed.'} (${code})`;
    const c = document.createElement('span');
    c.className = 'error-detail';
    c.textContent = code;
    row.append(timeEl(Date.now()), icon, strong, c);
    append(paneFor(meta && meta.room), row, true);
  }

  function showNickError(text) {
    els.nickError.textContent = text;
    if (text) els.nick.setAttribute('aria-invalid', 'true');
    else els.nick.removeAttribute('aria-invalid');
  }

  // -------------------------------------------------------- rendering ---
  function timeEl(ts) {
    const d = new Date(typeof ts === 'number' ? ts : Date.now());
    const t = document.createElement('time');
    t.className = 'ts';
    t.dateTime = d.toISOString();
    t.title = d.toLocaleString();
    t.textContent = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    return t;
  }

  // Small inline icons (no icon fonts, no emoji: not every system has them).
  const ICONS = {
    clock: ['M12 7v5l3 2', 'M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z'],
    alert: ['M12 4l9 16H3z', 'M12 10v4', 'M12 17v.5'],
  };
  function svgIcon(kind) {
    const NS = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('class', `icon icon-${kind}`);
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    for (const d of ICONS[kind]) {
      const p = document.createElementNS(NS, 'path');
      p.setAttribute('d', d);
      svg.appendChild(p);
    }
    return svg;
  }

  function nameColor(name) {
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return h % 8;
  }

  function showMessage(r, m, countUnread) {
    const row = messageRow(r, m);
    append(r, row, countUnread && row.dataset.own !== '1');
  }

  // The row of a message, counted as shown.
  function messageRow(r, m) {
    r.seen.add(msgKey(m));
    if (typeof m.seq === 'number' && m.seq > r.lastSeq) { r.lastSeq = m.seq; r.lastKey = msgKey(m); }
    if (typeof m.seq === 'number' && (r.oldestSeq === 0 || m.seq < r.oldestSeq)) r.oldestSeq = m.seq;
    const from = String(m.from ?? '');
    const text = String(m.text ?? '');
    const own = (m.id !== undefined && state.sentIds.has(String(m.id))) || from === state.me;
    const row = document.createElement('div');
    row.className = 'msg' + (own ? ' own' : '');
    row.dataset.room = r.name;
    row.dataset.seq = String(m.seq);
    row.dataset.from = from;
    if (own) row.dataset.own = '1';
    const head = document.createElement('div');
    head.className = 'msg-head';
    const who = document.createElement('span');
    who.className = `from c${nameColor(from)}`;
    who.textContent = from;
    head.append(who, timeEl(m.ts));
    const body = document.createElement('div');
    body.className = 'text';
    appendLinkified(body, text);
    row.append(head, body);
    return row;
  }

  const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;

  function appendLinkified(parent, text) {
    let last = 0;
    for (const match of text.matchAll(URL_RE)) {
      let url = match[0];
      // Trailing punctuation is usually the sentence's, not the URL's.
      const trail = /[.,;:!?)\]}]+$/.exec(url);
      if (trail) url = url.slice(0, url.length - trail[0].length);
      const start = match.index;
      if (start > last) parent.append(text.slice(last, start));
      parent.append(safeLink(url));
      last = start + url.length;
    }
    if (last < text.length) parent.append(text.slice(last));
  }

  function safeLink(url) {
    let ok = false;
    try { const u = new URL(url); ok = u.protocol === 'http:' || u.protocol === 'https:'; } catch { ok = false; }
    if (!ok) { const s = document.createElement('span'); s.textContent = url; return s; }
    const a = document.createElement('a');
    a.href = url;
    a.textContent = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    return a;
  }

  function note(text, kind, room) {
    const row = document.createElement('div');
    row.className = `note ${kind || 'info'}`;
    row.appendChild(timeEl(Date.now()));
    const s = document.createElement('span');
    s.textContent = text;
    row.appendChild(s);
    append(paneFor(room), row, false);
    return row;
  }

  function append(r, node, countUnread) {
    const log = els.log;
    const visible = r.name === state.current || (r === lobbyless && !state.rooms.has(state.current));
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    r.pane.appendChild(node);
    while (r.pane.childElementCount > MAX_ROWS_PER_ROOM) {
      const first = r.pane.firstElementChild;
      (first === r.older ? first.nextElementSibling : first).remove();
    }
    if (visible) {
      if (nearBottom || node.classList.contains('own')) log.scrollTop = log.scrollHeight;
    } else if (countUnread && r !== lobbyless) {
      r.unread++;
      renderRooms();
    }
  }

  function fmtBytes(n) {
    if (!Number.isFinite(n)) return '? bytes';
    if (n < 1024) return `${n} bytes`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
    return `${(n / 1024 / 1024).toFixed(1)} MB`;
  }

  function switchTo(name) {
    state.current = name;
    for (const r of state.rooms.values()) r.pane.hidden = r.name !== name;
    lobbyless.pane.hidden = state.rooms.has(name);
    const r = state.rooms.get(name);
    if (r) r.unread = 0;
    renderRooms();
    renderRoomHead();
    renderMembers();
    els.log.scrollTop = els.log.scrollHeight;
  }

  function renderMembers() {
    const ul = els.members;
    ul.replaceChildren();
    const r = state.rooms.get(state.current);
    if (!r) return;
    for (const name of [...r.names].sort()) {
      const li = document.createElement('li');
      li.textContent = name;
      if (name === state.me) li.className = 'me';
      ul.appendChild(li);
    }
    if (!r.namesComplete) {
      const li = document.createElement('li');
      li.className = 'more';
      li.textContent = 'and more…';
      ul.appendChild(li);
    }
  }

  function renderRooms() {
    const ul = els.rooms;
    const focusedRoom = document.activeElement && document.activeElement.closest
      && document.activeElement.closest('#rooms') ? document.activeElement.dataset.roomButton : null;
    ul.replaceChildren();
    let total = 0;
    for (const r of state.rooms.values()) {
      total += r.unread;
      const li = document.createElement('li');
      li.className = 'room-item';
      li.dataset.room = r.name;
      li.dataset.joined = r.joined ? 'true' : 'false';
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'room-btn';
      b.dataset.roomButton = r.name;
      if (r.name === state.current) b.setAttribute('aria-current', 'true');
      const hash = document.createElement('span');
      hash.className = 'hash';
      hash.setAttribute('aria-hidden', 'true');
      hash.textContent = '#';
      const label = document.createElement('span');
      label.className = 'room-name';
      label.textContent = r.name;
      b.append(hash, label);
      if (!r.joined) {
        const s = document.createElement('span');
        s.className = 'room-sync';
        s.textContent = '…';
        s.setAttribute('aria-label', 'rejoining');
        b.appendChild(s);
      }
      if (r.unread > 0) {
        const badge = document.createElement('span');
        badge.className = 'badge';
        badge.textContent = r.unread > 99 ? '99+' : String(r.unread);
        badge.setAttribute('aria-label', `${r.unread} unread`);
        b.appendChild(badge);
      }
      b.addEventListener('click', () => { switchTo(r.name); els.input.focus(); });
      li.appendChild(b);
      ul.appendChild(li);
      if (focusedRoom === r.name) b.focus();
    }
    document.title = total > 0 ? `(${total}) loopchat` : 'loopchat';
  }

  function renderRoomHead() {
    const r = state.rooms.get(state.current);
    els.roomTitle.textContent = r ? `#${r.name}` : 'no room';
    els.roomMembers.textContent = r && r.members !== null
      ? `${r.members} ${r.members === 1 ? 'member' : 'members'}` : '';
    els.leave.disabled = !r;
    els.leave.setAttribute('aria-label', r ? `Leave ${r.name}` : 'Leave room');
  }

  // ---------------------------------------------------------- actions ---
  function leaveRoom(name) {
    const r = state.rooms.get(name);
    if (!r) { localError('You are not in a room.'); return; }
    if (send({ type: 'leave', room: name }, { kind: 'leave', room: name }) === null) {
      // Offline: just forget it locally; nothing to rejoin later.
      r.pane.remove();
      state.rooms.delete(name);
      const next = state.rooms.keys().next();
      switchTo(next.done ? NO_ROOM : next.value);
    }
  }

  function localError(text) {
    const row = document.createElement('div');
    row.className = 'error';
    const icon = svgIcon('alert');
    const s = document.createElement('span');
    s.textContent = text;
    row.append(timeEl(Date.now()), icon, s);
    append(paneFor(undefined), row, false);
  }

  function requireOpen() {
    if (state.open) return true;
    localError('Not connected — your text is kept in the box; send it again once connected.');
    return false;
  }

  const HELP = [
    ['/join room', 'join a room (or switch to it)'],
    ['/leave [room]', 'leave the current room (or the one named)'],
    ['/nick name', 'change your nickname'],
    ['/remind seconds text', 'the server reminds you after that many seconds'],
    ['/fetch url', 'the server fetches the page and shows the room a preview'],
    ['/stats', 'server statistics'],
    ['/help', 'this list'],
    ['//text', 'send text that starts with a slash'],
  ];

  function showHelp() {
    const row = document.createElement('div');
    row.className = 'note help';
    const h = document.createElement('strong');
    h.textContent = 'Commands';
    const dl = document.createElement('dl');
    for (const [cmd, what] of HELP) {
      const dt = document.createElement('dt');
      const c = document.createElement('code');
      c.textContent = cmd;
      dt.appendChild(c);
      const dd = document.createElement('dd');
      dd.textContent = what;
      dl.append(dt, dd);
    }
    row.append(h, dl);
    append(paneFor(undefined), row, false);
    els.log.scrollTop = els.log.scrollHeight;
  }

  // Returns true if the input may be cleared.
  function runLine(line) {
    if (line.startsWith('//')) return say(line.slice(1));
    if (!line.startsWith('/')) return say(line);
    const m = /^\/(\S+)\s*([\s\S]*)$/.exec(line);
    const cmd = m[1].toLowerCase();
    const arg = m[2].trim();
    switch (cmd) {
      case 'help': case '?':
        showHelp();
        return true;
      case 'join': case 'j': {
        const room = arg.replace(/^#/, '');
        if (!ROOM_RE.test(room)) { localError('Usage: /join room — 1 to 64 letters, digits, - _ .'); return false; }
        if (!requireOpen()) return false;
        joinRoom(room);
        return true;
      }
      case 'leave': case 'part': {
        const room = arg ? arg.replace(/^#/, '') : state.current;
        if (!requireOpen()) return false;
        leaveRoom(room);
        return true;
      }
      case 'nick': case 'name': {
        if (!arg) { localError('Usage: /nick name'); return false; }
        if (!requireOpen()) return false;
        els.nick.value = arg;
        requestNick(arg, false);
        return true;
      }
      case 'remind': {
        const rm = /^(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?)?\s+([\s\S]+)$/i.exec(arg);
        if (!rm) { localError('Usage: /remind seconds text — e.g. /remind 60 stretch'); return false; }
        if (!requireOpen()) return false;
        const afterMs = Math.round(Number(rm[1]) * 1000);
        send({ type: 'remind', after_ms: afterMs, text: rm[3] }, { kind: 'remind', room: state.current });
        note(`Reminder set for ${rm[1]} s: ${rm[3]}`, 'info');
        return true;
      }
      case 'fetch': {
        let url = arg;
        if (url && !/^[a-z][a-z0-9+.-]*:/i.test(url)) url = 'http://' + url;
        if (!url || /\s/.test(url)) { localError('Usage: /fetch url — e.g. /fetch https://example.org/'); return false; }
        if (!requireOpen()) return false;
        const msg = { type: 'fetch', url };
        if (state.rooms.get(state.current)?.joined) msg.room = state.current;
        send(msg, { kind: 'fetch', room: state.current, url });
        note(`Fetching ${url}…`, 'info');
        return true;
      }
      case 'stats':
        if (!requireOpen()) return false;
        send({ type: 'stats' }, { kind: 'stats', room: state.current });
        return true;
      default:
        localError(`Unknown command /${cmd} — try /help.`);
        return false;
    }
  }

  function say(text) {
    if (!text.trim()) return true;
    const r = state.rooms.get(state.current);
    if (!r) { localError('Join a room first: /join lobby'); return false; }
    if (!requireOpen()) return false;
    const id = send({ type: 'say', room: r.name, text }, { kind: 'say', room: r.name, text });
    if (id) state.sentIds.add(id);
    return true;
  }

  els.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    const line = els.input.value;
    if (!line.trim()) return;
    if (runLine(line)) {
      state.recall.push(line);
      if (state.recall.length > 50) state.recall.shift();
      state.recallPos = -1;
      els.input.value = '';
    }
    els.input.focus();
  });

  els.input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowUp' && (!els.input.value || state.recallPos >= 0) && state.recall.length) {
      e.preventDefault();
      state.recallPos = state.recallPos < 0 ? state.recall.length - 1 : Math.max(0, state.recallPos - 1);
      els.input.value = state.recall[state.recallPos];
    } else if (e.key === 'ArrowDown' && state.recallPos >= 0) {
      e.preventDefault();
      state.recallPos++;
      if (state.recallPos >= state.recall.length) { state.recallPos = -1; els.input.value = ''; }
      else els.input.value = state.recall[state.recallPos];
    } else if (e.key === 'Escape') {
      els.input.value = '';
      state.recallPos = -1;
    }
  });

  els.nickForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = els.nick.value.trim();
    if (!name || name.length > 32) { showNickError('Nicknames are 1 to 32 characters.'); return; }
    if (name === state.me) { showNickError(''); return; }
    if (!state.open) { showNickError('Not connected — try again when connected.'); return; }
    requestNick(name, false);
  });
  // With a token the name is the token's: nothing to change here.
  if (params.get('token')) {
    els.nick.readOnly = true;
    els.nick.title = 'Your name comes from your sign-in token.';
    for (const b of els.nickForm.querySelectorAll('button')) b.disabled = true;
  }
  els.nick.addEventListener('input', () => showNickError(''));
  els.nick.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { els.nick.value = state.me; showNickError(''); }
  });

  els.joinForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const room = els.joinRoom.value.trim().replace(/^#/, '');
    if (!ROOM_RE.test(room)) { els.joinError.textContent = 'Use 1 to 64 letters, digits, - _ or .'; return; }
    if (!state.open) { els.joinError.textContent = 'Not connected yet.'; return; }
    els.joinError.textContent = '';
    els.joinRoom.value = '';
    joinRoom(room);
    els.input.focus();
  });
  els.joinRoom.addEventListener('input', () => { els.joinError.textContent = ''; });

  els.leave.addEventListener('click', () => { if (state.current) leaveRoom(state.current); });

  // -------------------------------------------------------------- go ---
  switchTo(NO_ROOM);
  connect();
  els.input.focus();
})();
