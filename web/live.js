// Live updates: AWS AppSync Events' WebSocket protocol (the local runner serves the same at
// /event/realtime). One connection per signed-in user, subscribed to the organization's
// channel; it reconnects by itself with backoff. It knows nothing of the page: it hands
// each event to `onEvent` and says how it stands through `onStatus`:
//   "connecting", "up" (subscribed: every (re)connect), "down" (lost; retrying),
//   "refused" (the token or the channel was refused: no retry with this token).
// Push is a hint: what it misses, the page's `after=` polls bring.

const PROTOCOL = "aws-appsync-event-ws";

function base64url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function uniqueId() {
  return globalThis.crypto && crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

/**
 * Connects and subscribes; returns `{ close }`.
 * `endpoint`: GET /whatsapp/channel's `live` ({realtime_url, host, channel}).
 */
export function openLive(endpoint, token, { onEvent, onStatus, minDelayMs = 1000, maxDelayMs = 30000 }) {
  // AppSync takes the JWT as the Authorization header of the API's HTTP host. `token` may be
  // a getter: every (re)connect then takes the freshest token, never one that has lapsed.
  const currentAuthorization = () => ({ host: endpoint.host, Authorization: typeof token === "function" ? token() : token });
  let authorization = currentAuthorization();
  let socket = null;
  let closed = false;
  let failures = 0;
  let retryTimer = null;
  let watchdog = null;
  // The server's promise: some frame (at least `ka`) within this time, or the link is dead.
  let timeoutMs = 300000;

  const send = (frame) => socket && socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(frame));

  function alive() {
    clearTimeout(watchdog);
    const current = socket;
    watchdog = setTimeout(() => current && current.close(), timeoutMs);
  }

  function retry() {
    if (closed) return;
    const delay = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(failures, 10));
    failures += 1;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay * (0.5 + Math.random() / 2));
  }

  function refuse() {
    closed = true;
    clearTimeout(watchdog);
    if (socket) socket.close();
    onStatus("refused");
  }

  function receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    alive();
    switch (frame.type) {
      case "connection_ack":
        if (frame.connectionTimeoutMs > 0) timeoutMs = frame.connectionTimeoutMs;
        alive();
        send({ type: "subscribe", id: uniqueId(), channel: endpoint.channel, authorization });
        break;
      case "subscribe_success":
        failures = 0;
        onStatus("up");
        break;
      case "connection_error":
      case "subscribe_error":
        refuse();
        break;
      case "data": {
        // One event (a JSON string); a list of them is read too.
        const events = Array.isArray(frame.event) ? frame.event : [frame.event];
        for (const event of events) {
          try {
            onEvent(typeof event === "string" ? JSON.parse(event) : event);
          } catch {
            // Not an event of ours: ignored.
          }
        }
        break;
      }
      default:
        break; // ka, errors of frames we did not send
    }
  }

  function connect() {
    if (closed) return;
    onStatus("connecting");
    authorization = currentAuthorization();
    try {
      socket = new WebSocket(endpoint.realtime_url, [PROTOCOL, `header-${base64url(JSON.stringify(authorization))}`]);
    } catch {
      onStatus("down");
      return retry();
    }
    const current = socket;
    current.onopen = () => {
      alive();
      send({ type: "connection_init" });
    };
    current.onmessage = (message) => current === socket && receive(message.data);
    current.onclose = () => {
      if (current !== socket) return;
      clearTimeout(watchdog);
      socket = null;
      if (closed) return;
      onStatus("down");
      retry();
    };
  }

  connect();
  return {
    close() {
      closed = true;
      clearTimeout(retryTimer);
      clearTimeout(watchdog);
      if (socket) socket.close();
      socket = null;
    },
  };
}
