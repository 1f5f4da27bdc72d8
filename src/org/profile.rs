//! The organization's profile schema (Department, Role, Skills, …) and the
//! searchable terms of every profile, local or remote.
//!
//! Fields stay ordinary Mastodon fields (`name`/`value` pairs), so every app
//! and every server shows them. The schema decides their names, order and
//! kind, and which ones only an admin or a directory sync may fill. Terms are
//! what the directory and "who knows X?" search: one row per (field, term),
//! normalized; skill synonyms are applied when searching, so adding one
//! needs no reindexing.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{profile_fields, profile_terms, profile_vocabulary, skill_synonyms};
use crate::db::{DbConn, id, now};
use crate::domain::html;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    /// Several values, comma-separated (Skills, Languages).
    List,
    /// One of the admin's choices.
    Choice,
}

impl FieldKind {
    pub fn parse(s: &str) -> AppResult<FieldKind> {
        match s {
            "text" => Ok(FieldKind::Text),
            "list" => Ok(FieldKind::List),
            "choice" => Ok(FieldKind::Choice),
            other => Err(AppError::Unprocessable(format!(
                "Validation failed: kind '{other}' is not one of text, list, choice"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::List => "list",
            FieldKind::Choice => "choice",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = profile_fields)]
pub struct ProfileField {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub choices: String,
    pub managed: bool,
    pub position: i32,
    pub created_at: NaiveDateTime,
}

impl ProfileField {
    pub fn kind(&self) -> FieldKind {
        FieldKind::parse(&self.kind).unwrap_or(FieldKind::Text)
    }

    pub fn choices(&self) -> Vec<String> {
        serde_json::from_str(&self.choices).unwrap_or_default()
    }

    fn is_list(&self) -> bool {
        self.kind() == FieldKind::List
            || matches!(facet_of(&self.name), Some(f) if LIST_FACETS.contains(&f))
    }
}

/// The organization's fields, in the order profiles show them.
pub fn schema(c: &mut DbConn) -> QueryResult<Vec<ProfileField>> {
    profile_fields::table
        .order((profile_fields::position, profile_fields::id))
        .select(ProfileField::as_select())
        .load(c)
}

const FIELD_NAME_MAX: usize = 255;

/// An admin adds a field to the schema (at the end).
pub fn add_field(
    c: &mut DbConn,
    name: &str,
    kind: FieldKind,
    choices: &[String],
    managed: bool,
) -> AppResult<ProfileField> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > FIELD_NAME_MAX {
        return Err(AppError::Unprocessable(format!(
            "Validation failed: a field name has 1 to {FIELD_NAME_MAX} characters"
        )));
    }
    let choices: Vec<String> = choices
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    if kind == FieldKind::Choice && choices.is_empty() {
        return Err(AppError::Unprocessable(
            "Validation failed: a choice field needs --choices".into(),
        ));
    }
    if kind != FieldKind::Choice && !choices.is_empty() {
        return Err(AppError::Unprocessable(
            "Validation failed: only a choice field takes --choices".into(),
        ));
    }
    let existing = schema(c)?;
    if existing.iter().any(|f| f.name.eq_ignore_ascii_case(name)) {
        return Err(AppError::Conflict(format!(
            "Profile field {name} exists already"
        )));
    }
    let position = existing.iter().map(|f| f.position).max().unwrap_or(0) + 1;
    let fid = id::next_id();
    diesel::insert_into(profile_fields::table)
        .values((
            profile_fields::id.eq(fid),
            profile_fields::name.eq(name),
            profile_fields::kind.eq(kind.as_str()),
            profile_fields::choices.eq(serde_json::to_string(&choices).unwrap_or_default()),
            profile_fields::managed.eq(managed),
            profile_fields::position.eq(position),
            profile_fields::created_at.eq(now()),
        ))
        .execute(c)?;
    Ok(profile_fields::table
        .find(fid)
        .select(ProfileField::as_select())
        .first(c)?)
}

/// Removes a field from the schema; profiles keep what they say (as a free
/// field from then on).
pub fn remove_field(c: &mut DbConn, name: &str) -> AppResult<()> {
    let field = schema(c)?
        .into_iter()
        .find(|f| f.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| AppError::NotFound(format!("No profile field {name}")))?;
    diesel::delete(profile_fields::table.find(field.id)).execute(c)?;
    Ok(())
}

/// A field value to store: kept as it is stored (HTML), or new plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Stored(String),
    Plain(String),
}

/// Who edits: the user (managed fields are read-only), or an admin or a
/// directory sync (everything may change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Editor {
    #[default]
    User,
    Admin,
}

/// The fields a profile will have after an edit: the organization's first,
/// in the schema's order and spelling, then the user's free fields in the
/// order sent. `current` are the stored `(name, html)` pairs, `submitted`
/// the `(name, plain text)` pairs an app sent (Mastodon semantics: the
/// whole list, so a field not sent is removed, except a managed one).
pub fn merge_fields(
    schema: &[ProfileField],
    current: &[(String, String)],
    submitted: &[(String, String)],
    editor: Editor,
    max: usize,
) -> AppResult<Vec<(String, FieldValue)>> {
    let mut out = Vec::new();
    let named = |list: &[(String, String)], name: &str| {
        list.iter()
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    for f in schema {
        let sent = named(submitted, &f.name).map(|v| v.trim().to_string());
        if f.managed && editor == Editor::User {
            let kept = named(current, &f.name);
            let shown = kept.as_deref().map(html::strip_tags).unwrap_or_default();
            if let Some(v) = sent.as_deref()
                && !v.is_empty()
                && v != shown.trim()
            {
                return Err(AppError::Unprocessable(format!(
                    "Validation failed: {} is managed by the organization",
                    f.name
                )));
            }
            if let Some(k) = kept {
                out.push((f.name.clone(), FieldValue::Stored(k)));
            }
            continue;
        }
        let Some(v) = sent.filter(|v| !v.is_empty()) else {
            continue;
        };
        let v = match f.kind() {
            FieldKind::Choice => f
                .choices()
                .into_iter()
                .find(|c| c.eq_ignore_ascii_case(&v))
                .ok_or_else(|| {
                    AppError::Unprocessable(format!(
                        "Validation failed: {} must be one of: {}",
                        f.name,
                        f.choices().join(", ")
                    ))
                })?,
            _ if f.is_list() => split_list(&v).join(", "),
            FieldKind::Text | FieldKind::List => v,
        };
        out.push((f.name.clone(), FieldValue::Plain(v)));
    }
    for (n, v) in submitted {
        let (n, v) = (n.trim(), v.trim());
        if (n.is_empty() && v.is_empty()) || schema.iter().any(|f| f.name.eq_ignore_ascii_case(n)) {
            continue;
        }
        out.push((n.to_string(), FieldValue::Plain(v.to_string())));
    }
    if out.len() > max {
        return Err(AppError::Unprocessable(format!(
            "Validation failed: Fields is too long (maximum is {max} fields)"
        )));
    }
    Ok(out)
}

/// Items of a list value: "Rust, k8s;  Go" → ["Rust", "k8s", "Go"], each once.
pub fn split_list(v: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    v.split([',', ';', '\n', '·', '|'])
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty() && seen.insert(s.to_lowercase()))
        .collect()
}

/// A term as the index keeps it: lower case, single spaces.
pub fn normalize(term: &str) -> String {
    term.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Facets every Meetfield instance understands, whatever a field is called
/// (partners name theirs differently, or in another language).
pub const DEPARTMENT: &str = "department";
pub const ROLE: &str = "role";
pub const SKILLS: &str = "skills";
pub const LOCATION: &str = "location";
pub const LANGUAGES: &str = "languages";
const LIST_FACETS: &[&str] = &[SKILLS, LANGUAGES];
/// The index's key for featured hashtags (no field name normalizes to it).
pub const FEATURED_TAG: &str = "#tag";

/// The facet a field name stands for, if it is a well-known one.
pub fn facet_of(name: &str) -> Option<&'static str> {
    Some(match normalize(name).as_str() {
        "department" | "dept" | "team" | "unit" | "division" | "group" | "abteilung"
        | "département" => DEPARTMENT,
        "role" | "title" | "job title" | "job" | "position" | "function" | "rolle" => ROLE,
        "skills" | "skill" | "expertise" | "knows about" | "topics" | "competences"
        | "kompetenzen" | "compétences" => SKILLS,
        "location" | "office" | "site" | "city" | "standort" => LOCATION,
        "languages" | "language" | "sprachen" | "langues" => LANGUAGES,
        _ => return None,
    })
}

/// What a remote actor says in schema.org terms, beside its fields.
#[derive(Debug, Clone, Default)]
pub struct SchemaOrg {
    pub job_title: Option<String>,
    pub knows_about: Vec<String>,
    pub member_of: Vec<String>,
}

/// The `(field, display)` terms of a profile: its fields by facet (or by
/// their own lower-cased name), list values split, plus schema.org terms.
pub fn terms_of(
    schema: &[ProfileField],
    fields: &[(String, String)],
    extra: &SchemaOrg,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in fields {
        let plain = html::strip_tags(value);
        let key = facet_of(name)
            .map(str::to_string)
            .unwrap_or_else(|| normalize(name));
        if key.is_empty() || key.starts_with('#') {
            continue;
        }
        let is_list = schema
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name.trim()))
            .map(ProfileField::is_list)
            .unwrap_or_else(|| LIST_FACETS.contains(&key.as_str()));
        if is_list {
            out.extend(split_list(&plain).into_iter().map(|t| (key.clone(), t)));
        } else if !plain.trim().is_empty() {
            out.push((key, plain.trim().to_string()));
        }
    }
    out.extend(
        extra
            .knows_about
            .iter()
            .map(|s| (SKILLS.to_string(), s.clone())),
    );
    out.extend(
        extra
            .job_title
            .iter()
            .map(|s| (ROLE.to_string(), s.clone())),
    );
    out.extend(
        extra
            .member_of
            .iter()
            .map(|s| (DEPARTMENT.to_string(), s.clone())),
    );
    out
}

