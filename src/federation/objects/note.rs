use activitypub_federation::config::Data;
use activitypub_federation::protocol::verification::verify_domains_match;
use activitypub_federation::traits::Object;
use serde_json::{Value, json};
use url::Url;

use crate::app::AppState;
use crate::db::DbConn;
use crate::db::models::{Account, Status};
use crate::domain::statuses;
use crate::error::{AppError, AppResult};
use crate::federation::protocol::note::{NoteJson, Visibility, addressing};
use crate::federation::urls;

/// A status as an ActivityPub object.
#[derive(Debug, Clone)]
pub struct ApubNote {
    pub status: Status,
    id: Url,
}

impl ApubNote {
    pub fn new(status: Status) -> AppResult<Self> {
        let id = Url::parse(&status.uri)?;
        Ok(ApubNote { status, id })
    }
}

/// The Note of a local status, with its audience.
pub fn local_note(
    conn: &mut DbConn,
    status: &Status,
    author: &Account,
    base: &str,
) -> AppResult<NoteJson> {
    let mentioned: Vec<Account> = Status::mentioned_ids(conn, status.id)?
        .into_iter()
        .map(|id| Account::by_id(conn, id))
        .collect::<Result<_, _>>()?;
    let tags = Status::tags(conn, status.id)?;
    let visibility = Visibility::parse(&status.visibility).unwrap_or(Visibility::Direct);
    let mention_uris: Vec<String> = mentioned.iter().map(|a| a.uri.clone()).collect();
    let (to, cc) = addressing(visibility, &urls::followers(&author.uri), &mention_uris);
    let mut tag: Vec<Value> = mentioned
        .iter()
        .map(|a| {
            let name = match &a.domain {
                Some(d) => format!("@{}@{}", a.username, d),
                None => format!(
                    "@{}@{}",
                    a.username,
                    base.split("://").nth(1).unwrap_or(base)
                ),
            };
            json!({ "type": "Mention", "href": a.uri, "name": name })
        })
        .collect();
    tag.extend(tags.iter().map(|t| {
        json!({ "type": "Hashtag", "href": format!("{base}/tags/{t}"), "name": format!("#{t}") })
    }));
    let question = crate::domain::polls::question_fields(conn, status.id)?;
    let answer = crate::domain::answers::of_statuses(conn, &[status.id])?.remove(&status.id);
    let accepted_uri = match &answer {
        Some((rid, _)) => Some(Status::by_id(conn, *rid)?.uri),
        None => None,
    };
    let content = crate::domain::answers::shown_content(status, answer.as_ref());
    let field = |k: &str| question.as_ref().and_then(|q| q.get(k).cloned());
    Ok(NoteJson {
        one_of: field("oneOf"),
        any_of: field("anyOf"),
        end_time: field("endTime"),
        closed: field("closed"),
        voters_count: field("votersCount"),
        id: Url::parse(&status.uri)?,
        kind: if question.is_some() {
            "Question"
        } else {
            "Note"
        }
        .into(),
        attributed_to: Some(Value::String(author.uri.clone())),
        content_map: status
            .language
            .as_ref()
            .map(|l| json!({ l.clone(): content.clone() })),
        content: Some(content),
        accepted_answer: accepted_uri.map(Value::String),
        name: None,
        summary: Some(status.spoiler_text.clone()).filter(|s| !s.is_empty()),
        sensitive: Some(status.sensitive),
        in_reply_to: Some(
            status
                .in_reply_to_uri
                .clone()
                .map(Value::String)
                .unwrap_or(Value::Null),
        ),
        to: Some(json!(to)),
        cc: Some(json!(cc)),
        published: Some(json!(
            status
                .created_at
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )),
        updated: status.edited_at.map(|t| {
            json!(
                t.and_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        }),
        url: status.url.clone().map(Value::String),
        tag: Some(Value::Array(tag)),
        // FEP-1b12: a post to a group names it as its audience.
        audience: mentioned
            .iter()
            .find(|a| a.actor_type == "Group")
            .map(|g| Value::String(g.uri.clone())),
        attachment: Some(crate::domain::media::note_attachments(
            conn, base, status.id,
        )?),
        replies: None,
    })
}

#[async_trait::async_trait]
impl Object for ApubNote {
    type DataType = AppState;
    type Kind = NoteJson;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.id
    }

    async fn read_from_id(object_id: Url, data: &Data<AppState>) -> AppResult<Option<Self>> {
        let uri = object_id.to_string();
        let found = data
            .db
            .run(move |c| Status::by_uri(c, &uri).map_err(AppError::from))
            .await?;
        found
            .filter(|s| s.reblog_of_id.is_none())
            .map(ApubNote::new)
            .transpose()
    }

    async fn into_json(self, data: &Data<AppState>) -> AppResult<NoteJson> {
        let base = data.base_url();
        let status = self.status;
        data.db
            .run(move |c| {
                let author = Account::by_id(c, status.account_id)?;
                local_note(c, &status, &author, &base)
            })
            .await
    }

    async fn verify(
        json: &NoteJson,
        expected_domain: &Url,
        _data: &Data<AppState>,
    ) -> AppResult<()> {
        verify_domains_match(&json.id, expected_domain)?;
        let author = json
            .author()
            .ok_or_else(|| AppError::BadRequest(format!("{} has no author", json.id)))?;
        verify_domains_match(&json.id, &author)?;
        Ok(())
    }

    async fn from_json(json: NoteJson, data: &Data<AppState>) -> AppResult<Self> {
        ApubNote::new(statuses::store_remote_note(data, json).await?)
    }
}
