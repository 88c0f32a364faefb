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

    /* 2: accounts, teams, memberships, team API keys, refresh tokens,
     * idempotency keys. Team 1 owns what operator keys create; team 2 holds
     * anonymous links. */
    "CREATE TABLE teams ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  plan TEXT NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'paid')),"
    "  personal INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL"
    ");"
    "INSERT INTO teams (id, name, plan, personal, created_at) VALUES"
    "  (1, 'instance', 'paid', 0, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),"
    "  (2, 'anonymous', 'free', 0, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));"
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY,"
    "  email TEXT NOT NULL,"
    "  email_lc TEXT NOT NULL UNIQUE,"
    "  name TEXT,"
    "  password_hash TEXT NOT NULL,"
    "  personal_team_id INTEGER NOT NULL REFERENCES teams (id),"
    "  disabled_at INTEGER,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE memberships ("
    "  team_id INTEGER NOT NULL REFERENCES teams (id),"
    "  user_id INTEGER NOT NULL REFERENCES users (id),"
    "  role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (team_id, user_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX memberships_user ON memberships (user_id);"
    "ALTER TABLE api_keys ADD COLUMN display TEXT;"
    "UPDATE api_keys SET role = 'operator' WHERE team_id IS NULL;"
    "ALTER TABLE api_keys ADD COLUMN user_id INTEGER;"
    "ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;"
    "ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;"
    "CREATE INDEX api_keys_team ON api_keys (team_id, id);"
    "ALTER TABLE links ADD COLUMN created_by INTEGER;"
    "ALTER TABLE links ADD COLUMN creator_ip BLOB;"
    "CREATE TABLE refresh_tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL,"
    "  family_id INTEGER NOT NULL,"
    "  token_hash BLOB NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER,"
    "  revoked_at INTEGER"
    ");"
    "CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);"
    "CREATE TABLE idempotency_keys ("
    "  principal TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  request_hash BLOB NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  response BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (principal, key)"
    ") WITHOUT ROWID;"
    "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);",

    /* 3: visits (raw, kept for the retention period) and their rollups
     * (kept). Counting always reads rollups, never COUNT(*) over visits. */
    "ALTER TABLE links ADD COLUMN visits_total INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE links ADD COLUMN visits_bots INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE visits ("
    "  id INTEGER PRIMARY KEY,"
    "  link_id INTEGER,"          /* NULL for orphan visits */
    "  team_id INTEGER,"
    "  domain_id INTEGER NOT NULL DEFAULT 0,"
    "  ts INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"       /* redirect, invalid_short_url, base_url, regular_404 */
    "  ip TEXT,"
    "  country TEXT, city TEXT,"
    "  referrer_host TEXT, referrer TEXT,"
    "  browser TEXT, browser_major INTEGER, os TEXT, device TEXT,"
    "  bot INTEGER NOT NULL DEFAULT 0,"
    "  language TEXT,"
    "  utm_source TEXT, utm_medium TEXT, utm_campaign TEXT, utm_term TEXT, utm_content TEXT,"
    "  visited_url TEXT, target_url TEXT"
    ");"
    "CREATE INDEX links_team_visits ON links (team_id, visits_total);"
    /* One index: ids are time-ordered, so retention deletes by id range. */
    "CREATE INDEX visits_link ON visits (link_id, id);"
    "CREATE TABLE rollup_hour ("
    "  link_id INTEGER NOT NULL, t INTEGER NOT NULL,"
    "  total INTEGER NOT NULL DEFAULT 0, bots INTEGER NOT NULL DEFAULT 0, uniques INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (link_id, t)) WITHOUT ROWID;"
    "CREATE TABLE rollup_day ("
    "  link_id INTEGER NOT NULL, t INTEGER NOT NULL,"
    "  total INTEGER NOT NULL DEFAULT 0, bots INTEGER NOT NULL DEFAULT 0, uniques INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (link_id, t)) WITHOUT ROWID;"
    "CREATE TABLE rollup_dim ("
    "  link_id INTEGER NOT NULL, t INTEGER NOT NULL, dim TEXT NOT NULL, name TEXT NOT NULL,"
    "  total INTEGER NOT NULL DEFAULT 0, bots INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (link_id, dim, t, name)) WITHOUT ROWID;"
    "CREATE TABLE uniques_seen ("
    "  link_id INTEGER NOT NULL, t INTEGER NOT NULL, hash BLOB NOT NULL,"
    "  PRIMARY KEY (link_id, t, hash)) WITHOUT ROWID;",

    /* 4: webhooks and their outbox. A delivery row is written in the same
     * transaction as the change it reports; `seq` orders a link's events
     * (deliveries of one (webhook, subject) go out one at a time). */
    "CREATE TABLE webhooks ("
    "  id INTEGER PRIMARY KEY,"
    "  team_id INTEGER NOT NULL,"
    "  url TEXT NOT NULL,"
    "  secret TEXT NOT NULL,"
    "  events INTEGER NOT NULL,"   /* bit set of enum store_hook_event */
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  created_by INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX webhooks_team ON webhooks (team_id, id);"
    "CREATE TABLE webhook_deliveries ("
    "  id INTEGER PRIMARY KEY,"
    "  webhook_id INTEGER NOT NULL,"
    "  team_id INTEGER NOT NULL,"
    "  subject TEXT NOT NULL,"      /* what ordering is kept for: the link id */
    "  event TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  last_status INTEGER,"
    "  last_error TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  finished_at INTEGER"
    ");"
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at) WHERE status = 'pending';"
    "CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);"
    "CREATE INDEX webhook_deliveries_subject ON webhook_deliveries (webhook_id, subject, id) WHERE status = 'pending';",

    /* crawlers and previews (issue 4): per-link crawlable flag; the partial
     * index keeps /robots.txt a walk over the crawlable codes only. */
    "ALTER TABLE links ADD COLUMN crawlable INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX links_crawlable ON links (domain_id, code) WHERE crawlable = 1;",
    /* redirect rules, forward_query and UTM fields (issue 4): the compiled
     * rules of core/rules.h (NULL when none); UTM values NULL when unset */
    "ALTER TABLE links ADD COLUMN rules BLOB;"
    "ALTER TABLE links ADD COLUMN forward_query INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE links ADD COLUMN utm_source TEXT;"
    "ALTER TABLE links ADD COLUMN utm_medium TEXT;"
    "ALTER TABLE links ADD COLUMN utm_campaign TEXT;"
    "ALTER TABLE links ADD COLUMN utm_term TEXT;"
    "ALTER TABLE links ADD COLUMN utm_content TEXT;",
    /* tags, notes, search and reuse (issue 4). links.tags holds the link's
     * tag names (sorted without case, joined by newlines) for reading and
     * full-text search; link_tags is what filters and counts use. url_hash
     * (lp_url_hash, sqlite_find.c) finds a URL to reuse without a scan; host
     * (lp_url_host) and the title index answer typeahead prefixes (codes use
     * the unique code index). Every index here is a random insert per new
     * link, so there are no more of them than the features need. */
    "ALTER TABLE links ADD COLUMN note TEXT;"
    "ALTER TABLE links ADD COLUMN tags TEXT;"
    "ALTER TABLE links ADD COLUMN url_hash INTEGER;"
    "ALTER TABLE links ADD COLUMN host TEXT;"
    "UPDATE links SET url_hash = lp_url_hash(url), host = lp_url_host(url);"
    "CREATE INDEX links_reuse ON links (team_id, url_hash);"
    "CREATE INDEX links_team_title ON links (team_id, coalesce(title, '') COLLATE NOCASE);"
    "CREATE INDEX links_team_host ON links (team_id, host);"
    "CREATE TABLE tags ("
    "  id INTEGER PRIMARY KEY,"
    "  team_id INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  name_lc TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (team_id, name_lc)"
    ");"
    "CREATE TABLE link_tags ("
    "  link_id INTEGER NOT NULL, tag_id INTEGER NOT NULL,"
    "  PRIMARY KEY (link_id, tag_id)) WITHOUT ROWID;"
    "CREATE INDEX link_tags_tag ON link_tags (tag_id, link_id);"
    "CREATE TRIGGER links_tags_ad AFTER DELETE ON links BEGIN"
    "  DELETE FROM link_tags WHERE link_id = old.id;"
    " END;"
    /* FTS5 writes its pending terms out at every SAVEPOINT, and the writer
     * runs each op in one: the triggers queue the changes in a plain table
     * instead, and the writer moves them into the index once per batch
     * (sqlite_fts_drain), so a batch makes one index segment, not one per link. */
    "CREATE VIRTUAL TABLE links_fts USING fts5(code, url, title, tags, content='links', content_rowid='id');"
    "CREATE TABLE links_fts_queue (seq INTEGER PRIMARY KEY, del INTEGER NOT NULL, id INTEGER NOT NULL,"
    "  code TEXT, url TEXT, title TEXT, tags TEXT);"
    "CREATE TRIGGER links_fts_ai AFTER INSERT ON links BEGIN"
    "  INSERT INTO links_fts_queue (del, id, code, url, title, tags)"
    "    VALUES (0, new.id, new.code, new.url, new.title, new.tags);"
    " END;"
    "CREATE TRIGGER links_fts_ad AFTER DELETE ON links BEGIN"
    "  INSERT INTO links_fts_queue (del, id, code, url, title, tags)"
    "    VALUES (1, old.id, old.code, old.url, old.title, old.tags);"
    " END;"
    "CREATE TRIGGER links_fts_au AFTER UPDATE OF code, url, title, tags ON links BEGIN"
    "  INSERT INTO links_fts_queue (del, id, code, url, title, tags)"
    "    VALUES (1, old.id, old.code, old.url, old.title, old.tags);"
    "  INSERT INTO links_fts_queue (del, id, code, url, title, tags)"
    "    VALUES (0, new.id, new.code, new.url, new.title, new.tags);"
    " END;"
    "INSERT INTO links_fts (links_fts) VALUES ('rebuild');",
    /* lifetime (issue 4): valid_since NULL = always; enabled 0 = switched off.
     * Listing by creation time: imported links keep their file's created_at,
     * so it need not follow the id (new links append to the index). */
    "ALTER TABLE links ADD COLUMN valid_since INTEGER;"
    "ALTER TABLE links ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;"
    "CREATE INDEX links_team_created ON links (team_id, created_at);"
    /* password-protected links (issue 4): an argon2id hash, NULL = none */
    "ALTER TABLE links ADD COLUMN password_hash TEXT;"
    /* domains (issue 4): a team's short domains; links.domain_id 0 is the
     * default domain (--base-url). Redirects NULL = the built-in page. */
    "CREATE TABLE domains ("
    "  id INTEGER PRIMARY KEY,"
    "  team_id INTEGER NOT NULL,"
    "  hostname TEXT NOT NULL UNIQUE,"
    "  base_url_redirect TEXT, not_found_redirect TEXT, expired_redirect TEXT,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX domains_team ON domains (team_id, hostname);",

    /* visits through the journal (store/journal.h, sqlite_visits.c): one
     * rollup row per (link, day) whose tally (store/tally.h) holds the hours
     * and the breakdowns, replacing rollup_hour and rollup_dim (a visit to
     * a link touched nine rollup rows, now one); team totals per hour;
     * unique-visitor hashes keyed by day first, so a day goes in one range
     * delete (a first sighting counts for the day and for its hour); the
     * journal position applied. */
    "CREATE TABLE rollup_day_t ("
    "  link_id INTEGER NOT NULL, t INTEGER NOT NULL,"
    "  total INTEGER NOT NULL, bots INTEGER NOT NULL, uniques INTEGER NOT NULL, tally BLOB NOT NULL,"
    "  PRIMARY KEY (link_id, t)) WITHOUT ROWID;"
    "INSERT INTO rollup_day_t SELECT d.link_id, d.t, d.total, d.bots, d.uniques,"
    "  (SELECT lp_tally(dim, name, total, bots, uniques) FROM ("
    "    SELECT 0 AS dim, (h.t - d.t) / 3600000 AS name, h.total, h.bots, h.uniques FROM rollup_hour h"
    "      WHERE h.link_id = d.link_id AND h.t >= d.t AND h.t < d.t + 86400000"
    "    UNION ALL SELECT CASE x.dim WHEN 'referrer' THEN 1 WHEN 'country' THEN 2 WHEN 'city' THEN 3"
    "      WHEN 'browser' THEN 4 WHEN 'os' THEN 5 WHEN 'device' THEN 6 ELSE 7 END, x.name, x.total, x.bots, 0"
    "      FROM rollup_dim x WHERE x.link_id = d.link_id AND x.t = d.t))"
    "  FROM rollup_day d;"
    "CREATE TABLE rollup_team ("
    "  team_id INTEGER NOT NULL, t INTEGER NOT NULL,"
    "  total INTEGER NOT NULL, bots INTEGER NOT NULL, uniques INTEGER NOT NULL,"
    "  PRIMARY KEY (team_id, t)) WITHOUT ROWID;"
    "INSERT INTO rollup_team SELECT l.team_id, h.t, sum(h.total), sum(h.bots), sum(h.uniques)"
    "  FROM rollup_hour h JOIN links l ON l.id = h.link_id GROUP BY l.team_id, h.t;"
    "DROP TABLE rollup_hour;"
    "DROP TABLE rollup_dim;"
    "DROP TABLE rollup_day;"
    "ALTER TABLE rollup_day_t RENAME TO rollup_day;"
    "CREATE TABLE uniques_day ("
    "  t INTEGER NOT NULL, link_id INTEGER NOT NULL, hash BLOB NOT NULL,"
    "  PRIMARY KEY (t, link_id, hash)) WITHOUT ROWID;"
    "INSERT INTO uniques_day SELECT -t, link_id, hash FROM uniques_seen WHERE t < 0;"
    "DROP TABLE uniques_seen;"
    "ALTER TABLE uniques_day RENAME TO uniques_seen;"
    "CREATE TABLE journal_pos (id INTEGER PRIMARY KEY CHECK (id = 1), seg INTEGER NOT NULL, off INTEGER NOT NULL);"
    "INSERT INTO journal_pos VALUES (1, 0, 0);",
    /* a visit pass in slices (sqlite_visits.c): while done_below > 0 the
     * pass from (seg, off) to (end_seg, end_off) has applied the visits of
     * every link below done_below */
    "ALTER TABLE journal_pos ADD COLUMN end_seg INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE journal_pos ADD COLUMN end_off INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE journal_pos ADD COLUMN done_below INTEGER NOT NULL DEFAULT 0;",
    /* deleted links: their rollup rows go with them (the trigger, whatever
     * deletes the link); their raw visits, maybe millions, a batch per
     * purge (sqlite_visits.c), so links_gone lists the links that still
     * have some. Links deleted before this version left their rollups:
     * they go now. */
    "CREATE TABLE links_gone (link_id INTEGER PRIMARY KEY);"
    "CREATE TRIGGER links_stats_ad AFTER DELETE ON links BEGIN"
    "  DELETE FROM rollup_day WHERE link_id = old.id;"
    "  INSERT OR IGNORE INTO links_gone (link_id)"
    "    SELECT old.id WHERE EXISTS (SELECT 1 FROM visits WHERE link_id = old.id);"
    " END;"
    "INSERT INTO links_gone SELECT DISTINCT link_id FROM rollup_day"
    "  WHERE link_id != 0 AND link_id NOT IN (SELECT id FROM links);"
    "DELETE FROM rollup_day WHERE link_id IN (SELECT link_id FROM links_gone);",
};

#define SQLITE_SCHEMA_VERSION ((int)(sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0])))

#endif
