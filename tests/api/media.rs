//! Media uploads: every accepted format round-trips with its metadata,
//! bad files are refused cleanly with nothing left on disk, processing
//! in the background, attachments on posts, profile pictures, cleanup.

use std::io::Cursor;

use axum::http::Method;
use diesel::prelude::*;
use image::{DynamicImage, ImageFormat};
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, Part, assert_error};

/// File name, type, bytes, expected dimensions.
type Case = (&'static str, &'static str, Vec<u8>, (u32, u32));

fn picture(w: u32, h: u32, alpha: bool) -> DynamicImage {
    if alpha {
        DynamicImage::ImageRgba8(image::RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([
                (x * 7 % 256) as u8,
                (y * 5 % 256) as u8,
                90,
                (x % 256) as u8,
            ])
        }))
    } else {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 7 % 256) as u8, (y * 5 % 256) as u8, 90])
        }))
    }
}

fn encoded(img: &DynamicImage, fmt: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, fmt).unwrap();
    out.into_inner()
}

/// A JPEG with an EXIF block: orientation 6 (turn 90° clockwise to show)
/// and a string standing for private data (GPS, camera serial).
fn jpeg_with_exif(w: u32, h: u32) -> Vec<u8> {
    let plain = encoded(&picture(w, h, false), ImageFormat::Jpeg);
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&[1, 0]); // one IFD entry
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff.extend_from_slice(b"SECRET-GPS-48.85N");
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = (app1.len() + 2) as u16;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

async fn upload(api: &Api, token: &str, version: u8, parts: Vec<Part>) -> crate::support::Res {
    api.post(
        &format!("/api/v{version}/media"),
        Some(token),
        B::Files(parts),
    )
    .await
}

fn file(name: &'static str, ctype: &'static str, data: Vec<u8>) -> Part {
    Part::file("file", name, ctype, data)
}

/// Fetches a media URL from the app itself; returns (content type, bytes).
async fn fetch(api: &Api, url: &str) -> (String, Vec<u8>, axum::http::HeaderMap) {
    let path = url.split_once("api.localhost:8080").unwrap().1;
    let r = api.get(path, None).await;
    assert_eq!(r.status.as_u16(), 200, "{url}");
    let ct = r.headers["content-type"].to_str().unwrap().to_string();
    (ct, r.bytes, r.headers)
}

/// Every file under the media folder (to prove nothing is left behind).
fn files_on_disk(api: &Api) -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if e.path().is_dir() {
                    walk(&e.path(), out);
                } else {
                    out.push(e.path().display().to_string());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&api.app.state.config.media_root(), &mut out);
    out
}

