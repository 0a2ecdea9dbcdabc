// Host shims for the engine under the Hermes CLI, which has no event loop, timers,
// `performance`, WebSocket or fetch (a phone's React Native provides them). Written in
// ES5: this file runs as is, before the bundle. Time is virtual: `host.advance()` runs
// the timers that fell due. The "server" is scripted here: Engine.IO open, the Socket.IO
// CONNECT, `conversation:join` and `message:send` acks with the seq it stores, the
// history route; `host.dropNextSends` makes it lose that many `message:send` frames.
var host = (function () {
  var now = 0;
  var timers = [];
  var nextTimer = 1;
  var server = { messages: [], dropNextSends: 0, sockets: [], sendsSeen: 0 };

  globalThis.performance = { now: function () { return now; }, timeOrigin: 1767225600000 };
  globalThis.setTimeout = function (fn, ms) {
    var id = nextTimer++;
    timers.push({ id: id, at: now + (ms || 0), fn: fn });
    return id;
  };
  globalThis.clearTimeout = function (id) {
    timers = timers.filter(function (t) { return t.id !== id; });
  };
  globalThis.queueMicrotask = function (fn) { Promise.resolve().then(fn); };
  if (typeof globalThis.console === "undefined") {
    var out = function (prefix) {
      return function () {
        var parts = [];
        for (var i = 0; i < arguments.length; i++) parts.push(String(arguments[i]));
        print(prefix + parts.join(" "));
      };
    };
    globalThis.console = { log: out(""), info: out(""), warn: out("warn: "), error: out("error: "), debug: function () {} };
  }

  function message(seq, conversationId, text, clientMessageId, senderId) {
    return { id: 1000 + seq, conversationId: conversationId, seq: seq, senderId: senderId, text: text,
      clientMessageId: clientMessageId, createdAt: "2026-01-01T00:00:00.000Z" };
  }

  function FakeSocket(url) {
    this.url = url;
    this.readyState = 0;
    this.closed = false;
    server.sockets.push(this);
    var self = this;
    Promise.resolve().then(function () {
      if (self.closed) return;
      self.readyState = 1;
      if (self.onopen) self.onopen({});
      self.deliver('0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}');
    });
  }
  FakeSocket.prototype.deliver = function (data) {
    var self = this;
    if (!self.closed && self.onmessage) self.onmessage({ data: data });
  };
  FakeSocket.prototype.later = function (data) {
    var self = this;
    Promise.resolve().then(function () { self.deliver(data); });
  };
  FakeSocket.prototype.send = function (text) {
    if (text.indexOf("40") === 0) return this.later('40{"sid":"b"}');
    var m = /^42(\d+)(\[.*\])$/.exec(text);
    if (!m) return;
    var ack = m[1], args = JSON.parse(m[2]);
    if (args[0] === "conversation:join") {
      var last = server.messages.length;
      return this.later("43" + ack + JSON.stringify([{ success: true, onlineUserIds: [], lastSeq: last }]));
    }
    if (args[0] === "message:send") {
      server.sendsSeen++;
      if (server.dropNextSends > 0) { server.dropNextSends--; return; }
      var id = args[2].clientMessageId, existing = null;
      for (var i = 0; i < server.messages.length; i++) if (server.messages[i].clientMessageId === id) existing = server.messages[i];
      var stored = existing || message(server.messages.length + 1, args[1], args[2].text, id, 1);
      if (!existing) server.messages.push(stored);
      this.later("43" + ack + JSON.stringify([{ success: true, messageId: stored.id, seq: stored.seq, createdAt: stored.createdAt }]));
      if (!existing) this.later('42["message:new",' + JSON.stringify(stored) + "]");
    }
  };
  FakeSocket.prototype.close = function () {
    if (this.closed) return;
    this.closed = true;
    var self = this;
    Promise.resolve().then(function () { if (self.onclose) self.onclose({ code: 1000 }); });
  };
  globalThis.WebSocket = FakeSocket;

  function Headers() { this.map = {}; }
  Headers.prototype.set = function (k, v) { this.map[k.toLowerCase()] = v; };
  Headers.prototype.get = function (k) { return this.map[k.toLowerCase()] || null; };
  function Request(url, init) {
    this.url = url;
    this.method = (init && init.method) || "GET";
    this.headers = (init && init.headers) || new Headers();
    this.body = init && init.body;
  }
  function Response(body, status) { this.body = body; this.status = status; this.ok = status < 300; }
  Response.prototype.text = function () { return Promise.resolve(this.body); };
  globalThis.Headers = Headers;
  globalThis.Request = Request;
  globalThis.Response = Response;
  globalThis.fetch = function (request) {
    var after = /afterSeq=(\d+)/.exec(request.url);
    var before = /beforeSeq=(\d+)/.exec(request.url);
    var list = server.messages.filter(function (m) {
      return after ? m.seq > Number(after[1]) : before ? m.seq < Number(before[1]) : true;
    });
    // The oldest 100 after `afterSeq`; otherwise the newest 100 (before `beforeSeq`).
    var page = after ? list.slice(0, 100) : list.slice(-100);
    return Promise.resolve(new Response(JSON.stringify({ messages: page, hasMore: list.length > 100 }), 200));
  };

  return {
    server: server,
    now: function () { return now; },
    /** When the earliest timer is due, or null. */
    nextAt: function () {
      return timers.reduce(function (min, t) { return min === null || t.at < min ? t.at : min; }, null);
    },
    /** Moves the clock forward (never back). */
    moveTo: function (at) { if (at > now) now = at; },
    /** Runs the earliest timer (moving the clock to it); false if none. */
    fireNext: function () {
      if (timers.length === 0) return false;
      timers.sort(function (a, b) { return a.at - b.at || a.id - b.id; });
      var t = timers.shift();
      if (t.at > now) now = t.at;
      t.fn();
      return true;
    },
  };
})();