/// Replaces the indexed terms of an account.
pub fn reindex(c: &mut DbConn, account_id: i64, terms: &[(String, String)]) -> QueryResult<()> {
    diesel::delete(profile_terms::table.filter(profile_terms::account_id.eq(account_id)))
        .execute(c)?;
    let mut seen = HashSet::new();
    for (field, display) in terms {
        let term: String = normalize(display).chars().take(200).collect();
        if term.is_empty() || !seen.insert((field.clone(), term.clone())) {
            continue;
        }
        diesel::insert_into(profile_terms::table)
            .values((
                profile_terms::account_id.eq(account_id),
                profile_terms::field.eq(field),
                profile_terms::term.eq(&term),
                profile_terms::display.eq(display.trim()),
            ))
            .execute(c)?;
        add_to_vocabulary(c, &term)?;
    }
    Ok(())
}

/// Remembers a term for typo-tolerant matching (once; nodes may race).
fn add_to_vocabulary(c: &mut DbConn, term: &str) -> QueryResult<()> {
    let insert =
        diesel::insert_into(profile_vocabulary::table).values(profile_vocabulary::term.eq(term));
    match c {
        DbConn::Sqlite(lite) => insert.on_conflict_do_nothing().execute(lite)?,
        DbConn::Postgres(pg) => insert.on_conflict_do_nothing().execute(pg)?,
    };
    Ok(())
}

