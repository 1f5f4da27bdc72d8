//! `POST /api/v1/media`, `POST /api/v2/media`, `GET|PUT|DELETE
//! /api/v1/media/:id`, and the multipart file extractor they share with
//! profile pictures.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{ctx, entities, parse_id};
use crate::api::extract::{Auth, Params};
use crate::app::AppState;
use crate::domain::media::{self, Attachment, UploadMeta};
use crate::error::{AppError, AppResult};

/// A file part of a multipart body.
#[derive(Debug, Clone)]
pub struct FilePart {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
}

/// A multipart body: its file parts by field name and its text fields.
#[derive(Debug, Default)]
pub struct Upload {
    pub files: Vec<(String, FilePart)>,
    pub fields: Vec<(String, String)>,
}

impl Upload {
    pub fn file(&mut self, name: &str) -> Option<FilePart> {
        let i = self.files.iter().position(|(n, _)| n == name)?;
        Some(self.files.remove(i).1)
    }

    pub fn field(&self, name: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> AppResult<Self> {
        let mut mp = Multipart::from_request(req, state).await.map_err(|e| {
            AppError::Unprocessable(format!("Validation failed: {}", e.body_text()))
        })?;
        let mut out = Upload::default();
        while let Some(field) = mp.next_field().await.map_err(|e| {
            // An oversized body ends the stream with a length error.
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge("File is too large".into())
            } else {
                AppError::Unprocessable(format!("Validation failed: {}", e.body_text()))
            }
        })? {
            let name = field.name().unwrap_or_default().to_string();
            if field.file_name().is_some() {
                let content_type = field.content_type().map(str::to_string);
                let bytes = field.bytes().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        AppError::PayloadTooLarge("File is too large".into())
                    } else {
                        AppError::Unprocessable(format!("Validation failed: {}", e.body_text()))
                    }
                })?;
                out.files.push((
                    name,
                    FilePart {
                        bytes: bytes.to_vec(),
                        content_type,
                    },
                ));
            } else {
                let value = field
                    .text()
                    .await
                    .map_err(|e| AppError::BadRequest(e.body_text()))?;
                out.fields.push((name, value));
            }
        }
        crate::api::extract::refuse_nul_pairs(&out.fields)?;
        Ok(out)
    }
}

/// Parameters as [`Params`] reads them, plus the files of a multipart body
/// (profile pictures).
pub struct WithFiles<T>(pub T, pub Upload);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for WithFiles<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> AppResult<Self> {
        let multipart = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
        if !multipart {
            let Params(t) = Params::from_request(req, state).await?;
            return Ok(WithFiles(t, Upload::default()));
        }
        let up = Upload::from_request(req, state).await?;
        let encoded = serde_html_form::to_string(&up.fields)
            .map_err(|e| AppError::Unprocessable(format!("Validation failed: {e}")))?;
        let t = serde_html_form::from_str(&encoded)
            .map_err(|e| AppError::Unprocessable(format!("Validation failed: {e}")))?;
        Ok(WithFiles(t, up))
    }
}

/// Stores the `avatar` and `header` files of an upload for `account`;
/// returns their URLs.
pub async fn profile_images(
    state: &AppState,
    account: &crate::db::models::Account,
    up: &mut Upload,
) -> AppResult<(Option<String>, Option<String>)> {
    use crate::domain::media::{ProfileImage, store_profile_image};
    let mut urls = (None, None);
    if let Some(f) = up.file("avatar") {
        urls.0 = Some(
            store_profile_image(
                state,
                account,
                ProfileImage::Avatar,
                f.bytes,
                f.content_type,
                account.avatar_url.clone(),
            )
            .await?,
        );
    }
    if let Some(f) = up.file("header") {
        urls.1 = Some(
            store_profile_image(
                state,
                account,
                ProfileImage::Header,
                f.bytes,
                f.content_type,
                account.header_url.clone(),
            )
            .await?,
        );
    }
    Ok(urls)
}

/// `/media/…`: the files, from the media folder, with long caching (a
/// key never changes its content) and no sniffing or scripting.
pub fn files(state: &AppState) -> axum::Router<AppState> {
    use axum::http::{HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    let dir = tower_http::services::ServeDir::new(state.config.media_root().join("media"));
    let service = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        ))
        .service(dir);
    axum::Router::new().nest_service("/media", service)
}

fn render(state: &AppState, a: &Attachment) -> Value {
    entities::media_attachment(&ctx(state), a)
}

async fn create(state: AppState, auth: Auth, mut up: Upload, later: bool) -> AppResult<Response> {
    auth.require("write:media")?;
    let file = up
        .file("file")
        .ok_or_else(|| AppError::Unprocessable("Validation failed: File can't be blank".into()))?;
    let meta = UploadMeta {
        description: up.field("description"),
        focus: up.field("focus"),
    };
    let a = media::upload(
        &state,
        &auth.account,
        file.bytes,
        file.content_type,
        meta,
        later,
    )
    .await?;
    let status = if a.state == "processing" {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(render(&state, &a))).into_response())
}

/// v1: processed before the answer.
pub async fn create_v1(
    State(state): State<AppState>,
    auth: Auth,
    up: Upload,
) -> AppResult<Response> {
    create(state, auth, up, false).await
}

/// v2: large images are processed after the answer (202, `url` null until
/// `GET /api/v1/media/:id` answers 200).
pub async fn create_v2(
    State(state): State<AppState>,
    auth: Auth,
    up: Upload,
) -> AppResult<Response> {
    create(state, auth, up, true).await
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Response> {
    auth.require("write:media")?;
    let (owner, aid) = (auth.account.id, parse_id(&id)?);
    let a = state.db.run(move |c| media::owned(c, owner, aid)).await?;
    match a.state.as_str() {
        // Mastodon answers 206 while processing goes on.
        "processing" => Ok((StatusCode::PARTIAL_CONTENT, Json(render(&state, &a))).into_response()),
        "failed" => Err(AppError::Unprocessable(format!(
            "Error processing thumbnail for uploaded media: {}",
            a.error.unwrap_or_default()
        ))),
        _ => Ok(Json(render(&state, &a)).into_response()),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct UpdateForm {
    description: Option<String>,
    focus: Option<String>,
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(f): Params<UpdateForm>,
) -> AppResult<Json<Value>> {
    auth.require("write:media")?;
    let a = media::update(
        &state,
        &auth.account,
        parse_id(&id)?,
        UploadMeta {
            description: f.description,
            focus: f.focus,
        },
    )
    .await?;
    Ok(Json(render(&state, &a)))
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:media")?;
    let aid = parse_id(&id)?;
    let owner = auth.account.id;
    let a = state.db.run(move |c| media::owned(c, owner, aid)).await?;
    media::delete_unattached(&state, &auth.account, aid).await?;
    Ok(Json(render(&state, &a)))
}
