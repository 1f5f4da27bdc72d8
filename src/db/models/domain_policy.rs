use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::domain_policies;

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = domain_policies)]
pub struct DomainPolicy {
    pub domain: String,
    pub policy: String,
    pub comment: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl DomainPolicy {
    pub fn all(conn: &mut DbConn) -> QueryResult<Vec<DomainPolicy>> {
        domain_policies::table
            .order(domain_policies::domain.asc())
            .select(DomainPolicy::as_select())
            .load(conn)
    }

    /// Inserts or replaces the policy of `domain`.
    pub fn put(conn: &mut DbConn, domain: &str, policy: &str, comment: &str) -> QueryResult<()> {
        let now = crate::db::now();
        let updated = diesel::update(domain_policies::table.find(domain))
            .set((
                domain_policies::policy.eq(policy),
                domain_policies::comment.eq(comment),
                domain_policies::updated_at.eq(now),
            ))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(domain_policies::table)
                .values((
                    domain_policies::domain.eq(domain),
                    domain_policies::policy.eq(policy),
                    domain_policies::comment.eq(comment),
                    domain_policies::created_at.eq(now),
                    domain_policies::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    pub fn remove(conn: &mut DbConn, domain: &str) -> QueryResult<usize> {
        diesel::delete(domain_policies::table.find(domain)).execute(conn)
    }
}