both_backends!(
    images_round_trip_with_meta_and_blurhash,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_alice, a) = api.user("alice", "read write").await;
        let cases: Vec<Case> = vec![
            (
                "a.png",
                "image/png",
                encoded(&picture(300, 200, true), ImageFormat::Png),
                (300, 200),
            ),
            (
                "b.jpg",
                "image/jpeg",
                encoded(&picture(1200, 900, false), ImageFormat::Jpeg),
                (1200, 900),
            ),
            (
                "c.gif",
                "image/gif",
                encoded(&picture(64, 48, false), ImageFormat::Gif),
                (64, 48),
            ),
            (
                "d.webp",
                "image/webp",
                encoded(&picture(100, 50, true), ImageFormat::WebP),
                (100, 50),
            ),
        ];
        for (name, ctype, data, (w, h)) in cases {
            let r = upload(
                &api,
                &a,
                1,
                vec![
                    file(name, ctype, data),
                    Part::text("description", "A chart of the quarter"),
                    Part::text("focus", "0.5,-0.25"),
                ],
            )
            .await;
            assert_eq!(r.status.as_u16(), 200, "{name}: {}", r.json);
            let m = &r.json;
            assert_eq!(m["type"], "image", "{name}");
            assert_eq!(m["description"], "A chart of the quarter");
            assert_eq!(m["meta"]["original"]["width"], w, "{name}");
            assert_eq!(m["meta"]["original"]["height"], h, "{name}");
            assert_eq!(m["meta"]["original"]["size"], format!("{w}x{h}"));
            assert_eq!(m["meta"]["focus"], json!({"x": 0.5, "y": -0.25}));
            let small = &m["meta"]["small"];
            assert!(
                small["width"].as_u64().unwrap() <= 640 && small["height"].as_u64().unwrap() <= 640
            );
            let hash = m["blurhash"].as_str().expect("blurhash");
            assert!(hash.len() >= 6, "{hash}");
            let (ct, bytes, headers) = fetch(&api, m["url"].as_str().unwrap()).await;
            assert_eq!(ct, ctype, "{name}");
            assert!(
                headers["cache-control"]
                    .to_str()
                    .unwrap()
                    .contains("max-age")
            );
            assert_eq!(headers["x-content-type-options"], "nosniff");
            let img = image::load_from_memory(&bytes).unwrap();
            assert_eq!((img.width(), img.height()), (w, h), "{name}");
            let (_, thumb, _) = fetch(&api, m["preview_url"].as_str().unwrap()).await;
            let t = image::load_from_memory(&thumb).unwrap();
            assert_eq!(
                (t.width() as u64, t.height() as u64),
                (
                    small["width"].as_u64().unwrap(),
                    small["height"].as_u64().unwrap()
                )
            );
        }

        // EXIF: orientation applied, the block itself gone.
        let r = upload(
            &api,
            &a,
            1,
            vec![file("photo.jpg", "image/jpeg", jpeg_with_exif(40, 20))],
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.json);
        assert_eq!(
            (
                r.json["meta"]["original"]["width"].clone(),
                r.json["meta"]["original"]["height"].clone()
            ),
            (json!(20), json!(40)),
            "turned upright"
        );
        let (_, bytes, _) = fetch(&api, r.json["url"].as_str().unwrap()).await;
        assert!(!bytes.windows(4).any(|w| w == b"Exif"), "EXIF stripped");
        assert!(
            !bytes.windows(10).any(|w| w == b"SECRET-GPS"),
            "private data gone"
        );

        // Video and audio: stored and served as they are, with their types.
        let mp4 = [
            b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".as_slice(),
            &[7u8; 2000],
        ]
        .concat();
        let r = upload(
            &api,
            &a,
            2,
            vec![file("clip.mp4", "video/mp4", mp4.clone())],
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.json);
        assert_eq!(r.json["type"], "video");
        assert!(r.json["preview_url"].is_null());
        let (ct, bytes, _) = fetch(&api, r.json["url"].as_str().unwrap()).await;
        assert_eq!((ct.as_str(), bytes), ("video/mp4", mp4));
        let ogg = [b"OggS\0\x02".as_slice(), &[1u8; 500]].concat();
        let r = upload(&api, &a, 2, vec![file("note.ogg", "audio/ogg", ogg)]).await;
        assert_eq!(r.json["type"], "audio", "{}", r.json);
    }
);

