//! The web storefront's built files (`storefront/dist`, React + Vite), served at `/` by the same listener as
//! the API, so that the shop and its API share one origin (no CORS, one Ingress path).
//!
//! - API routes take precedence: the files are served by a catch-all route (`/{*path}`), which the router
//!   tries only after every component's routes; an unknown `/api/...`, `/.well-known/...` or probe path
//!   still gets the problem+json 404.
//! - A path naming a file in the directory gets that file, with its content type; a path without a file
//!   extension that names no file is a client-side route (`/products/trail-runner`, `/ops/stock`) and gets
//!   `index.html`, which the browser's router resolves. A missing file with an extension is a 404.
//! - Vite's hashed bundles (`/assets/...`) are cached for a year (`immutable`); everything else is
//!   revalidated on every visit (`no-cache`), so a new deployment shows at once.
//! - When the build left a gzip twin (`app.js.gz`, written by the storefront's build) and the browser
//!   accepts gzip, the twin is sent with `Content-Encoding: gzip`.
//! - Only plain relative paths are served: a `..`, hidden or empty segment, a backslash or a percent
//!   sign is answered 404, so nothing outside the directory can be reached.
//!
//! The directory comes from `BAZAAR_STOREFRONT_DIR` (`--storefront-dir`; the image sets
//! `/usr/share/bazaar/storefront`); when it is not set, `storefront/dist` under the working directory is
//! used if it holds an `index.html` (`make dev` after a build). A directory without an `index.html` serves
//! nothing at `/` (with a warning at start).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::problem::Problem;

/// Where the storefront's built files are (see the module docs).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StorefrontConfig {
    /// Directory of the web storefront's built files (`storefront/dist`), served at `/`. Default:
    /// `storefront/dist` under the working directory when it holds an index.html, else none.
    #[arg(long = "storefront-dir", env = "BAZAAR_STOREFRONT_DIR")]
    pub dir: Option<PathBuf>,
}

impl StorefrontConfig {
    /// The directory to serve, if any: one without an `index.html` (an image built without the
    /// storefront) serves nothing, with a warning, rather than an error page at `/`.
    pub fn resolve(&self) -> Option<PathBuf> {
        match &self.dir {
            Some(dir) if dir.join("index.html").is_file() => Some(dir.clone()),
            Some(dir) => {
                tracing::warn!(
                    dir = %dir.display(),
                    "BAZAAR_STOREFRONT_DIR has no index.html: the storefront is not served"
                );
                None
            }
            None => {
                let built = PathBuf::from("storefront/dist");
                built.join("index.html").is_file().then_some(built)
            }
        }
    }
}

/// Prefixes that belong to the API and the scaffold: never answered with the storefront's `index.html`.
const RESERVED: [&str; 5] = ["/api/", "/.well-known/", "/healthz", "/readyz", "/metrics"];

/// Adds the storefront's routes (`/` and the catch-all) to `api`, serving files from `dir`.
pub fn routes<S: Clone + Send + Sync + 'static>(api: Router<S>, dir: &Path) -> Router<S> {
    let dir = Arc::new(dir.to_path_buf());
    let files = Router::new()
        .route("/", get(serve))
        .route("/{*path}", get(serve))
        .with_state(dir);
    api.merge(files)
}

async fn serve(State(dir): State<Arc<PathBuf>>, request: Request) -> Response {
    let path = request.uri().path();
    if RESERVED.iter().any(|prefix| path.starts_with(prefix)) {
        return Problem::not_found("No such resource.").into_response();
    }
    let Some(relative) = safe_relative(path) else {
        return Problem::not_found("No such resource.").into_response();
    };
    let gzip_ok = request
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));

    let candidate = dir.join(&relative);
    if is_file(&candidate).await {
        return file_response(&candidate, &relative, gzip_ok).await;
    }
    let last = relative.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return Problem::not_found("No such file.").into_response();
    }
    // A client-side route: the single-page app's entry resolves it in the browser.
    file_response(&dir.join("index.html"), "index.html", gzip_ok).await
}

/// The request path as a relative file path, or None when it could leave the directory.
fn safe_relative(path: &str) -> Option<String> {
    let trimmed = path.trim_start_matches('/');
    if trimmed.is_empty() {
        return Some("index.html".to_owned());
    }
    let safe = trimmed.split('/').all(|segment| {
        !segment.is_empty()
            && !segment.starts_with('.')
            && !segment.contains('\\')
            && !segment.contains('%')
            && !segment.contains('\0')
    });
    safe.then(|| trimmed.to_owned())
}

async fn is_file(path: &Path) -> bool {
    tokio::fs::metadata(path)
        .await
        .map(|m| m.is_file())
        .unwrap_or(false)
}

