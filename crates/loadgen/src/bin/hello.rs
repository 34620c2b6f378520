//! `bazaar-hello`: a bare axum server with one JSON route and one plain-text route, built from the same
//! crate versions as `bazaar` (same workspace, same lock file, same release profile). `scripts/bench`
//! loads it side by side with the catalog to show the ceiling of the machine.
//!
//! `bazaar-hello [ADDR]` (default `127.0.0.1:8079`, or `BAZAAR_HELLO_ADDR`); `GET /json` answers
//! `{"message":"Hello, World!"}`, `GET /plaintext` answers `Hello, World!`. Stops on Ctrl-C or SIGTERM.

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("BAZAAR_HELLO_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:8079".to_owned())
        .parse()
        .map_err(|e| anyhow::anyhow!("the address to listen on (e.g. 127.0.0.1:8079): {e}"))?;
    let app = Router::new()
        .route("/json", get(json_hello))
        .route("/plaintext", get(|| async { "Hello, World!" }));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("bazaar-hello listening on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(stopped())
        .await?;
    Ok(())
}

async fn json_hello() -> Json<Value> {
    Json(json!({"message": "Hello, World!"}))
}

async fn stopped() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