both_backends!(
    bad_files_are_refused_and_leave_nothing,
    |tdb: TestDb| async move {
        let api = Api::with_config(tdb, |c| meetfield::config::Config {
            media_max_image_bytes: 200 * 1024,
            media_max_video_bytes: 300 * 1024,
            ..c
        })
        .await;
        let (_alice, a) = api.user("alice", "read write").await;
        let jpeg = encoded(&picture(200, 200, false), ImageFormat::Jpeg);
        let png = encoded(&picture(50, 50, false), ImageFormat::Png);
        let mut bomb = encoded(&picture(1, 1, false), ImageFormat::Png);
        bomb[16..20].copy_from_slice(&60_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&60_000u32.to_be_bytes());
        let noise: Vec<u8> = (0..260_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let big = {
            let mut b = png.clone();
            b.extend_from_slice(&noise);
            b
        };
        let cases: Vec<(&str, Part, u16)> = vec![
            (
                "truncated JPEG",
                file("t.jpg", "image/jpeg", jpeg[..jpeg.len() / 2].to_vec()),
                422,
            ),
            (
                "PNG claiming to be JPEG",
                file("x.jpg", "image/jpeg", png.clone()),
                422,
            ),
            (
                "text claiming to be PNG",
                file("x.png", "image/png", b"hello, not an image".to_vec()),
                422,
            ),
            (
                "decompression bomb",
                file("bomb.png", "image/png", bomb),
                422,
            ),
            (
                "over the size limit",
                file("big.png", "image/png", big),
                422,
            ),
            (
                "a PDF",
                file("doc.pdf", "application/pdf", b"%PDF-1.7\n%...".to_vec()),
                422,
            ),
            ("an empty file", file("e.png", "image/png", Vec::new()), 422),
            ("no file", Part::text("description", "nothing"), 422),
        ];
        for (what, part, status) in cases {
            for version in [1, 2] {
                let r = upload(
                    &api,
                    &a,
                    version,
                    vec![Part {
                        name: part.name,
                        file: part.file,
                        data: part.data.clone(),
                    }],
                )
                .await;
                assert_error(&r, status);
                assert!(
                    r.json["error"].as_str().unwrap().len() > 5,
                    "{what}: {}",
                    r.json
                );
            }
        }
        // A body far over every limit is cut off by the server.
        let huge = vec![0u8; 600 * 1024];
        let r = upload(&api, &a, 1, vec![file("huge.mp4", "video/mp4", huge)]).await;
        assert!(matches!(r.status.as_u16(), 413 | 422), "{}", r.status);
        assert!(
            files_on_disk(&api).is_empty(),
            "left behind: {:?}",
            files_on_disk(&api)
        );
        // Bad alt text and focus are refused too.
        let r = upload(
            &api,
            &a,
            1,
            vec![
                file("ok.png", "image/png", png.clone()),
                Part::text("focus", "3,0"),
            ],
        )
        .await;
        assert_error(&r, 422);
        let long = "x".repeat(1501);
        let r = upload(
            &api,
            &a,
            1,
            vec![
                file("ok.png", "image/png", png),
                Part::text("description", &long),
            ],
        )
        .await;
        assert_error(&r, 422);
        assert!(files_on_disk(&api).is_empty());
        let (_, read_only) = api.user("reader", "read").await;
        let r = upload(
            &api,
            &read_only,
            1,
            vec![file("ok.png", "image/png", Vec::from(&b"x"[..]))],
        )
        .await;
        assert_error(&r, 403);
    }
);

both_backends!(
    large_uploads_are_processed_after_202,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_alice, a) = api.user("alice", "read write").await;
        let (_bob, b) = api.user("bob", "read write").await;
        // Noise does not compress: a PNG of well over 1 MiB.
        let noisy = DynamicImage::ImageRgb8(image::RgbImage::from_fn(900, 900, |x, y| {
            let v = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).rotate_left(x % 31);
            image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
        }));
        let data = encoded(&noisy, ImageFormat::Png);
        assert!(data.len() > 1024 * 1024);
        let r = upload(&api, &a, 2, vec![file("big.png", "image/png", data)]).await;
        assert_eq!(r.status.as_u16(), 202, "{}", r.json);
        assert!(r.json["url"].is_null());
        let id = r.json["id"].as_str().unwrap().to_string();
        assert_error(
            &api.get(&format!("/api/v1/media/{id}"), Some(&b)).await,
            404,
        );
        let mut done = None;
        for _ in 0..200 {
            let r = api.get(&format!("/api/v1/media/{id}"), Some(&a)).await;
            match r.status.as_u16() {
                206 => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                200 => {
                    done = Some(r.json);
                    break;
                }
                other => panic!("{other}: {}", r.json),
            }
        }
        let m = done.expect("processed within 10 s");
        assert_eq!(m["meta"]["original"]["width"], 900);
        assert!(m["url"].is_string() && m["blurhash"].is_string());
        let (ct, _, _) = fetch(&api, m["url"].as_str().unwrap()).await;
        assert_eq!(ct, "image/png");
        assert!(
            !files_on_disk(&api).iter().any(|f| f.contains("pending")),
            "the received file is gone once processed"
        );
    }
);

both_backends!(attachments_on_posts, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (alice, a) = api.user("alice", "read write").await;
    let (_bob, b) = api.user("bob", "read write").await;
    let png = encoded(&picture(80, 60, false), ImageFormat::Png);
    let mut ids = Vec::new();
    for _ in 0..5 {
        let r = upload(&api, &a, 1, vec![file("p.png", "image/png", png.clone())]).await;
        ids.push(r.json["id"].as_str().unwrap().to_string());
    }
    let bobs = upload(&api, &b, 1, vec![file("p.png", "image/png", png.clone())])
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Alt text and focus change before posting.
    let r = api
        .call(
            Method::PUT,
            &format!("/api/v1/media/{}", ids[0]),
            Some(&a),
            B::Json(json!({"description": "Floor plan", "focus": "-0.5,0.5"})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    assert_eq!(r.json["description"], "Floor plan");
    assert_error(
        &api.call(
            Method::PUT,
            &format!("/api/v1/media/{}", ids[0]),
            Some(&b),
            B::Json(json!({"description": "mine"})),
        )
        .await,
        404,
    );

    for (media, what) in [
        (json!([ids[0], ids[1], ids[2], ids[3], ids[4]]), "five"),
        (json!([bobs]), "someone else's"),
        (json!(["12345"]), "unknown"),
    ] {
        let r = api
            .post(
                "/api/v1/statuses",
                Some(&a),
                B::Json(json!({"status": "x", "media_ids": media})),
            )
            .await;
        assert_error(&r, 422);
        assert!(r.json["error"].is_string(), "{what}");
    }
    // No text needed when there is media; the form shape works too.
    let r = api
        .post(
            "/api/v1/statuses",
            Some(&a),
            B::FormOwned(format!("media_ids[]={}&media_ids[]={}", ids[1], ids[0])),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    let att = r.json["media_attachments"].as_array().unwrap();
    assert_eq!(att.len(), 2);
    assert_eq!(
        (att[0]["id"].clone(), att[1]["id"].clone()),
        (json!(ids[1]), json!(ids[0]))
    );
    assert_eq!(att[1]["description"], "Floor plan");
    let sid = r.json["id"].as_str().unwrap().to_string();
    let again = api
        .post(
            "/api/v1/statuses",
            Some(&a),
            B::Json(json!({"status": "again", "media_ids": [ids[0]]})),
        )
        .await;
    assert_error(&again, 422);
    assert_error(
        &api.call(
            Method::DELETE,
            &format!("/api/v1/media/{}", ids[0]),
            Some(&a),
            B::None,
        )
        .await,
        422,
    );
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/media/{}", ids[4]),
            Some(&a),
            B::None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);

    api.post(
        "/api/v1/statuses",
        Some(&a),
        B::Json(json!({"status": "text only"})),
    )
    .await;
    let only: Vec<Value> = api
        .get(
            &format!("/api/v1/accounts/{}/statuses?only_media=true", alice.id),
            Some(&b),
        )
        .await
        .json
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["id"], sid.as_str());
});

