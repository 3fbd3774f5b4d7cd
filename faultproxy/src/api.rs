//! The toxiproxy v2 HTTP API, thin over [`ProxyCollection`]: parse, call, serialize.
//!
//! Routes, bodies and status codes are toxiproxy's (`api.go`), so its clients and ours drive
//! either server:
//!
//! ```text
//!   GET    /version                           {"version": "..."}
//!   POST   /reset                             204
//!   GET    /proxies                           {name: proxy}
//!   POST   /proxies                           201 proxy | 400 | 409 | 500 (listen failed)
//!   POST   /populate                          201 {"proxies": [...]}
//!   GET    /proxies/{proxy}                   proxy | 404
//!   POST   /proxies/{proxy}  (and PATCH)      proxy (enabled=false: down)
//!   DELETE /proxies/{proxy}                   204
//!   GET    /proxies/{proxy}/toxics            [toxic]
//!   POST   /proxies/{proxy}/toxics            200 toxic | 400 | 404 | 409
//!   GET    /proxies/{proxy}/toxics/{toxic}    toxic | 404
//!   POST   /proxies/{proxy}/toxics/{toxic}    toxic (and PATCH)
//!   DELETE /proxies/{proxy}/toxics/{toxic}    204
//! ```
//!
//! Errors are `{"error": "<message>", "status": <code>}`. Bodies are parsed whatever the
//! Content-Type (toxiproxy does not look at it). Like toxiproxy, requests from browsers
//! (User-Agent `Mozilla/...`) are refused with 403, so a web page cannot drive the proxy.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio::net::ToSocketAddrs;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::collection::ProxyCollection;
use crate::model::{ApiError, ProxyConfig, ProxyUpdate, ToxicPatch, ToxicRequest};

/// What `GET /version` reports: this implementation and the toxiproxy API it speaks.
pub const VERSION: &str = concat!(
    "stampede-faultproxy/",
    env!("CARGO_PKG_VERSION"),
    " (toxiproxy-api/2)"
);

/// The message of an error answered with a 5xx, for the logging middleware.
#[derive(Clone)]
struct ServerError(String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = json!({ "error": self.to_string(), "status": status.as_u16() });
        let mut response = (status, Json(body)).into_response();
        if status.is_server_error() {
            response
                .extensions_mut()
                .insert(ServerError(self.to_string()));
        }
        response
    }
}

/// The API router over a collection (for in-process use and `oneshot` tests).
pub fn router(collection: ProxyCollection) -> Router {
    Router::new()
        .route("/version", get(version))
        .route("/reset", post(reset))
        .route("/proxies", get(list_proxies).post(create_proxy))
        .route("/populate", post(populate))
        .route(
            "/proxies/{proxy}",
            get(show_proxy)
                .post(update_proxy)
                .patch(update_proxy)
                .delete(delete_proxy),
        )
        .route(
            "/proxies/{proxy}/toxics",
            get(list_toxics).post(create_toxic),
        )
        .route(
            "/proxies/{proxy}/toxics/{toxic}",
            get(show_toxic)
                .post(update_toxic)
                .patch(update_toxic)
                .delete(delete_toxic),
        )
        .layer(middleware::from_fn(stop_browsers))
        .layer(middleware::map_response(log_server_errors))
        .with_state(collection)
}

/// Refuses browsers, as toxiproxy does (no cross-site requests to a fault injector).
async fn stop_browsers(request: Request, next: Next) -> Response {
    let from_browser = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.starts_with("Mozilla/"));
    if from_browser {
        return (StatusCode::FORBIDDEN, "User agent not allowed\n").into_response();
    }
    next.run(request).await
}

async fn log_server_errors(response: Response) -> Response {
    if let Some(ServerError(message)) = response.extensions().get::<ServerError>() {
        tracing::warn!(status = response.status().as_u16(), error = %message, "request failed");
    }
    response
}

/// Parses a JSON body as toxiproxy does: any Content-Type, 400 "bad request body: ..." on error.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequestBody(e.to_string()))
}

async fn version() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        format!("{{\"version\": \"{VERSION}\"}}\n"),
    )
        .into_response()
}

