//! HTTP API glue shared by the API Gateway handlers: the organization from the verified JWT
//! claim, request bodies, one error type mapped to one JSON response, and the JSON views.

mod error;
mod event;
mod request;
mod response;
mod views;

pub use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
pub use aws_lambda_events::encodings::Body as LambdaBody;
pub use error::ApiError;
pub use event::{GatewayRequest, gateway_event};
pub use request::{
    agent_id, agent_ref, body_bytes, header, json_body, organization_id, path_parameter, query,
    query_limit, query_value, route_key, sent_by,
};
pub use response::{json_response, twiml_response};
pub use views::{
    ContactView, ConversationContact, ConversationSummaryView, ConversationView,
    DOWNLOAD_URL_EXPIRY, MessageView, contact_state, message_views,
};

/// The claim carrying the organization id unless `ORG_CLAIM` says otherwise.
pub const DEFAULT_ORG_CLAIM: &str = "custom:organization_id";