async fn file_response(path: &Path, relative: &str, gzip_ok: bool) -> Response {
    let gz = PathBuf::from(format!("{}.gz", path.display()));
    let (bytes, gzipped) = if gzip_ok && is_file(&gz).await {
        (tokio::fs::read(&gz).await, true)
    } else {
        (tokio::fs::read(path).await, false)
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(error) => {
            // index.html missing (a build in progress, a wrong directory): say so, never a blank page.
            tracing::warn!(path = %path.display(), %error, "storefront file unreadable");
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storefront-unavailable",
                "The storefront's files are not available on this server.",
            )
            .into_response();
        }
    };
    let cache = if relative.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type(relative)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (header::VARY, HeaderValue::from_static("accept-encoding")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response();
    if gzipped {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

fn content_type(path: &str) -> HeaderValue {
    let extension = path.rsplit('.').next().unwrap_or_default();
    HeaderValue::from_static(match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use tower::ServiceExt;

    /// A built storefront in a temporary directory, deleted when dropped.
    struct Built(PathBuf);

    impl Drop for Built {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    impl std::ops::Deref for Built {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    fn built_storefront() -> Built {
        let dir = std::env::temp_dir().join(format!("bazaar-storefront-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(dir.join("assets")).expect("dir");
        std::fs::write(dir.join("index.html"), "<!doctype html><title>shop</title>")
            .expect("index");
        std::fs::write(dir.join("assets/app-1a2b.js"), "console.log('shop')").expect("js");
        std::fs::write(dir.join("assets/app-1a2b.js.gz"), b"\x1f\x8bzipped").expect("gz");
        std::fs::write(dir.join("favicon.svg"), "<svg/>").expect("svg");
        Built(dir)
    }

    fn app(dir: &Path) -> Router {
        let api = Router::new().route(
            "/api/catalog/products",
            get(|| async { axum::Json(serde_json::json!({"items": []})) }),
        );
        routes(api, dir).fallback(|| async { Problem::not_found("No such resource.") })
    }

    async fn get_path(app: Router, path: &str, accept_gzip: bool) -> Response {
        let mut request = Request::builder().uri(path);
        if accept_gzip {
            request = request.header(header::ACCEPT_ENCODING, "gzip, br");
        }
        app.oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    async fn body_text(response: Response) -> String {
        String::from_utf8(
            to_bytes(response.into_body(), 1 << 20)
                .await
                .expect("body")
                .to_vec(),
        )
        .expect("utf-8")
    }

    #[tokio::test]
    async fn the_shop_is_served_at_the_root_and_client_routes_get_the_app() {
        let dir = built_storefront();
        for path in ["/", "/products/trail-runner", "/ops/stock", "/orders/01a2"] {
            let response = get_path(app(&dir), path, false).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "text/html; charset=utf-8"
            );
            assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
            assert!(body_text(response).await.contains("<title>shop</title>"));
        }
    }

    #[tokio::test]
    async fn api_routes_take_precedence_and_unknown_api_paths_stay_problems() {
        let dir = built_storefront();
        let response = get_path(app(&dir), "/api/catalog/products", false).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_text(response).await, r#"{"items":[]}"#);
        for path in ["/api/nothing-here", "/.well-known/nothing", "/metricsx"] {
            let response = get_path(app(&dir), path, false).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "application/problem+json"
            );
        }
    }

    #[tokio::test]
    async fn hashed_assets_are_cached_for_good_and_sent_gzipped_when_accepted() {
        let dir = built_storefront();
        let plain = get_path(app(&dir), "/assets/app-1a2b.js", false).await;
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(
            plain.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            plain.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body_text(plain).await, "console.log('shop')");

        let zipped = get_path(app(&dir), "/assets/app-1a2b.js", true).await;
        assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
        let svg = get_path(app(&dir), "/favicon.svg", true).await;
        assert_eq!(svg.headers()[header::CONTENT_TYPE], "image/svg+xml");
        assert!(svg.headers().get(header::CONTENT_ENCODING).is_none());
    }

    #[tokio::test]
    async fn missing_files_and_paths_leaving_the_directory_are_not_found() {
        let dir = built_storefront();
        std::fs::write(dir.join(".env"), "SECRET=1").expect("hidden");
        for path in [
            "/assets/missing.js",
            "/../../etc/passwd",
            "/assets/%2e%2e/index.html",
            "/.env",
            "/assets//app-1a2b.js",
        ] {
            let response = get_path(app(&dir), path, false).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[test]
    fn the_directory_is_the_setting_or_a_built_storefront_in_the_working_directory() {
        let dir = built_storefront();
        let given = StorefrontConfig {
            dir: Some(dir.to_path_buf()),
        };
        assert_eq!(given.resolve(), Some(dir.to_path_buf()));
        let empty = StorefrontConfig {
            dir: Some(dir.join("assets")),
        };
        assert_eq!(empty.resolve(), None, "a directory without index.html");
        let unset = StorefrontConfig::default();
        let built = Path::new("storefront/dist/index.html").is_file();
        assert_eq!(
            unset.resolve(),
            built.then(|| PathBuf::from("storefront/dist"))
        );
    }
}
