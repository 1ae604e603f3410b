-- Strigil clinic network: central schema, step 1 (docs/network.md).
-- Applied by `strigil-sync migrate` as the schema owner, in one
-- transaction, recorded in strigil_migrations. Never edit a released
-- step: add the next file.
--
-- Every PC logs in with its own role, a member of strigil_pc. Records are
-- keyed by global ids (session UUIDs; the PC's role and its local row id)
-- so that a retried upload is a no-op (ON CONFLICT DO NOTHING), and carry
-- the PC's role in column pc, which row-level security checks: a PC
-- inserts its own rows only, updates only its own sessions, and no PC
-- role may DELETE anything or change another PC's records.

DO $$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'strigil_pc') THEN
		CREATE ROLE strigil_pc NOLOGIN;
	END IF;
END $$;

-- ---- profiles: one row per patient profile, the clinic's current version
CREATE SEQUENCE profile_rev;

CREATE TABLE profiles (
	uuid uuid PRIMARY KEY,
	rev bigint NOT NULL UNIQUE,		-- from profile_rev: the pull cursor
	patient_ref text NOT NULL,
	body jsonb NOT NULL,			-- strigild profile keys (sync/body.c)
	deleted boolean NOT NULL DEFAULT false,	-- tombstone, never a DELETE
	review text NOT NULL DEFAULT '' CHECK (review IN ('', 'merged')),
	updated_by text NOT NULL,		-- PC role of the last write
	updated_at timestamptz NOT NULL
);
CREATE INDEX profiles_patient_ref ON profiles (patient_ref) WHERE NOT deleted;

-- The server, not the PC, numbers every write and says who and when.
CREATE FUNCTION profiles_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.rev := nextval('profile_rev');
	NEW.updated_by := current_user;
	NEW.updated_at := now();
	RETURN NEW;
END $$;
CREATE TRIGGER profiles_stamp BEFORE INSERT OR UPDATE ON profiles
	FOR EACH ROW EXECUTE FUNCTION profiles_stamp();

-- Every PC LISTENs on strigil_profiles: a write is pushed at commit.
CREATE FUNCTION profiles_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('strigil_profiles', NEW.rev::text);
	RETURN NULL;
END $$;
CREATE TRIGGER profiles_notify AFTER INSERT OR UPDATE ON profiles
	FOR EACH ROW EXECUTE FUNCTION profiles_notify();

-- Two PCs edited one profile while apart: both versions, who, when.
CREATE TABLE profile_merges (
	id bigserial PRIMARY KEY,
	uuid uuid NOT NULL REFERENCES profiles (uuid),
	merged_at timestamptz NOT NULL DEFAULT now(),
	merged_by text NOT NULL DEFAULT current_user,
	theirs jsonb NOT NULL,		-- the centre's version: body, deleted, by, at, rev
	ours jsonb NOT NULL,		-- the merging PC's version
	result jsonb NOT NULL
);
CREATE INDEX profile_merges_uuid ON profile_merges (uuid);

-- ---- records: append-only from each PC, full local rows in data -------
CREATE TABLE sessions (
	uuid uuid PRIMARY KEY,
	pc text NOT NULL DEFAULT current_user,
	local_id bigint NOT NULL,
	profile_uuid uuid,
	patient_ref text NOT NULL,
	started_us bigint NOT NULL,
	updated_us bigint NOT NULL,
	state text NOT NULL,
	data jsonb NOT NULL,		-- the PC's sessions row, every column
	UNIQUE (pc, local_id)
);
CREATE INDEX sessions_profile ON sessions (profile_uuid, started_us);
CREATE INDEX sessions_patient ON sessions (patient_ref, started_us);

CREATE TABLE strokes (
	session_uuid uuid NOT NULL REFERENCES sessions (uuid),
	local_id bigint NOT NULL,
	pc text NOT NULL DEFAULT current_user,
	wall_us bigint NOT NULL,
	region text NOT NULL,
	data jsonb NOT NULL,
	PRIMARY KEY (session_uuid, local_id)
);

CREATE TABLE violations (
	session_uuid uuid NOT NULL REFERENCES sessions (uuid),
	local_id bigint NOT NULL,
	pc text NOT NULL DEFAULT current_user,
	wall_us bigint NOT NULL,
	region text NOT NULL,
	data jsonb NOT NULL,
	PRIMARY KEY (session_uuid, local_id)
);

-- Records not tied to a session (calibrations, the audit of overrides)
-- and any later record kind: (pc, kind, local_id) is their global id.
CREATE TABLE pc_records (
	pc text NOT NULL DEFAULT current_user,
	kind text NOT NULL,
	local_id bigint NOT NULL,
	at_us bigint NOT NULL,
	data jsonb NOT NULL,
	PRIMARY KEY (pc, kind, local_id)
);

-- ---- privileges: least for every PC role -------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON profiles TO strigil_pc;
GRANT USAGE ON SEQUENCE profile_rev TO strigil_pc;
GRANT SELECT, INSERT ON profile_merges TO strigil_pc;
GRANT USAGE ON SEQUENCE profile_merges_id_seq TO strigil_pc;
GRANT SELECT, INSERT, UPDATE ON sessions TO strigil_pc;
GRANT SELECT, INSERT ON strokes, violations, pc_records TO strigil_pc;

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE strokes ENABLE ROW LEVEL SECURITY;
ALTER TABLE violations ENABLE ROW LEVEL SECURITY;
ALTER TABLE pc_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_merges ENABLE ROW LEVEL SECURITY;
-- every PC reads the clinic's history (a patient's visits anywhere) ...
CREATE POLICY read_all ON sessions FOR SELECT TO strigil_pc USING (true);
CREATE POLICY read_all ON strokes FOR SELECT TO strigil_pc USING (true);
CREATE POLICY read_all ON violations FOR SELECT TO strigil_pc USING (true);
CREATE POLICY read_all ON pc_records FOR SELECT TO strigil_pc USING (true);
CREATE POLICY read_all ON profile_merges FOR SELECT TO strigil_pc USING (true);
-- ... but writes only rows of its own
CREATE POLICY own_insert ON sessions FOR INSERT TO strigil_pc WITH CHECK (pc = current_user);
CREATE POLICY own_update ON sessions FOR UPDATE TO strigil_pc
	USING (pc = current_user) WITH CHECK (pc = current_user);
CREATE POLICY own_insert ON strokes FOR INSERT TO strigil_pc WITH CHECK (
	pc = current_user AND EXISTS (SELECT 1 FROM sessions s
		WHERE s.uuid = session_uuid AND s.pc = current_user));
CREATE POLICY own_insert ON violations FOR INSERT TO strigil_pc WITH CHECK (
	pc = current_user AND EXISTS (SELECT 1 FROM sessions s
		WHERE s.uuid = session_uuid AND s.pc = current_user));
CREATE POLICY own_insert ON pc_records FOR INSERT TO strigil_pc WITH CHECK (pc = current_user);
CREATE POLICY own_insert ON profile_merges FOR INSERT TO strigil_pc
	WITH CHECK (merged_by = current_user);