both_backends!(profile_pictures_and_cleanup, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (alice, a) = api.user("alice", "read write").await;
    let r = api
        .call(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&a),
            B::Files(vec![
                Part::file(
                    "avatar",
                    "me.png",
                    "image/png",
                    encoded(&picture(1000, 800, false), ImageFormat::Png),
                ),
                Part::file(
                    "header",
                    "banner.jpg",
                    "image/jpeg",
                    encoded(&picture(3000, 1200, false), ImageFormat::Jpeg),
                ),
                Part::text("display_name", "Alice A."),
            ]),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    assert_eq!(r.json["display_name"], "Alice A.");
    let (_, avatar, _) = fetch(&api, r.json["avatar"].as_str().unwrap()).await;
    let img = image::load_from_memory(&avatar).unwrap();
    assert_eq!((img.width(), img.height()), (400, 400));
    let (_, header, _) = fetch(&api, r.json["header"].as_str().unwrap()).await;
    let img = image::load_from_memory(&header).unwrap();
    assert_eq!((img.width(), img.height()), (1500, 500));
    let old = r.json["avatar"].as_str().unwrap().to_string();
    let r = api
        .call(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&a),
            B::Files(vec![Part::file(
                "avatar",
                "x.txt",
                "image/png",
                b"not a picture".to_vec(),
            )]),
        )
        .await;
    assert_error(&r, 422);
    let r = api
        .call(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&a),
            B::Files(vec![Part::file(
                "avatar",
                "me2.png",
                "image/png",
                encoded(&picture(100, 100, true), ImageFormat::Png),
            )]),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    assert_ne!(r.json["avatar"], old);
    assert_eq!(
        api.get(old.split_once("8080").unwrap().1, None)
            .await
            .status
            .as_u16(),
        404,
        "the replaced avatar is removed"
    );
    let actor = api
        .call_with(
            Method::GET,
            "/users/alice",
            None,
            &[("accept", "application/activity+json")],
            B::None,
        )
        .await
        .json;
    assert_eq!(
        actor["icon"]["url"], r.json["avatar"],
        "federated as the actor's icon"
    );
    let _ = alice;

    // Groups get pictures the same way, from their moderators only.
    let group = api
        .ok(
            "/api/v1/groups",
            &a,
            B::Json(json!({"name": "ops", "display_name": "Ops"})),
        )
        .await;
    let gid = group["id"].as_str().unwrap().to_string();
    let pic = || {
        B::Files(vec![Part::file(
            "avatar",
            "g.png",
            "image/png",
            encoded(&picture(500, 500, false), ImageFormat::Png),
        )])
    };
    let (_, other) = api.user("mallory", "read write").await;
    assert_error(
        &api.call(
            Method::PATCH,
            &format!("/api/v1/groups/{gid}"),
            Some(&other),
            pic(),
        )
        .await,
        403,
    );
    let r = api
        .call(
            Method::PATCH,
            &format!("/api/v1/groups/{gid}"),
            Some(&a),
            pic(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    let (_, bytes, _) = fetch(&api, r.json["avatar"].as_str().unwrap()).await;
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (400, 400));
    let r = api
        .call(
            Method::PATCH,
            &format!("/api/v1/groups/{gid}"),
            Some(&a),
            B::Json(json!({"display_name": "Ops team"})),
        )
        .await;
    assert_eq!(
        r.json["display_name"], "Ops team",
        "JSON updates still work"
    );

    // Uploads never attached are removed after a day, files and all.
    let png = encoded(&picture(20, 20, false), ImageFormat::Png);
    let id = upload(&api, &a, 1, vec![file("o.png", "image/png", png)])
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    let before = files_on_disk(&api).len();
    api.app
        .state
        .db
        .run(move |c| {
            use meetfield::db::schema::media_attachments as m;
            diesel::update(m::table.find(id))
                .set(m::created_at.eq(meetfield::db::now() - chrono::Duration::hours(25)))
                .execute(c)
                .map_err(meetfield::error::AppError::from)
        })
        .await
        .unwrap();
    let (orphans, _) = meetfield::domain::media::maintain(&api.app.state)
        .await
        .unwrap();
    assert_eq!(orphans, 1);
    assert_eq!(
        files_on_disk(&api).len(),
        before - 2,
        "original and thumbnail removed"
    );
    assert_error(
        &api.get(&format!("/api/v1/media/{id}"), Some(&a)).await,
        404,
    );
});

