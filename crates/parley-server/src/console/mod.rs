//! The web console at `/console/`: static HTML, CSS and ES modules embedded in the binary.
//! The files hold no data, so they are served without authentication; every call the
//! console makes to the API carries the account's credentials, which the user types at
//! the login screen.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::app::App;
use crate::error::Error;

/// One embedded file: its name under `/console/`, its media type and its bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("assets/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("login.js", JS),
    asset!("stream.js", JS),
    asset!("canvas.js", JS),
    asset!("diff.js", JS),
    asset!("context.js", JS),
    asset!("flows.js", JS),
    asset!("flow_import.js", JS),
    asset!("executions.js", JS),
    asset!("conversations.js", JS),
    asset!("simulator.js", JS),
];

/// Everything the console needs comes from this origin: no CDN, no inline script.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(|| async { serve("index.html") }))
        .route("/console/{file}", get(asset_file))
}

async fn asset_file(Path(file): Path<String>) -> Response {
    serve(&file)
}

fn serve(name: &str) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return Error::not_found(&format!("/console/{name}")).into_response();
    };
    let mut resp = asset.body.into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    // The files change with the binary: revalidate rather than serve a stale console.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{HeaderMap, Request, StatusCode};
    use tower::ServiceExt;

    use crate::testkit::TestApp;

    /// Status, headers and body of an unauthenticated GET through the full router.
    async fn fetch(t: &TestApp, uri: &str) -> (StatusCode, HeaderMap, String) {
        let req = Request::get(uri).body(Body::empty()).expect("request");
        let resp = t.router.clone().oneshot(req).await.expect("response");
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    fn header_of(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
        headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn the_console_is_served_without_credentials_and_holds_no_data() {
        let t = TestApp::new().await;
        let (status, headers, _) = fetch(&t, "/console").await;
        assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
        assert_eq!(header_of(&headers, header::LOCATION), Some("/console/"));

        let (status, headers, body) = fetch(&t, "/console/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            header_of(&headers, header::CONTENT_TYPE),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(
            header_of(&headers, header::CONTENT_SECURITY_POLICY),
            Some(CSP)
        );
        assert!(body.contains(r#"<script type="module" src="app.js">"#));

        let (status, headers, _) = fetch(&t, "/console/canvas.js").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header_of(&headers, header::CONTENT_TYPE), Some(JS));

        let (status, _, body) = fetch(&t, "/console/secrets.txt").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("20404"), "{body}");
    }

    #[test]
    fn every_module_the_page_imports_is_embedded() {
        let names: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(a.body).expect("utf-8");
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let target = line
                    .rsplit_once("'./")
                    .and_then(|(_, rest)| rest.split_once('\''))
                    .map(|(name, _)| name)
                    .unwrap_or_else(|| panic!("{}: unexpected import {line}", a.name));
                assert!(names.contains(&target), "{} imports {target}", a.name);
            }
        }
    }
}
