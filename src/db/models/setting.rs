use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::instance_settings;

pub fn get(conn: &mut DbConn, key: &str) -> QueryResult<Option<String>> {
    instance_settings::table
        .find(key)
        .select(instance_settings::value)
        .first(conn)
        .optional()
}

pub fn set(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<()> {
    let now = crate::db::now();
    let updated = diesel::update(instance_settings::table.find(key))
        .set((
            instance_settings::value.eq(value),
            instance_settings::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(instance_settings::table)
            .values((
                instance_settings::key.eq(key),
                instance_settings::value.eq(value),
                instance_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}
