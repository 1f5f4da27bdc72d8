//! Signs and posts one stored activity to one inbox, and says what came of
//! it. We sign ourselves (with the draft-cavage signature the federation
//! library also uses) because its sender reports a 4xx as success, and the
//! outcome decides retries here.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as Base64;
use bytes::Bytes;
use http_signature_normalization::Config as SigConfig;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use rsa::RsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use sha2::{Digest, Sha256};
use url::Url;

/// The draft-cavage signature Mastodon expects: every header we send is
/// signed, with `Date` instead of `(created)`.
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

/// One request to sign: its headers so far, what the signature covers.
struct Job {
    key: Arc<RsaKeyPair>,
    key_id: String,
    method_path: (&'static str, String),
    headers: HeaderMap,
    body: Bytes,
    reply: tokio::sync::oneshot::Sender<Result<HeaderMap, String>>,
}

/// Signs requests on a few threads of its own, one per core, fed by a
/// queue: the async threads never sign, and a burst of deliveries does not
/// grow the blocking pool by a thread per request (on two cores, a hundred
/// signing threads spent more time switching than signing).
#[derive(Clone)]
pub struct Signer {
    jobs: crossbeam_channel::Sender<Job>,
}

impl Signer {
    /// Starts `threads` signing threads; they end when the last clone of
    /// the signer is dropped.
    pub fn start(threads: usize) -> Self {
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("meetfield-sign-{i}"))
                .spawn(move || {
                    let rng = SystemRandom::new();
                    for job in queue {
                        let Job {
                            key,
                            key_id,
                            method_path,
                            headers,
                            body,
                            reply,
                        } = job;
                        let signed = sign_now(&rng, &key, key_id, method_path, headers, &body);
                        let _ = reply.send(signed);
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a signing thread");
            }
        }
        Signer { jobs }
    }

    /// One thread per core the process may use.
    pub fn per_core() -> Self {
        Self::start(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// `headers` plus `Digest` and `Signature` for a POST of `body` to `url`.
    pub async fn sign_post(
        &self,
        key: Arc<RsaKeyPair>,
        key_id: String,
        url: &Url,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<HeaderMap, String> {
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job {
                key,
                key_id,
                method_path: ("POST", path),
                headers,
                body,
                reply,
            })
            .map_err(|_| "no signing thread".to_string())?;
        answer
            .await
            .map_err(|_| "signing thread ended".to_string())?
    }
}

fn sign_now(
    rng: &SystemRandom,
    key: &RsaKeyPair,
    key_id: String,
    (method, path): (&str, String),
    mut headers: HeaderMap,
    body: &[u8],
) -> Result<HeaderMap, String> {
    let digest = format!("SHA-256={}", Base64.encode(Sha256::digest(body)));
    headers.insert(
        "digest",
        HeaderValue::from_str(&digest).map_err(|e| e.to_string())?,
    );
    let mut covered = BTreeMap::new();
    for (name, value) in &headers {
        let value = value.to_str().map_err(|e| e.to_string())?;
        covered.insert(name.as_str().to_string(), value.to_string());
    }
    let signed = SIGNING
        .begin_sign(method, &path, covered)
        .map_err(|e| e.to_string())?
        .sign(key_id, |signing_string| {
            let mut sig = vec![0u8; key.public_modulus_len()];
            key.sign(&RSA_PKCS1_SHA256, rng, signing_string.as_bytes(), &mut sig)
                .map_err(|_| "RSA signing failed".to_string())?;
            Ok::<_, String>(Base64.encode(sig))
        })?;
    headers.insert(
        "signature",
        HeaderValue::from_str(&signed.signature_header()).map_err(|e| e.to_string())?,
    );
    Ok(headers)
}

/// Signs `body` as `actor_id` (key `#main-key`) and posts it to `inbox`.
pub async fn post(
    client: &reqwest::Client,
    signer: &Signer,
    inbox: &Url,
    actor_id: &str,
    key: Arc<RsaKeyPair>,
    body: Bytes,
    timeout: Duration,
) -> Outcome {
    let h = match headers(inbox) {
        Ok(h) => h,
        Err(e) => return Outcome::Skipped(e),
    };
    let key_id = format!("{actor_id}#main-key");
    let h = match signer.sign_post(key, key_id, inbox, h, body.clone()).await {
        Ok(h) => h,
        Err(e) => return Outcome::Failed(None, format!("signing: {e}")),
    };
    let request = client
        .post(inbox.as_str())
        .timeout(timeout)
        .headers(h)
        .body(body);
    match request.send().await {
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

    #[tokio::test]
    async fn signing_threads_sign_what_receivers_verify() {
        use rsa::pkcs8::LineEnding;
        use rsa::{Pkcs1v15Sign, RsaPublicKey};
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let pair = Arc::new(key_pair(&key.to_pkcs8_pem(LineEnding::LF).unwrap()).unwrap());
        let signer = Signer::start(2);
        let url = Url::parse("https://b.example:8443/inbox?x=1").unwrap();
        let body = Bytes::from_static(br#"{"type":"Create"}"#);
        let signed = signer
            .sign_post(
                pair,
                "https://a.example/users/al#main-key".into(),
                &url,
                headers(&url).unwrap(),
                body.clone(),
            )
            .await
            .unwrap();
        assert_eq!(
            signed["digest"].to_str().unwrap(),
            format!("SHA-256={}", Base64.encode(Sha256::digest(&body)))
        );
        assert_eq!(signed["host"].to_str().unwrap(), "b.example:8443");
        let header = signed["signature"].to_str().unwrap();
        assert!(
            header.contains(r#"headers="(request-target) content-type date digest host""#),
            "{header}"
        );
        // The receiving side of the same library accepts it, and only for
        // this body's digest and this path.
        let verify = |path: &str, headers: &HeaderMap| {
            let covered = headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
                .collect();
            let unverified = SigConfig::new()
                .mastodon_compat()
                .begin_verify("POST", path, covered)
                .unwrap();
            assert_eq!(unverified.key_id(), "https://a.example/users/al#main-key");
            let public = RsaPublicKey::from(&key);
            unverified.verify(|sig, signing_string| {
                let sig = Base64.decode(sig).unwrap();
                public
                    .verify(
                        Pkcs1v15Sign::new::<Sha256>(),
                        &Sha256::digest(signing_string.as_bytes()),
                        &sig,
                    )
                    .is_ok()
            })
        };
        assert!(verify("/inbox?x=1", &signed));
        assert!(!verify("/inbox", &signed));
        let mut tampered = signed.clone();
        tampered.insert("digest", HeaderValue::from_static("SHA-256=AAAA"));
        assert!(!verify("/inbox?x=1", &tampered));
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
