package history

// migrations is the ordered schema history: migrations[i] takes the database
// from version i to version i+1. Append only; never edit a released entry.
// Times are TEXT in timeLayout (UTC, fixed nine-digit fraction). Enumerated
// values (modes, statuses, events) are checked in Go, not with CHECK
// constraints, so adding a value needs no table rebuild.
var migrations = []string{
	// 1: runs, journaled actions, key events, leases, notices.
	`
CREATE TABLE runs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	command     TEXT NOT NULL,
	mode        TEXT NOT NULL,
	host        TEXT NOT NULL DEFAULT '',
	version     TEXT NOT NULL DEFAULT '',
	started_at  TEXT NOT NULL,
	status      TEXT NOT NULL DEFAULT 'running',
	summary     TEXT NOT NULL DEFAULT '',
	finished_at TEXT
);
CREATE INDEX runs_status ON runs (status, started_at);

CREATE TABLE actions (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	run_id        INTEGER NOT NULL REFERENCES runs (id),
	account       TEXT NOT NULL,
	user_name     TEXT NOT NULL,
	key_id        TEXT NOT NULL DEFAULT '',
	kind          TEXT NOT NULL,
	reason        TEXT NOT NULL DEFAULT '',
	evidence      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(evidence)),
	started_at    TEXT NOT NULL,
	status        TEXT NOT NULL DEFAULT 'started',
	error         TEXT NOT NULL DEFAULT '',
	result_key_id TEXT NOT NULL DEFAULT '',
	finished_at   TEXT
);
CREATE INDEX actions_user ON actions (account, user_name, id);
CREATE INDEX actions_run ON actions (run_id, id);

CREATE TABLE key_events (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	account           TEXT NOT NULL,
	user_name         TEXT NOT NULL,
	key_id            TEXT NOT NULL,
	event             TEXT NOT NULL,
	at                TEXT NOT NULL,
	run_id            INTEGER REFERENCES runs (id),
	secret_arn        TEXT NOT NULL DEFAULT '',
	secret_version_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX key_events_key ON key_events (account, user_name, key_id, event, at);
CREATE INDEX key_events_user ON key_events (account, user_name, at);

CREATE TABLE leases (
	scope       TEXT PRIMARY KEY,
	owner       TEXT NOT NULL,
	acquired_at TEXT NOT NULL,
	expires_at  TEXT NOT NULL
);

CREATE TABLE notices (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	recipient TEXT NOT NULL,
	account   TEXT NOT NULL,
	user_name TEXT NOT NULL,
	key_id    TEXT NOT NULL DEFAULT '',
	kind      TEXT NOT NULL,
	due_date  TEXT,
	sent_at   TEXT NOT NULL,
	channel   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notices_lookup ON notices (recipient, account, user_name, key_id, kind, sent_at);
`,
	// 2: the process behind a run (to tell a crashed run from a live one),
	// its heartbeat, and whether its notices were sent.
	`
ALTER TABLE runs ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN proc_start INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
ALTER TABLE runs ADD COLUMN notified INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET notified = 1;
`,
	// 3: audits (a summary, the findings and the whole report of each
	// audit run, for trends and re-rendering) and the plan items of a run
	// that a person must see (blocked rotations, upcoming deadlines).
	`
CREATE TABLE audits (
	run_id       INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
	generated_at TEXT NOT NULL,
	summary      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(summary)),
	report       BLOB
);
CREATE INDEX audits_generated ON audits (generated_at);

CREATE TABLE audit_findings (
	run_id            INTEGER NOT NULL REFERENCES audits (run_id) ON DELETE CASCADE,
	finding_id        TEXT NOT NULL,
	rule              TEXT NOT NULL,
	severity          TEXT NOT NULL,
	account           TEXT NOT NULL,
	user_name         TEXT NOT NULL DEFAULT '',
	key_id            TEXT NOT NULL DEFAULT '',
	title             TEXT NOT NULL DEFAULT '',
	exempt            INTEGER NOT NULL DEFAULT 0,
	exemption_match   TEXT NOT NULL DEFAULT '',
	exemption_reason  TEXT NOT NULL DEFAULT '',
	exemption_expires TEXT,
	PRIMARY KEY (run_id, finding_id)
);

CREATE TABLE plan_items (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	run_id    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	item      TEXT NOT NULL,
	kind      TEXT NOT NULL,
	account   TEXT NOT NULL,
	user_name TEXT NOT NULL,
	key_id    TEXT NOT NULL DEFAULT '',
	reason    TEXT NOT NULL DEFAULT '',
	due       TEXT
);
CREATE INDEX plan_items_run ON plan_items (run_id, id);
`,
	// 4: deliveries of new keys to their destinations (deliver.Destination):
	// each write or confirmation with the key ID the destination holds,
	// each failure with its (redacted) error; with a write, the last use of
	// the key it replaces read just before (the usage gate's evidence).
	`
CREATE TABLE deliveries (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	account     TEXT NOT NULL,
	user_name   TEXT NOT NULL,
	key_id      TEXT NOT NULL,
	destination TEXT NOT NULL,
	status      TEXT NOT NULL,
	error       TEXT NOT NULL DEFAULT '',
	replaced_last_used TEXT NOT NULL DEFAULT '',
	at          TEXT NOT NULL,
	run_id      INTEGER REFERENCES runs (id)
);
CREATE INDEX deliveries_user ON deliveries (account, user_name, id);
`,
	// 5: audit reports in chunks of compressed JSON, written as they are
	// made (audits.report stays for the reports kept before).
	`
CREATE TABLE audit_report_chunks (
	run_id INTEGER NOT NULL REFERENCES audits (run_id) ON DELETE CASCADE,
	seq    INTEGER NOT NULL,
	data   BLOB NOT NULL,
	PRIMARY KEY (run_id, seq)
);
`,
}
