//! Attachments across instances: a picture posted on alpha arrives on beta
//! as a Document, is fetched and cached there (thumbnail, blurhash, alt
//! text), and media on a host beta does not federate with is not fetched.

use std::io::Cursor;

use meetfield::db::models::Status;
use meetfield::domain::media::{self, Attachment, UploadMeta};
use meetfield::domain::statuses::{self as posts, PostInput};
use meetfield::federation::protocol::note::NoteJson;

use crate::common::Backend;
use crate::harness::{Instance, eventually, follow, trio};
use crate::on_both_backends;

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 3 % 256) as u8, (y * 3 % 256) as u8, 200])
    }));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn attachments_at(at: &Instance, uri: &str) -> Vec<Attachment> {
    let uri = uri.to_string();
    at.query(move |c| {
        let Some(s) = Status::by_uri(c, &uri)? else {
            return Ok(Vec::new());
        };
        Ok::<_, diesel::result::Error>(
            media::of_statuses(c, &[s.id])?
                .remove(&s.id)
                .unwrap_or_default(),
        )
    })
    .await
}

on_both_backends!(
    pictures_travel_and_are_cached,
    |backend: Backend| async move {
        let (alpha, beta, gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        follow(&beta, &bob, &alice).await;

        let upload = media::upload(
            &alpha.app.state,
            &alice,
            png(320, 240),
            Some("image/png".into()),
            UploadMeta {
                description: Some("Seating plan for Friday".into()),
                focus: Some("0.2,0.1".into()),
            },
            false,
        )
        .await
        .unwrap();
        let status = posts::post_status(
            &alpha.data(),
            &alice,
            PostInput {
                media_ids: vec![upload.id],
                ..PostInput::public("Friday's plan")
            },
        )
        .await
        .unwrap();
        let uri = status.uri.clone();
        eventually("beta caches the picture", || async {
            attachments_at(&beta, &uri)
                .await
                .first()
                .is_some_and(|a| a.state == "ready")
        })
        .await;
        let a = attachments_at(&beta, &uri).await.remove(0);
        assert_eq!(a.description, "Seating plan for Friday");
        assert_eq!((a.width, a.height), (Some(320), Some(240)));
        assert_eq!((a.focus_x, a.focus_y), (0.2, 0.1));
        assert!(a.blurhash.is_some() && a.thumb_key.is_some());
        assert!(a.remote_url.as_deref().unwrap().starts_with(&alpha.base));
        let cached = beta
            .app
            .state
            .storage
            .get(a.file_key.as_deref().unwrap())
            .await
            .unwrap()
            .expect("file stored on beta");
        let img = image::load_from_memory(&cached).unwrap();
        assert_eq!((img.width(), img.height()), (320, 240));
        // Beta's apps see beta's copy, and where it came from.
        let ctx = meetfield::api::mastodon::ctx(&beta.app.state);
        let json = meetfield::api::mastodon::entities::media_attachment(&ctx, &a);
        assert!(
            json["url"].as_str().unwrap().starts_with(&beta.base),
            "{json}"
        );
        assert_eq!(json["remote_url"], a.remote_url.clone().unwrap());
        assert_eq!(json["type"], "image");

        // Media hosted where beta does not federate is not fetched.
        beta.block(&gamma).await;
        let foreign = format!("{}/media/elsewhere/picture.png", gamma.base);
        let note: NoteJson = serde_json::from_value(serde_json::json!({
        "id": format!("{}/statuses/999", alice.uri),
        "type": "Note",
        "attributedTo": alice.uri,
        "content": "<p>a picture from elsewhere</p>",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "attachment": [{"type": "Document", "mediaType": "image/png", "url": foreign, "name": "x"}],
    }))
    .unwrap();
        let stored = posts::store_remote_note(&beta.data(), note).await.unwrap();
        eventually("the refusal is recorded", || async {
            attachments_at(&beta, &stored.uri)
                .await
                .first()
                .is_some_and(|a| a.error.is_some())
        })
        .await;
        let a = attachments_at(&beta, &stored.uri).await.remove(0);
        assert_eq!(a.state, "remote");
        assert!(a.file_key.is_none());
        assert!(a.error.unwrap().contains("not a federating partner"));

        // Media from a partner whose media beta rejects are not downloaded:
        // the post arrives, the attachment stays a link to the origin.
        let (domain, changed) =
            meetfield::domain::policy::set_media_rejection(&beta.app.state.db, &alpha.domain, true)
                .await
                .unwrap();
        assert!(changed && !domain.contains(':'), "{domain}");
        let note: NoteJson = serde_json::from_value(serde_json::json!({
        "id": format!("{}/statuses/998", alice.uri),
        "type": "Note",
        "attributedTo": alice.uri,
        "content": "<p>another picture</p>",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "attachment": [{"type": "Document", "mediaType": "image/png", "url": format!("{}/media/x/second.png", alpha.base), "name": "y"}],
    }))
    .unwrap();
        let stored = posts::store_remote_note(&beta.data(), note).await.unwrap();
        eventually("the rejection is recorded", || async {
            attachments_at(&beta, &stored.uri)
                .await
                .first()
                .is_some_and(|a| a.error.is_some())
        })
        .await;
        let a = attachments_at(&beta, &stored.uri).await.remove(0);
        assert_eq!(a.state, "remote");
        assert!(a.file_key.is_none());
        assert!(
            a.error
                .as_deref()
                .unwrap()
                .contains("rejected by this instance"),
            "{:?}",
            a.error
        );
    }
);