async fn reset(State(proxies): State<ProxyCollection>) -> Result<StatusCode, ApiError> {
    proxies.reset().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_proxies(State(proxies): State<ProxyCollection>) -> Response {
    Json(proxies.list().await).into_response()
}

async fn create_proxy(
    State(proxies): State<ProxyCollection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let config: ProxyConfig = parse(&body)?;
    let proxy = proxies.create(config).await?;
    Ok((StatusCode::CREATED, Json(proxy)).into_response())
}

async fn populate(
    State(proxies): State<ProxyCollection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let configs: Vec<ProxyConfig> = parse(&body)?;
    match proxies.populate(configs).await {
        Ok(created) => {
            Ok((StatusCode::CREATED, Json(Populated { proxies: &created })).into_response())
        }
        Err((error, created)) => {
            // toxiproxy embeds the error next to the proxies it did create.
            let status = error.status();
            let mut response = (
                status,
                Json(json!({ "error": error.to_string(), "status": status.as_u16(), "proxies": created })),
            )
                .into_response();
            if status.is_server_error() {
                response
                    .extensions_mut()
                    .insert(ServerError(error.to_string()));
            }
            Ok(response)
        }
    }
}

/// `POST /populate`'s answer.
#[derive(serde::Serialize)]
struct Populated<'a> {
    proxies: &'a [crate::model::ProxyInfo],
}

async fn show_proxy(
    State(proxies): State<ProxyCollection>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(proxies.get(&name).await?).into_response())
}

async fn update_proxy(
    State(proxies): State<ProxyCollection>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    // toxiproxy looks the proxy up before reading the body.
    proxies.get(&name).await?;
    let update: ProxyUpdate = parse(&body)?;
    Ok(Json(proxies.update(&name, update).await?).into_response())
}

async fn delete_proxy(
    State(proxies): State<ProxyCollection>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    proxies.remove(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_toxics(
    State(proxies): State<ProxyCollection>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(proxies.toxics(&name).await?).into_response())
}

async fn create_toxic(
    State(proxies): State<ProxyCollection>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    proxies.get(&name).await?;
    let request: ToxicRequest = parse(&body)?;
    let toxic = proxies.add_toxic(&name, request.into_toxic()?).await?;
    // toxiproxy answers 200 (not 201) to a new toxic.
    Ok(Json(toxic).into_response())
}

async fn show_toxic(
    State(proxies): State<ProxyCollection>,
    Path((name, toxic)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(proxies.toxic(&name, &toxic).await?).into_response())
}

async fn update_toxic(
    State(proxies): State<ProxyCollection>,
    Path((name, toxic)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    proxies.toxic(&name, &toxic).await?;
    let patch: ToxicPatch = parse(&body)?;
    Ok(Json(proxies.update_toxic(&name, &toxic, patch).await?).into_response())
}

async fn delete_toxic(
    State(proxies): State<ProxyCollection>,
    Path((name, toxic)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    proxies.remove_toxic(&name, &toxic).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The API server, in-process: `ProxyServer::start("127.0.0.1:0")` in tests and the scenario
/// runner, `faultproxy` (or `chaos proxy`) on the command line.
pub struct ProxyServer;

impl ProxyServer {
    /// Serves the API on `listen` over a new, empty collection.
    ///
    /// # Errors
    /// The address cannot be bound (e.g. already in use).
    pub async fn start(listen: impl ToSocketAddrs) -> std::io::Result<ServerHandle> {
        Self::start_with(listen, ProxyCollection::new()).await
    }

    /// Serves the API on `listen` over `collection`.
    ///
    /// # Errors
    /// The address cannot be bound (e.g. already in use).
    pub async fn start_with(
        listen: impl ToSocketAddrs,
        collection: ProxyCollection,
    ) -> std::io::Result<ServerHandle> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let app = router(collection.clone());
        let serve_stop = stop.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(serve_stop.cancelled_owned())
                .await
        });
        tracing::info!(%addr, "toxiproxy API listening");
        Ok(ServerHandle {
            addr,
            collection,
            stop,
            task: Some(task),
        })
    }
}

/// A running API server. Dropping it stops the server and every proxy without waiting;
/// [`ServerHandle::shutdown`] waits for them.
pub struct ServerHandle {
    addr: SocketAddr,
    collection: ProxyCollection,
    stop: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl ServerHandle {
    /// Where the API listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API's base URL, `http://host:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The proxies behind the API, for in-process control.
    pub fn collection(&self) -> &ProxyCollection {
        &self.collection
    }

    /// Resolves when the server stops on its own (it only does on an I/O error).
    ///
    /// # Errors
    /// The error that stopped it.
    pub async fn stopped(&mut self) -> std::io::Result<()> {
        match self.task.as_mut() {
            Some(task) => {
                let result = task.await.unwrap_or_else(|e| Err(std::io::Error::other(e)));
                self.task = None;
                result
            }
            None => Ok(()),
        }
    }

    /// Stops the API and every proxy, closing their connections.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.collection.shutdown().await;
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop.cancel();
        self.collection.cancel_all();
    }
}
