//! Each service's OpenAPI 3 document, generated from the code that serves the routes.
//!
//! A service declares its routes with `utoipa_axum::routes!` over handlers annotated with
//! `#[utoipa::path]`, in an [`OpenApiRouter`]; [`documented`] splits that into the axum router
//! and the document, so a route cannot be served without being described (and the reverse).
//! The document is served at [`DOCUMENT_PATH`]; the gateway merges the seven into one.
//!
//! What every operation shares is added here: the error envelope for every 4xx/5xx
//! ([`ErrorResponses`]), the bearer-token scheme, and `GET /health`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};
use utoipa::{IntoResponses, ToSchema};
use utoipa_axum::router::OpenApiRouter;

/// Where a service (and the gateway, for the merged document) serves its OpenAPI document.
pub const DOCUMENT_PATH: &str = "/openapi.json";

/// The name of the security scheme of operations that need a signed-in user.
pub const BEARER: &str = "bearer";

/// `{"error":{"code","message"}}`: the body of every 4xx and 5xx of every Stampede service.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only: `crate::error::ApiError` builds the real body
pub struct ErrorEnvelope {
    error: ErrorBody,
}

/// The code (SCREAMING_SNAKE, stable) and a message for a person.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    #[schema(example = "VALIDATION_ERROR")]
    code: String,
    message: String,
}

/// The error statuses any operation may answer, each with the [`ErrorEnvelope`]: a bad body or
/// query (400), no or a bad token (401), another user's resource (403), an unknown id or route
/// (404), a state conflict (409), a body over the limit (413), an unreadable body (415, 422),
/// a rate limit (429), a failure (500), shedding, a down dependency or an unreachable service
/// (503), a timeout (504).
pub struct ErrorResponses;

const ERROR_STATUSES: [(u16, &str); 13] = [
    (400, "the request is invalid (body, query or path)"),
    (401, "no token, or a token that is invalid or expired"),
    (403, "the caller may not do this"),
    (404, "no such resource or route"),
    (405, "the route does not take this method"),
    (409, "the resource's state does not allow this"),
    (413, "the body is over the size limit"),
    (415, "the body is not JSON"),
    (422, "the body is JSON of the wrong shape"),
    (429, "too many requests; see Retry-After"),
    (500, "an internal error (the cause is in the service's log)"),
    (
        503,
        "the service sheds load, a dependency is down, or the gateway cannot reach the service \
         (SERVICE_UNAVAILABLE)",
    ),
    (504, "the request took too long"),
];

impl IntoResponses for ErrorResponses {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        ERROR_STATUSES
            .iter()
            .map(|(status, description)| {
                let response = ResponseBuilder::new()
                    .description(*description)
                    .content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name("ErrorEnvelope"))),
                    )
                    .build();
                (status.to_string(), RefOr::T(response))
            })
            .collect()
    }
}

/// `GET /health`: the service and its dependencies, `{status, service, timestamp, checks}`.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    responses(
        (status = 200, description = "`status` \"up\": every dependency answers", body = Object),
        (status = 503, description = "`status` \"down\": a dependency is down; `checks` says which", body = Object),
    )
)]
#[allow(dead_code)] // documents crate::health::health_handler, which kit::server routes
fn health() {}

#[derive(utoipa::OpenApi)]
#[openapi(paths(health), components(schemas(ErrorEnvelope, ErrorBody)))]
struct Shared;

fn finish(service: &str, mut api: OpenApi) -> OpenApi {
    api.info.title = format!("Stampede {service}");
    api.info.version = env!("CARGO_PKG_VERSION").to_string();
    api.info.description = Some(format!(
        "{service} of the Stampede reference stack (TicketFlow's services). Every 4xx and 5xx \
         is the error envelope."
    ));
    api.merge(<Shared as utoipa::OpenApi>::openapi());
    // TicketFlow's second health path answers the same as /health (kit::server routes both).
    if let Some(alias) = crate::health::ticketflow_alias(service) {
        if let Some(mut item) = api.paths.paths.get("/health").cloned() {
            if let Some(operation) = item.get.as_mut() {
                // Operation ids are unique in a document.
                operation.operation_id = Some(format!("{}_health", service.replace('-', "_")));
            }
            api.paths.paths.insert(alias.to_string(), item);
        }
    }
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    api
}

/// Splits `routes` into the router (with `state`) and its document, served at
/// [`DOCUMENT_PATH`].
pub fn documented<S>(service: &str, routes: OpenApiRouter<S>, state: S) -> Router
where
    S: Send + Sync + Clone + 'static,
{
    let (router, api) = routes.split_for_parts();
    // Serialised once: every request answers the same bytes.
    let body = Bytes::from(
        serde_json::to_vec(&finish(service, api)).unwrap_or_else(|error| {
            tracing::error!(%error, "the OpenAPI document does not serialise");
            b"null".to_vec()
        }),
    );
    router.with_state(state).route(
        DOCUMENT_PATH,
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    )
}
