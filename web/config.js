// Deployment configuration of the Send Message page. No credentials or secrets here.
//   apiBaseUrl: where the HTTP API is ("" = same origin, as with the local runner).
//   token:      how the page gets the user's bearer token —
//               "local-demo"  the local runner's demo users (GET /local/demo), or
//               "session"     sessionStorage item `tokenKey`, put there by the CRM's sign-in.
window.WHATSAPP_CONFIG = window.WHATSAPP_CONFIG || {
  apiBaseUrl: "",
  token: "local-demo",
  tokenKey: "crm.id_token",
  pollMs: 3000,
  hiddenPollMs: 15000,
};
