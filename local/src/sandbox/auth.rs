//! Who a request to the sandbox's REST API is, as Twilio reads HTTP Basic: an account sid
//! with its auth token, or one of the account's API keys (`SK…`) with the key's secret. The
//! account sid stays in the URL either way; the Content API, which has none, takes the
//! account from the credential. Keys are made and revoked through the Keys resource
//! (`keys.rs`), which takes the auth token only: a Standard key cannot manage keys.

use axum::http::{self, HeaderMap};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::ExposeSecret as _;

use super::{Sandbox, lock};

/// An API key the sandbox knows: from the seed's secrets, or made through the Keys resource.
pub(super) struct ApiKeyEntry {
    pub account_sid: String,
    pub secret: String,
    pub friendly_name: String,
    pub date_created: String,
}

/// The user and password of the request's HTTP Basic authorization.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The account the request authenticates as, with either credential; None when it does not.
pub(super) fn account_of(sandbox: &Sandbox, headers: &HeaderMap) -> Option<String> {
    let (user, password) = basic(headers)?;
    if user.starts_with("SK") {
        let keys = lock(&sandbox.state.keys);
        let key = keys.get(&user)?;
        return (key.secret == password).then(|| key.account_sid.clone());
    }
    let account = sandbox.state.accounts.get(&user)?;
    (account.auth_token.expose_secret() == password).then_some(user)
}

/// Whether the request authenticates as `account_sid` (its auth token or one of its keys).
pub(super) fn authenticated(sandbox: &Sandbox, headers: &HeaderMap, account_sid: &str) -> bool {
    account_of(sandbox, headers).as_deref() == Some(account_sid)
}

/// Whether the request authenticates with `account_sid`'s own auth token (not a key).
pub(super) fn with_auth_token(sandbox: &Sandbox, headers: &HeaderMap, account_sid: &str) -> bool {
    basic(headers).is_some_and(|(user, password)| {
        user == account_sid
            && sandbox
                .state
                .accounts
                .get(account_sid)
                .is_some_and(|a| a.auth_token.expose_secret() == password)
    })
}

/// The API key sid a request authenticated with, if it used one (recorded on messages).
pub(super) fn key_of(headers: &HeaderMap) -> Option<String> {
    basic(headers)
        .map(|(user, _)| user)
        .filter(|user| user.starts_with("SK"))
}