/// Forgets terms no profile uses any more (housekeeping).
pub fn prune_vocabulary(c: &mut DbConn) -> QueryResult<usize> {
    diesel::delete(
        profile_vocabulary::table.filter(
            profile_vocabulary::term.ne_all(profile_terms::table.select(profile_terms::term)),
        ),
    )
    .execute(c)
}

/// Stored `(name, html)` pairs of an account's fields column.
pub fn stored_fields(fields_json: &str) -> Vec<(String, String)> {
    serde_json::from_str::<Vec<serde_json::Value>>(fields_json)
        .unwrap_or_default()
        .iter()
        .filter_map(|f| {
            Some((
                f.get("name")?.as_str()?.to_string(),
                f.get("value")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

/// Rebuilds an account's terms from its stored fields, its featured tags
/// (and what else it said).
pub fn reindex_account(
    c: &mut DbConn,
    account_id: i64,
    fields_json: &str,
    extra: &SchemaOrg,
) -> QueryResult<()> {
    let schema = schema(c)?;
    let mut terms = terms_of(&schema, &stored_fields(fields_json), extra);
    terms.extend(
        crate::domain::tags::featured_names(c, account_id)?
            .into_iter()
            .map(|(_, display)| (FEATURED_TAG.to_string(), display)),
    );
    reindex(c, account_id, &terms)
}

/// Every indexed form that means `skill`: the skill itself, what it is an
/// alias of, and that skill's other aliases.
pub fn skill_forms(c: &mut DbConn, skill: &str) -> QueryResult<Vec<String>> {
    let t = normalize(skill);
    let canonical: String = skill_synonyms::table
        .find(&t)
        .select(skill_synonyms::skill)
        .first(c)
        .optional()?
        .unwrap_or_else(|| t.clone());
    let mut forms: Vec<String> = skill_synonyms::table
        .filter(skill_synonyms::skill.eq(&canonical))
        .select(skill_synonyms::alias)
        .load(c)?;
    forms.push(canonical);
    forms.push(t);
    forms.sort();
    forms.dedup();
    Ok(forms)
}

pub fn add_synonym(c: &mut DbConn, alias: &str, skill: &str) -> AppResult<()> {
    let (alias, skill) = (normalize(alias), normalize(skill));
    if alias.is_empty() || skill.is_empty() {
        return Err(AppError::Unprocessable(
            "Validation failed: alias and skill must not be empty".into(),
        ));
    }
    if alias == skill {
        return Err(AppError::Unprocessable(
            "Validation failed: a skill is not its own alias".into(),
        ));
    }
    // One level only: an alias of an alias points at the end skill.
    let skill: String = skill_synonyms::table
        .find(&skill)
        .select(skill_synonyms::skill)
        .first(c)
        .optional()?
        .unwrap_or(skill);
    diesel::delete(skill_synonyms::table.find(&alias)).execute(c)?;
    diesel::update(skill_synonyms::table.filter(skill_synonyms::skill.eq(&alias)))
        .set(skill_synonyms::skill.eq(&skill))
        .execute(c)?;
    diesel::insert_into(skill_synonyms::table)
        .values((
            skill_synonyms::alias.eq(&alias),
            skill_synonyms::skill.eq(&skill),
        ))
        .execute(c)?;
    Ok(())
}

pub fn remove_synonym(c: &mut DbConn, alias: &str) -> AppResult<()> {
    let n = diesel::delete(skill_synonyms::table.find(normalize(alias))).execute(c)?;
    if n == 0 {
        return Err(AppError::NotFound(format!("No synonym {alias}")));
    }
    Ok(())
}

pub fn synonyms(c: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    skill_synonyms::table
        .order(skill_synonyms::alias)
        .select((skill_synonyms::alias, skill_synonyms::skill))
        .load(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: FieldKind, choices: &[&str], managed: bool) -> ProfileField {
        ProfileField {
            id: 1,
            name: name.into(),
            kind: kind.as_str().into(),
            choices: serde_json::to_string(&choices).unwrap(),
            managed,
            position: 1,
            created_at: now(),
        }
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn organization_fields_first_in_schema_order_then_free_ones() {
        let schema = vec![
            field("Department", FieldKind::Text, &[], true),
            field("Skills", FieldKind::List, &[], false),
            field("Location", FieldKind::Choice, &["Berlin", "Lyon"], false),
        ];
        let current = pairs(&[("Department", "Research")]);
        let sent = pairs(&[
            ("Pronouns", "she/her"),
            ("location", "lyon"),
            ("skills", "Rust,  k8s; rust"),
            ("Department", "Research"),
        ]);
        let out = merge_fields(&schema, &current, &sent, Editor::User, 10).unwrap();
        assert_eq!(
            out,
            vec![
                ("Department".into(), FieldValue::Stored("Research".into())),
                ("Skills".into(), FieldValue::Plain("Rust, k8s".into())),
                ("Location".into(), FieldValue::Plain("Lyon".into())),
                ("Pronouns".into(), FieldValue::Plain("she/her".into())),
            ]
        );
        // A managed field cannot be changed by its user, only kept.
        let e = merge_fields(
            &schema,
            &current,
            &pairs(&[("Department", "Sales")]),
            Editor::User,
            10,
        )
        .unwrap_err();
        assert!(e.to_string().contains("managed"), "{e}");
        let kept = merge_fields(&schema, &current, &[], Editor::User, 10).unwrap();
        assert_eq!(kept.len(), 1);
        let by_admin = merge_fields(
            &schema,
            &current,
            &pairs(&[("Department", "Sales")]),
            Editor::Admin,
            10,
        )
        .unwrap();
        assert_eq!(by_admin[0].1, FieldValue::Plain("Sales".into()));
        // Choices and the limit.
        let e = merge_fields(
            &schema,
            &[],
            &pairs(&[("Location", "Paris")]),
            Editor::User,
            10,
        )
        .unwrap_err();
        assert!(e.to_string().contains("Berlin, Lyon"), "{e}");
        let many: Vec<(String, String)> = (0..5).map(|i| (format!("f{i}"), "x".into())).collect();
        assert!(merge_fields(&schema, &[], &many, Editor::User, 4).is_err());
    }

    #[test]
    fn terms_by_facet_with_lists_split() {
        let terms = terms_of(
            &[],
            &pairs(&[
                ("Team", "Platform <b>Ops</b>"),
                ("Expertise", "Kubernetes, Go"),
                ("Pronouns", "they"),
            ]),
            &SchemaOrg {
                job_title: Some("SRE".into()),
                knows_about: vec!["Terraform".into()],
                member_of: vec![],
            },
        );
        assert_eq!(
            terms,
            pairs(&[
                ("department", "Platform Ops"),
                ("skills", "Kubernetes"),
                ("skills", "Go"),
                ("pronouns", "they"),
                ("skills", "Terraform"),
                ("role", "SRE"),
            ])
        );
        assert_eq!(normalize("  Machine   Learning "), "machine learning");
    }
}