both_backends!(
    processing_interrupted_by_a_crash_resumes,
    |tdb: TestDb| async move {
        // An upload accepted (202) whose processing never ran, as after a
        // crash: the row says `processing`, the received file waits under
        // `pending/`. Housekeeping processes it.
        let api = Api::new(tdb).await;
        let (alice, a) = api.user("alice", "read write").await;
        let png = encoded(&picture(300, 200, false), ImageFormat::Png);
        let id = meetfield::db::id::next_id();
        api.app
            .state
            .storage
            .put(&format!("pending/{id}"), png)
            .await
            .unwrap();
        let owner = alice.id;
        api.app
            .state
            .db
            .run(move |c| {
                use meetfield::db::schema::media_attachments as m;
                let before = meetfield::db::now() - chrono::Duration::minutes(5);
                diesel::insert_into(m::table)
                    .values((
                        m::id.eq(id),
                        m::account_id.eq(owner),
                        m::kind.eq("image"),
                        m::content_type.eq("image/png"),
                        m::state.eq("processing"),
                        m::file_key.eq(Some(format!("pending/{id}"))),
                        m::created_at.eq(before),
                        m::updated_at.eq(before),
                    ))
                    .execute(c)
                    .map_err(meetfield::error::AppError::from)
            })
            .await
            .unwrap();
        assert_eq!(
            api.get(&format!("/api/v1/media/{id}"), Some(&a))
                .await
                .status
                .as_u16(),
            206
        );
        let (_, resumed) = meetfield::domain::media::maintain(&api.app.state)
            .await
            .unwrap();
        assert_eq!(resumed, 1);
        let r = api.get(&format!("/api/v1/media/{id}"), Some(&a)).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.json);
        assert_eq!(r.json["meta"]["original"]["width"], 300);
        assert!(files_on_disk(&api).iter().all(|f| !f.contains("pending")));
    }
);

both_backends!(
    remote_media_at_private_ip_addresses_is_not_fetched,
    |tdb: TestDb| async move {
        // The validating resolver sees only names: an address written out
        // (as a hostile partner would) is checked on its own.
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let h = hits.clone();
        let app = axum::Router::new().fallback(move || {
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { encoded(&picture(10, 10, false), ImageFormat::Png) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let api = Api::new(tdb).await;
        let (owner, a) = api.user("ana", "read write").await;
        let post = api
            .ok("/api/v1/statuses", &a, B::Json(json!({"status": "x"})))
            .await;
        let sid: i64 = post["id"].as_str().unwrap().parse().unwrap();
        let attachment = json!([{"type": "Document", "mediaType": "image/png",
            "url": format!("http://{addr}/x.png")}]);
        api.app
            .state
            .db
            .run(move |c| {
                meetfield::domain::media::store_remote(c, sid, owner.id, Some(&attachment))
                    .map_err(meetfield::error::AppError::from)
            })
            .await
            .unwrap();
        let cached = meetfield::domain::media::cache_remote(&api.app.state, sid)
            .await
            .unwrap();
        assert_eq!(cached, 0);
        let error: Option<String> = api
            .app
            .state
            .db
            .run(move |c| {
                use meetfield::db::schema::media_attachments as m;
                m::table
                    .filter(m::status_id.eq(sid))
                    .select(m::error)
                    .first(c)
                    .map_err(meetfield::error::AppError::from)
            })
            .await
            .unwrap();
        assert!(
            error
                .as_deref()
                .unwrap_or("")
                .contains("not a public address"),
            "{error:?}"
        );
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
);
