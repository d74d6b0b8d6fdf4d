// Deployment configuration of the Send Message page. No credentials or secrets here.
//   apiBaseUrl: where the HTTP API is ("" = same origin, as with the local runner).
//   token:      how the page gets the user's bearer token —
//               "local-demo"  the local runner's demo users (GET /local/demo), or
//               "session"     sessionStorage item `tokenKey`, put there by the CRM's sign-in.
//   getToken:   optional, set by the CRM: `async () => token | null`, its current token. The
//               page asks it for a fresh one before the token's `exp` and once on a 401, and
//               asks the agent to sign in only when it has no valid token.
window.WHATSAPP_CONFIG = window.WHATSAPP_CONFIG || {
  apiBaseUrl: "",
  token: "local-demo",
  tokenKey: "crm.id_token",
  pollMs: 3000,
  hiddenPollMs: 15000,
};
