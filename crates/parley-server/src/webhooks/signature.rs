//! `X-Twilio-Signature`, as the official libraries compute and validate it: base64 of
//! HMAC-SHA1 (key: the account's Auth Token) over the full URL followed by every POST
//! parameter name and value, names sorted, each name's values sorted and de-duplicated.
//! JSON bodies sign the URL with `bodySHA256=<hex>` appended. The SHA-256 variant is the
//! same string with HMAC-SHA256.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The string Twilio signs for a form request.
pub fn signing_string(url: &str, params: &[(String, String)]) -> String {
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut s = String::from(url);
    for name in names {
        let mut values: Vec<&str> = params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect();
        values.sort_unstable();
        values.dedup();
        for v in values {
            s.push_str(name);
            s.push_str(v);
        }
    }
    s
}

pub fn sign_sha1(token: &str, data: &str) -> String {
    let mut mac =
        <Hmac<Sha1> as Mac>::new_from_slice(token.as_bytes()).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

pub fn sign_sha256(key: &str, data: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The signature of a form POST (or, with no params, of a GET URL).
pub fn sign_form(token: &str, url: &str, params: &[(String, String)]) -> String {
    sign_sha1(token, &signing_string(url, params))
}

/// The URL to sign for a JSON body, and its signature.
pub fn sign_json(token: &str, url: &str, body: &[u8]) -> (String, String) {
    let hash: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sep = if url.contains('?') { '&' } else { '?' };
    let signed_url = format!("{url}{sep}bodySHA256={hash}");
    let sig = sign_sha1(token, &signed_url);
    (signed_url, sig)
}

/// The URL variants the official validators accept: as given, without the port, and with
/// the scheme's default port added.
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    if let Ok(u) = url::Url::parse(url) {
        let mut without = u.clone();
        if without.set_port(None).is_ok() {
            out.push(without.to_string());
        }
        if u.port().is_none()
            && let Some(default) = u.port_or_known_default()
        {
            let mut with = u.clone();
            if with.set_port(Some(default)).is_ok() {
                // `Url` drops a default port when printing, so build it by hand.
                let host = u.host_str().unwrap_or_default();
                let s = u.as_str().replacen(host, &format!("{host}:{default}"), 1);
                out.push(s);
            }
        }
    }
    out
}

/// Checks a form request's signature, as Twilio's RequestValidator does.
pub fn validate_form(token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    use subtle::ConstantTimeEq;
    url_variants(url).iter().any(|u| {
        let expected = sign_form(token, u, params);
        bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // Vectors from clients.md §7, checked there against twilio-python and twilio-node.
    const TOKEN: &str = "test_auth_token_0123456789abcdef";

    #[test]
    fn matches_the_official_libraries() {
        let params = p(&[
            ("EventType", "onMessageAdded"),
            ("Body", "hi there"),
            ("ConversationSid", "CH123"),
            ("Author", "+15558675310"),
            ("Index", "0"),
        ]);
        let url = "http://127.0.0.1:8080/studio/hook?x=1";
        assert_eq!(
            sign_form(TOKEN, url, &params),
            "dvne/XVA1CH9b7n92lrxhm1Ko2g="
        );
        assert!(validate_form(
            TOKEN,
            url,
            &params,
            "dvne/XVA1CH9b7n92lrxhm1Ko2g="
        ));
        assert!(!validate_form(TOKEN, url, &params, "nope"));
        assert_eq!(
            sign_sha256(TOKEN, &signing_string(url, &params)),
            "a94obtnaCl8NjdHz4iNHEGsGZT66QrTrWPkIy1jzCSY="
        );
    }

    #[test]
    fn shared_key_signer_uses_sha256_and_announces_its_key() {
        let params = p(&[
            ("EventType", "onMessageAdded"),
            ("Body", "hi there"),
            ("ConversationSid", "CH123"),
            ("Author", "+15558675310"),
            ("Index", "0"),
        ]);
        let url = "http://127.0.0.1:8080/studio/hook?x=1";
        let signer = Signer::Sha256 {
            key_id: "webhooks_sharedkey_1".into(),
            secret: TOKEN.into(),
        };
        assert_eq!(
            signer.sign_form(url, &params),
            "a94obtnaCl8NjdHz4iNHEGsGZT66QrTrWPkIy1jzCSY="
        );
        assert_eq!(
            signer.settings_header().as_deref(),
            Some("key=webhooks_sharedkey_1,algorithm=HMAC_SHA256")
        );
        let legacy = Signer::Sha1 {
            token: TOKEN.into(),
        };
        assert_eq!(
            legacy.sign_form(url, &params),
            "dvne/XVA1CH9b7n92lrxhm1Ko2g="
        );
        assert_eq!(legacy.settings_header(), None);
    }

    #[test]
    fn repeated_values_are_sorted() {
        let params = p(&[("Filters", "b"), ("Filters", "a"), ("A", "1")]);
        assert_eq!(
            sign_form(TOKEN, "http://127.0.0.1:8080/studio/hook?x=1", &params),
            "QGZAN20tnQnMi8sS24rK/lnlZm8="
        );
    }

    #[test]
    fn json_bodies_sign_the_body_hash() {
        let (url, sig) = sign_json(
            TOKEN,
            "http://127.0.0.1:8080/json-hook",
            br#"{"event": "onMessageAdded", "sid": "IM1"}"#,
        );
        assert_eq!(
            url,
            "http://127.0.0.1:8080/json-hook?bodySHA256=eb54689f2c94d921f6a9e2a62ab71e78994b2ad3cb71e5fe00772a92252c83b1"
        );
        assert_eq!(sig, "/amgcq8inQOnz322iiv1JlpmE2w=");
    }

    #[test]
    fn default_port_is_optional() {
        let params = p(&[("A", "1")]);
        let sig = sign_form(TOKEN, "https://example.com/x", &params);
        assert!(validate_form(
            TOKEN,
            "https://example.com:443/x",
            &params,
            &sig
        ));
        let sig443 = sign_form(TOKEN, "https://example.com:443/x", &params);
        assert!(validate_form(
            TOKEN,
            "https://example.com/x",
            &params,
            &sig443
        ));
    }
}

/// How one account's outbound webhooks are signed.
#[derive(Debug, Clone)]
pub enum Signer {
    /// HMAC-SHA1 with the Auth Token: what every Twilio validator checks by default.
    Sha1 { token: String },
    /// HMAC-SHA256 with a shared key, announced in `X-Twilio-Webhooks-Signature-Settings`.
    Sha256 { key_id: String, secret: String },
}

pub const SETTINGS_HEADER: &str = "X-Twilio-Webhooks-Signature-Settings";

impl Signer {
    /// The signer of `account_sid`, from its account and configuration rows.
    pub fn load(tx: &mut parley_store::Tx<'_>, account_sid: &str) -> parley_store::Result<Signer> {
        let token = tx
            .get::<parley_store::AccountRow>(account_sid)?
            .map(|a| a.auth_token)
            .unwrap_or_default();
        let cfg = tx.get::<parley_store::AccountConfigRow>(account_sid)?;
        Ok(match cfg {
            Some(c) if c.webhook_signing_algorithm == "HMAC_SHA256" => {
                match (c.webhook_signing_key_id, c.webhook_signing_secret) {
                    (Some(key_id), Some(secret)) => Signer::Sha256 { key_id, secret },
                    _ => Signer::Sha1 { token },
                }
            }
            _ => Signer::Sha1 { token },
        })
    }

    /// The `X-Twilio-Signature` of a form request (or, with no params, of a GET URL).
    pub fn sign_form(&self, url: &str, params: &[(String, String)]) -> String {
        let data = signing_string(url, params);
        match self {
            Signer::Sha1 { token } => sign_sha1(token, &data),
            Signer::Sha256 { secret, .. } => sign_sha256(secret, &data),
        }
    }

    /// The settings header to send along, for the SHA-256 variant.
    pub fn settings_header(&self) -> Option<String> {
        match self {
            Signer::Sha1 { .. } => None,
            Signer::Sha256 { key_id, .. } => Some(format!("key={key_id},algorithm=HMAC_SHA256")),
        }
    }
}

impl Signer {
    /// A signed request carrying `fields` to `url`: in the query string for GET, as a form
    /// body otherwise. Both delivery paths (post-event and pre-event) build requests here,
    /// so they are signed the same way.
    pub fn request(
        &self,
        http: &reqwest::Client,
        url: &str,
        method: &str,
        fields: &[(String, String)],
    ) -> std::result::Result<reqwest::RequestBuilder, String> {
        let req = if method.eq_ignore_ascii_case("GET") {
            let mut u = url::Url::parse(url).map_err(|e| e.to_string())?;
            u.query_pairs_mut().extend_pairs(fields.iter());
            let full = u.to_string();
            let sig = self.sign_form(&full, &[]);
            http.get(full).header("X-Twilio-Signature", sig)
        } else {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields.iter())
                .finish();
            http.post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("X-Twilio-Signature", self.sign_form(url, fields))
                .body(body)
        };
        Ok(match self.settings_header() {
            Some(settings) => req.header(SETTINGS_HEADER, settings),
            None => req,
        })
    }
}
