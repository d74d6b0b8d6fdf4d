//! The HTTP routes and the function serving each: one table that the local runner serves,
//! and that tests hold the OpenAPI description (and the SAM template) to. A request no route
//! takes reaches API Gateway's `$default` route (and the runner's fallback): `unrouted` says
//! what it gets, 405 with the path's methods or 404.

use std::collections::HashMap;

use crate::api::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// The API Gateway JWT authorizer.
    Jwt,
    /// No JWT: the handler checks X-Twilio-Signature.
    TwilioSignature,
    /// No JWT: the URL itself is signed (`shared::media_link`).
    SignedLink,
}

impl Auth {
    /// Whether API Gateway's JWT authorizer guards the route.
    pub fn jwt(self) -> bool {
        self == Auth::Jwt
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// API Gateway syntax: `{name}` is a path parameter.
    pub path: &'static str,
    pub function: &'static str,
    pub auth: Auth,
}

pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/whatsapp/channel",
        function: "channel",
        auth: Auth::Jwt,
    },
    Route {
        method: "GET",
        path: "/whatsapp/contacts",
        function: "list-contacts",
        auth: Auth::Jwt,
    },
    Route {
        method: "GET",
        path: "/whatsapp/templates",
        function: "channel",
        auth: Auth::Jwt,
    },
    Route {
        method: "GET",
        path: "/whatsapp/messages",
        function: "list-messages",
        auth: Auth::Jwt,
    },
    Route {
        method: "GET",
        path: "/whatsapp/conversations",
        function: "inbox",
        auth: Auth::Jwt,
    },
    Route {
        method: "POST",
        path: "/whatsapp/conversations/{contact_id}/read",
        function: "inbox",
        auth: Auth::Jwt,
    },
    Route {
        method: "POST",
        path: "/whatsapp/conversations/{contact_id}/typing",
        function: "inbox",
        auth: Auth::Jwt,
    },
    Route {
        method: "GET",
        path: "/whatsapp/conversations/{contact_id}/draft",
        function: "inbox",
        auth: Auth::Jwt,
    },
    Route {
        method: "PUT",
        path: "/whatsapp/conversations/{contact_id}/draft",
        function: "inbox",
        auth: Auth::Jwt,
    },
    Route {
        method: "DELETE",
        path: "/whatsapp/conversations/{contact_id}/draft",
        function: "inbox",
        auth: Auth::Jwt,
    },
    Route {
        method: "POST",
        path: "/whatsapp/conversations/{contact_id}/presence",
        function: "inbox",
        auth: Auth::Jwt,
    },
    Route {
        method: "POST",
        path: "/whatsapp/notes",
        function: "send-message",
        auth: Auth::Jwt,
    },
    Route {
        method: "POST",
        path: "/whatsapp/messages",
        function: "send-message",
        auth: Auth::Jwt,
    },
    Route {
        method: "GET",
        path: "/whatsapp/canned-responses",
        function: "canned-responses",
        auth: Auth::Jwt,
    },
    Route {
        method: "POST",
        path: "/whatsapp/canned-responses",
        function: "canned-responses",
        auth: Auth::Jwt,
    },
    Route {
        method: "PUT",
        path: "/whatsapp/canned-responses/{id}",
        function: "canned-responses",
        auth: Auth::Jwt,
    },
    Route {
        method: "DELETE",
        path: "/whatsapp/canned-responses/{id}",
        function: "canned-responses",
        auth: Auth::Jwt,
    },
    Route {
        method: "POST",
        path: "/whatsapp/attachments",
        function: "presign-upload",
        auth: Auth::Jwt,
    },
    Route {
        method: "GET",
        path: "/media/{organization_id}/{token}/{filename}",
        function: "media-url",
        auth: Auth::SignedLink,
    },
    Route {
        method: "HEAD",
        path: "/media/{organization_id}/{token}/{filename}",
        function: "media-url",
        auth: Auth::SignedLink,
    },
    Route {
        method: "POST",
        path: "/webhook/twilio/whatsapp/{organization_id}",
        function: "twilio-webhook",
        auth: Auth::TwilioSignature,
    },
    Route {
        method: "POST",
        path: "/webhook/twilio/whatsapp/{organization_id}/status",
        function: "twilio-webhook",
        auth: Auth::TwilioSignature,
    },
];

