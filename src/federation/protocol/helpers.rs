//! Lenient readers for fields that other servers shape in several ways.

use activitypub_federation::fetch::object_id::ObjectId;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use url::Url;

/// The id of a value that is either a URL string or an object with `id`.
pub fn id_of(v: &Value) -> Option<Url> {
    match v {
        Value::String(s) => Url::parse(s).ok(),
        Value::Object(m) => m
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| Url::parse(s).ok()),
        Value::Array(a) => a.iter().find_map(id_of),
        _ => None,
    }
}

/// A link's target: a URL string, a Link/Image object with `href` or `url`, or
/// the first of an array.
pub fn href_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m
            .get("href")
            .and_then(href_of)
            .or_else(|| m.get("url").and_then(href_of)),
        Value::Array(a) => a.iter().find_map(href_of),
        _ => None,
    }
}

/// Every URL in a field that holds one URL or a list of them (`to`, `cc`).
pub fn urls_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Object(m) => m.get("id").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })
            .collect(),
        Some(Value::Object(m)) => m
            .get("id")
            .and_then(Value::as_str)
            .map(|s| vec![s.to_string()])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// An actor or object reference given as a URL or as an object with `id`
/// (Hubzilla and others embed `{"id": …}` where most send a string).
pub fn lenient_id<'de, D, K>(d: D) -> Result<ObjectId<K>, D::Error>
where
    D: Deserializer<'de>,
    K: activitypub_federation::traits::Object + Send + 'static,
    for<'a> <K as activitypub_federation::traits::Object>::Kind: Deserialize<'a>,
{
    let v = Value::deserialize(d)?;
    id_of(&v)
        .map(ObjectId::from)
        .ok_or_else(|| serde::de::Error::custom("expected a URL or an object with an id"))
}

/// Same as [`lenient_id`] for a plain URL.
pub fn lenient_url<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    let v = Value::deserialize(d)?;
    id_of(&v).ok_or_else(|| serde::de::Error::custom("expected a URL or an object with an id"))
}

/// A boolean that some servers send as a string (`"true"`), or null.
/// An optional URL: junk in its place reads as absent rather than failing
/// the whole document.
pub fn optional_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    Ok(id_of(&Value::deserialize(d)?))
}

/// An optional string: another type in its place reads as absent.
pub fn optional_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

pub fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => Some(n.as_i64().unwrap_or(0) != 0),
        _ => None,
    })
}

/// `host[:port]` of a URL, the way we store remote domains.
pub fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_ids_and_links_in_their_shapes() {
        assert_eq!(
            id_of(&json!("https://a.example/x")).unwrap().as_str(),
            "https://a.example/x"
        );
        assert_eq!(
            id_of(&json!({"id": "https://a.example/y"}))
                .unwrap()
                .as_str(),
            "https://a.example/y"
        );
        assert!(id_of(&json!(3)).is_none());
        assert_eq!(
            href_of(&json!({"type": "Image", "url": "https://a.example/i.png"})).unwrap(),
            "https://a.example/i.png"
        );
        assert_eq!(
            href_of(&json!([{"href": "https://a.example/p"}])).unwrap(),
            "https://a.example/p"
        );
        assert_eq!(
            urls_of(Some(&json!("https://a.example/f"))),
            vec!["https://a.example/f"]
        );
        assert_eq!(urls_of(Some(&json!(["x", {"id": "y"}]))), vec!["x", "y"]);
        assert_eq!(
            authority(&Url::parse("http://Beta.localhost:8001/u").unwrap()),
            "beta.localhost:8001"
        );
    }
}
