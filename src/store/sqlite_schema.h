/* sqlite_schema: the versioned migrations of the SQLite store, applied in
 * order at start-up. PRAGMA user_version records how many have run; a
 * database with a higher version than this binary knows is refused.
 * Append new migrations; never edit one that has shipped. */
#ifndef LP_STORE_SQLITE_SCHEMA_H
#define LP_STORE_SQLITE_SCHEMA_H

static const char *const sqlite_migrations[] = {
    /* 1: links and API keys */
    "CREATE TABLE links ("
    "  id INTEGER PRIMARY KEY,"
    "  team_id INTEGER NOT NULL,"
    "  domain_id INTEGER NOT NULL DEFAULT 0,"
    "  code TEXT NOT NULL,"
    "  url TEXT NOT NULL,"
    "  title TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  expires_at INTEGER,"
    "  max_visits INTEGER,"
    "  visits INTEGER NOT NULL DEFAULT 0,"
    "  redirect_type INTEGER NOT NULL DEFAULT 302,"
    "  UNIQUE (domain_id, code)"
    ");"
    "CREATE INDEX links_team_id ON links (team_id, id);"
    "CREATE TABLE api_keys ("
    "  id INTEGER PRIMARY KEY,"
    "  team_id INTEGER,"
    "  name TEXT NOT NULL,"
    "  key_hash BLOB NOT NULL UNIQUE,"
    "  role TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER"
    ");",
};

#define SQLITE_SCHEMA_VERSION ((int)(sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0])))

#endif