/// The inbound-message webhook path of an organization.
pub fn inbound_webhook_path(organization_id: &str) -> String {
    format!("/webhook/twilio/whatsapp/{organization_id}")
}

/// The status-callback path of an organization.
pub fn status_callback_path(organization_id: &str) -> String {
    format!("/webhook/twilio/whatsapp/{organization_id}/status")
}

/// A request path's parameters under a route's path template (`{name}` segments, decoded as
/// API Gateway decodes them); None when the path is not of that template.
pub fn path_parameters(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let pattern: Vec<&str> = template.split('/').collect();
    if pattern.len() != segments.len() {
        return None;
    }
    let mut params = HashMap::new();
    for (p, s) in pattern.iter().zip(&segments) {
        if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            if s.is_empty() {
                return None;
            }
            params.insert(name.to_owned(), percent_decode(s)?);
        } else if p != s {
            return None;
        }
    }
    Some(params)
}

fn percent_decode(segment: &str) -> Option<String> {
    // A path segment is decoded like a form value, except '+' stays '+'.
    let escaped = segment.replace('+', "%2B");
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={escaped}"))
        .ok()?
        .pop()
        .map(|(_, v)| v)
}

/// The route for a method and path, with its path parameters.
pub fn find(method: &str, path: &str) -> Option<(&'static Route, HashMap<String, String>)> {
    ROUTES
        .iter()
        .filter(|route| route.method == method)
        .find_map(|route| path_parameters(route.path, path).map(|params| (route, params)))
}

/// What a request no route takes is answered: 405 with an `Allow` of the methods the path
/// has, or 404 for a path without routes.
pub fn unrouted(method: &str, path: &str) -> ApiError {
    let mut allow: Vec<&str> = ROUTES
        .iter()
        .filter(|route| path_parameters(route.path, path).is_some())
        .map(|route| route.method)
        .collect();
    allow.sort_unstable();
    allow.dedup();
    if allow.is_empty() {
        ApiError::NotFound("No such route.")
    } else {
        ApiError::MethodNotAllowed {
            method: method.to_owned(),
            allow: allow.join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_routes_and_their_path_parameters() {
        let (r, p) = find("POST", "/webhook/twilio/whatsapp/acme/status").unwrap();
        assert_eq!(r.function, "twilio-webhook");
        assert_eq!(r.path, "/webhook/twilio/whatsapp/{organization_id}/status");
        assert_eq!(p["organization_id"], "acme");
        let (_, p) = find("POST", "/whatsapp/conversations/c%2Bx/read").unwrap();
        assert_eq!(p["contact_id"], "c+x");
        let (r, _) = find("GET", "/whatsapp/messages").unwrap();
        assert_eq!(r.function, "list-messages");
        let (r, _) = find("POST", "/whatsapp/messages").unwrap();
        assert_eq!(r.function, "send-message");
        assert!(find("DELETE", "/whatsapp/messages").is_none());
        assert!(find("GET", "/whatsapp/nothing").is_none());
        assert!(find("POST", "/webhook/twilio/whatsapp//status").is_none());
    }

    #[test]
    fn a_method_a_path_does_not_take_is_405_with_the_ones_it_does() {
        let answer = unrouted("TRACE", "/whatsapp/messages").into_response();
        assert_eq!(answer.status_code, 405);
        assert_eq!(answer.headers["allow"], "GET, POST");
        assert_eq!(
            unrouted("DELETE", "/media/acme/t/f.pdf")
                .into_response()
                .headers["allow"],
            "GET, HEAD"
        );
        assert_eq!(
            unrouted("GET", "/whatsapp/conversations/c1/read").status(),
            405
        );
        // No route has the path: 404, and no Allow.
        let missing = unrouted("GET", "/whatsapp/nothing").into_response();
        assert_eq!(missing.status_code, 404);
        assert!(missing.headers.get("allow").is_none());
        assert_eq!(
            unrouted("TRACE", "/whatsapp/conversations//read").status(),
            404
        );
    }
}
