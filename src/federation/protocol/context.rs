use serde_json::{Value, json};

/// The JSON-LD context of everything we serve: ActivityStreams, security
/// (public keys) and the extension terms Mastodon-compatible software reads.
pub fn context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag",
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "jobTitle": "schema:jobTitle",
            "knowsAbout": "schema:knowsAbout",
            "worksFor": "schema:worksFor",
            "memberOf": "schema:memberOf",
            "acceptedAnswer": { "@id": "schema:acceptedAnswer", "@type": "@id" },
            "featured": { "@id": "toot:featured", "@type": "@id" },
            "featuredTags": { "@id": "toot:featuredTags", "@type": "@id" },
            "meetfield": "https://meetfield.dev/ns#",
            "directory": { "@id": "meetfield:directory", "@type": "@id" },
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
            "lemmy": "https://join-lemmy.org/ns#",
            "postingRestrictedToMods": "lemmy:postingRestrictedToMods",
            "moderators": { "@id": "lemmy:moderators", "@type": "@id" }
        }
    ])
}
