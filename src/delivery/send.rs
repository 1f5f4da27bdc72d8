//! Signs and posts one stored activity to one inbox, and says what came of
//! it. We sign ourselves (with the draft-cavage signature the federation
//! library also uses) because its sender reports a 4xx as success, and the
//! outcome decides retries here.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as Base64;
use http_signature_normalization_reqwest::prelude::{Config as SigConfig, SignExt};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use rsa::RsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use sha2::{Digest, Sha256};
use url::Url;

/// Signatures stay valid for an hour, as the federation library makes them
/// (receivers' clocks and queues vary).
static SIGNING: LazyLock<SigConfig> = LazyLock::new(|| {
    SigConfig::new()
        .mastodon_compat()
        .set_expiration(Duration::from_secs(3600))
});

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// 2xx.
    Delivered(u16),
    /// A 4xx other than 408 and 429: the receiver will never take it.
    Rejected(u16, String),
    /// 429 (or 503) with a Retry-After: try again no sooner than this.
    RetryAfter(u16, Duration),
    /// Anything else (5xx, 408, network, timeout): retry later.
    Failed(Option<u16>, String),
    /// Not sent at all: the inbox is local, invalid or refused by policy.
    Skipped(String),
}

/// Private keys parsed once per sender (parsing costs more than signing).
/// Signing uses aws-lc-rs: the same PKCS#1 v1.5 signatures as the rsa
/// crate the federation library uses, several times faster.
#[derive(Default, Clone)]
pub struct KeyCache(Arc<Mutex<HashMap<i64, Arc<RsaKeyPair>>>>);

/// Reads a PKCS#8 (or PKCS#1) PEM private key for aws-lc-rs.
pub fn key_pair(pem: &str) -> Result<RsaKeyPair, String> {
    let key = RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            RsaPrivateKey::from_pkcs1_pem(pem)
        })
        .map_err(|e| format!("sender key: {e}"))?;
    let der = key.to_pkcs8_der().map_err(|e| format!("sender key: {e}"))?;
    RsaKeyPair::from_pkcs8(der.as_bytes()).map_err(|e| format!("sender key: {e}"))
}

impl KeyCache {
    pub fn get(&self, account: i64, pem: &str) -> Result<Arc<RsaKeyPair>, String> {
        if let Some(k) = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&account)
        {
            return Ok(k.clone());
        }
        let key = Arc::new(key_pair(pem)?);
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account, key.clone());
        Ok(key)
    }
}

fn headers(inbox: &Url) -> Result<HeaderMap, String> {
    let mut host = inbox.host_str().ok_or("inbox has no host")?.to_string();
    if let Some(port) = inbox.port() {
        host = format!("{host}:{port}");
    }
    let mut h = HeaderMap::new();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/activity+json"),
    );
    h.insert(
        "host",
        HeaderValue::from_str(&host).map_err(|e| e.to_string())?,
    );
    h.insert(
        "date",
        HeaderValue::from_str(&httpdate::fmt_http_date(SystemTime::now()))
            .map_err(|e| e.to_string())?,
    );
    Ok(h)
}

/// Seconds in a Retry-After header (delta seconds or an HTTP date).
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// Any failure while building the signed request.
#[derive(Debug)]
struct SignFailure(String);

impl From<http_signature_normalization_reqwest::SignError> for SignFailure {
    fn from(e: http_signature_normalization_reqwest::SignError) -> Self {
        SignFailure(e.to_string())
    }
}

impl From<reqwest::Error> for SignFailure {
    fn from(e: reqwest::Error) -> Self {
        SignFailure(e.to_string())
    }
}

impl From<aws_lc_rs::error::Unspecified> for SignFailure {
    fn from(_: aws_lc_rs::error::Unspecified) -> Self {
        SignFailure("RSA signing failed".into())
    }
}

/// Classifies a response status as the queue needs it.
pub fn classify(status: StatusCode, headers: &HeaderMap, body: String) -> Outcome {
    let code = status.as_u16();
    if status.is_success() {
        return Outcome::Delivered(code);
    }
    if matches!(code, 429 | 503)
        && let Some(d) = retry_after(headers)
    {
        return Outcome::RetryAfter(code, d);
    }
    if status.is_client_error() && code != 408 && code != 429 {
        return Outcome::Rejected(code, body);
    }
    Outcome::Failed(Some(code), body)
}

/// Signs `body` as `actor_id` (key `#main-key`) and posts it to `inbox`.
pub async fn post(
    client: &reqwest::Client,
    inbox: &Url,
    actor_id: &str,
    key: Arc<RsaKeyPair>,
    body: String,
    timeout: Duration,
) -> Outcome {
    let h = match headers(inbox) {
        Ok(h) => h,
        Err(e) => return Outcome::Skipped(e),
    };
    let key_id = format!("{actor_id}#main-key");
    // The signing closure runs on the blocking pool (the default spawner).
    let request = client
        .post(inbox.as_str())
        .timeout(timeout)
        .headers(h)
        .signature_with_digest(
            SIGNING.clone(),
            key_id,
            Sha256::new(),
            body,
            move |signing_string| -> Result<String, SignFailure> {
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    signing_string.as_bytes(),
                    &mut sig,
                )?;
                Ok(Base64.encode(sig))
            },
        )
        .await;
    let request = match request {
        Ok(r) => r,
        Err(SignFailure(e)) => return Outcome::Failed(None, format!("signing: {e}")),
    };
    match client.execute(request).await {
        Ok(res) => {
            let (status, headers) = (res.status(), res.headers().clone());
            // Only a short excerpt of an error body is kept.
            let text = if status.is_success() {
                String::new()
            } else {
                let mut t = res.text().await.unwrap_or_default();
                t.truncate(300);
                t
            };
            classify(status, &headers, text)
        }
        Err(e) if e.is_timeout() => Outcome::Failed(None, "timed out".into()),
        Err(e) => Outcome::Failed(None, format!("{e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_rsa_crate() {
        use rsa::Pkcs1v15Sign;
        use rsa::pkcs8::LineEnding;
        use sha2::Digest;
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let pair = key_pair(&pem).unwrap();
        let msg = b"(request-target): post /inbox\nhost: a.example";
        let mut ours = vec![0u8; pair.public_modulus_len()];
        pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut ours)
            .unwrap();
        let theirs = key
            .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(msg))
            .unwrap();
        assert_eq!(ours, theirs);
        assert!(key_pair("not a key").is_err());
    }

    #[test]
    fn outcomes_by_status() {
        let h = HeaderMap::new();
        assert_eq!(
            classify(StatusCode::ACCEPTED, &h, String::new()),
            Outcome::Delivered(202)
        );
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, &h, "no".into()),
            Outcome::Rejected(403, _)
        ));
        assert!(matches!(
            classify(StatusCode::REQUEST_TIMEOUT, &h, String::new()),
            Outcome::Failed(Some(408), _)
        ));
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, &h, String::new()),
            Outcome::Failed(Some(429), _)
        ));
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, &h, String::new()),
            Outcome::Failed(Some(502), _)
        ));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("120"));
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, &h, String::new()),
            Outcome::RetryAfter(429, Duration::from_secs(120))
        );
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(600));
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        match classify(StatusCode::SERVICE_UNAVAILABLE, &h, String::new()) {
            Outcome::RetryAfter(503, d) => assert!((590..=600).contains(&d.as_secs()), "{d:?}"),
            other => panic!("{other:?}"),
        }
    }
}
