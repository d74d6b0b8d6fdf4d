// The HTTP API client: the bearer token on every call, errors as ApiError with the
// server's code and sentence. It knows nothing of the page's state: the session action sets
// the token.

const config = window.WHATSAPP_CONFIG || {};

let bearer = null;

export const apiUrl = (path) => `${config.apiBaseUrl || ""}${path}`;

/** The token every call carries from now on (null: none). */
export function authorize(token) {
  bearer = token;
}

export class ApiError extends Error {
  constructor(status, code, message, details = null) {
    super(message);
    this.status = status;
    this.code = code;
    // The server's whole `error` object (a 409 conversation_changed carries `messages`).
    this.details = details;
  }
}

/**
 * The claims a JWT carries (its payload, read, not verified: the API verifies), or {} for a
 * token that is no JWT (the local runner's demo tokens).
 */
export function tokenClaims(token) {
  const payload = typeof token === "string" ? token.split(".")[1] : null;
  if (!payload || token.split(".").length !== 3) return {};
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
    return claims && typeof claims === "object" ? claims : {};
  } catch {
    return {};
  }
}

// Asked for a fresh token when a call is refused (401): `renewal(refusedToken)` resolves to
// a token to try once more, or null (the session action sets it).
let renewal = null;

export function onUnauthorized(renew) {
  renewal = renew;
}

/** The token calls carry now (a draft saved later still goes with the token it was typed under). */
export const currentToken = () => bearer;

/**
 * `options.token`: another token than the current one; `options.keepalive`: the request
 * outlives the page (a draft saved on `pagehide`). A 401 is tried once more with a fresh
 * token (`onUnauthorized`).
 */
export async function call(method, path, body, extraHeaders = {}, options = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  const token = options.token === undefined ? bearer : options.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(apiUrl(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      keepalive: !!options.keepalive,
    });
  } catch {
    throw new ApiError(0, "network", "The service cannot be reached. Please try again.");
  }
  const data = await response.json().catch(() => null);
  if (response.status === 401) {
    // API Gateway's JWT authorizer refused the token (expired or not the CRM's): once more
    // with a fresh one, if the CRM has one for the same agent.
    const fresh = !options.retried && renewal ? await renewal(token) : null;
    if (fresh && fresh !== token) return call(method, path, body, extraHeaders, { ...options, token: fresh, retried: true });
    throw new ApiError(401, "unauthorized", "Your sign-in has expired. Sign in to the CRM again.");
  }
  if (!response.ok) {
    const error = data && data.error;
    throw new ApiError(response.status, error ? error.code : "http", error ? error.message : `Request failed (${response.status}).`, error);
  }
  return data;
}
