//! The HTTP routes and the function serving each: one table that the local runner serves,
//! and that tests hold the OpenAPI description (and the SAM template) to.

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
        function: "list-contacts",
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
        function: "list-contacts",
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
        method: "POST",
        path: "/whatsapp/messages",
        function: "send-message",
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
