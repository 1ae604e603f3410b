-- A strigil.db at schema version 2 (as released on main before issue 11), with data:
-- made by that strigild on a private bus (profiles incl. the numeric reference '12'
-- and the old-syntax 'Jane Doe', a session moving calf -> upper_back with strokes, a
-- warning and an exceeded). Dumped with Python's sqlite3 iterdump; do not edit by hand.
PRAGMA user_version = 2;
BEGIN TRANSACTION;
CREATE TABLE audit (  id INTEGER PRIMARY KEY,  at_us INTEGER NOT NULL,  actor TEXT NOT NULL,  action TEXT NOT NULL,  profile_id INTEGER,  session_id INTEGER,  conditions TEXT NOT NULL DEFAULT '',  reason TEXT NOT NULL);
CREATE TABLE calibrations (  id INTEGER PRIMARY KEY,  instrument TEXT NOT NULL,  written_us INTEGER NOT NULL,  actor TEXT NOT NULL DEFAULT '',  channel_mask INTEGER NOT NULL,  offsets BLOB NOT NULL,  scales BLOB NOT NULL,  cal_date INTEGER NOT NULL,  due_date INTEGER NOT NULL,  technician TEXT NOT NULL DEFAULT '');
INSERT INTO "calibrations" VALUES(1,'SIM0001',1796326984386308,'',1,X'0000000000408F40000000000000000000000000000000000000000000000000',X'2D431CEBE2361A3F000000000000000000000000000000000000000000000000',1796256000,1827792000,'factory');
CREATE TABLE instruments (  serial TEXT PRIMARY KEY,  model TEXT NOT NULL DEFAULT '',  firmware TEXT NOT NULL DEFAULT '',  first_seen_us INTEGER NOT NULL,  last_seen_us INTEGER NOT NULL);
INSERT INTO "instruments" VALUES('SIM0001','S1','0.1.0-sim',1796326984384750,1796326984384750);
CREATE TABLE profile_conditions (  profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,  pos INTEGER NOT NULL,  condition TEXT NOT NULL,  region TEXT NOT NULL DEFAULT '',  PRIMARY KEY (profile_id, condition, region));
INSERT INTO "profile_conditions" VALUES(1,0,'anticoagulants','');
INSERT INTO "profile_conditions" VALUES(1,1,'open_wound','neck');
CREATE TABLE profile_region_caps (  profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,  pos INTEGER NOT NULL,  region TEXT NOT NULL,  cap_n REAL NOT NULL DEFAULT 0,  max_strokes INTEGER NOT NULL DEFAULT 0,  max_load_s REAL NOT NULL DEFAULT 0,  PRIMARY KEY (profile_id, region));
INSERT INTO "profile_region_caps" VALUES(1,0,'calf',8.0,0,0.0);
CREATE TABLE profiles (  id INTEGER PRIMARY KEY,  patient_ref TEXT NOT NULL,  display_name TEXT NOT NULL DEFAULT '',  max_force_n REAL NOT NULL DEFAULT 0,  target_low_n REAL NOT NULL DEFAULT 0,  target_high_n REAL NOT NULL DEFAULT 0,  max_strokes INTEGER NOT NULL DEFAULT 0,  max_load_s REAL NOT NULL DEFAULT 0,  created_us INTEGER NOT NULL,  updated_us INTEGER NOT NULL,  deleted_us INTEGER);
INSERT INTO "profiles" VALUES(1,'P-0001','AB',10.0,0.0,0.0,0,0.0,1796326984389947,1796326984389947,NULL);
INSERT INTO "profiles" VALUES(2,'12','',3.0,0.0,0.0,0,0.0,1796326984391579,1796326984391579,NULL);
INSERT INTO "profiles" VALUES(3,'Jane Doe','',0.0,0.0,0.0,0,0.0,1796326984392915,1796326984392915,NULL);
INSERT INTO "profiles" VALUES(4,'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx','',0.0,0.0,0.0,0,0.0,1796326984394239,1796326984394239,NULL);
CREATE TABLE sessions (  id INTEGER PRIMARY KEY,  profile_id INTEGER NOT NULL REFERENCES profiles(id),  instrument TEXT NOT NULL,  region TEXT NOT NULL,  state TEXT NOT NULL CHECK (state IN    ('running','paused','finished','interrupted','aborted')),  started_us INTEGER NOT NULL,  ended_us INTEGER,  updated_us INTEGER NOT NULL,  limit_n REAL NOT NULL,  reasons TEXT NOT NULL DEFAULT '',  max_strokes INTEGER NOT NULL DEFAULT 0,  max_load_s REAL NOT NULL DEFAULT 0,  stroke_count INTEGER NOT NULL DEFAULT 0,  violation_count INTEGER NOT NULL DEFAULT 0,  load_s REAL NOT NULL DEFAULT 0,  peak_n REAL NOT NULL DEFAULT 0, flags INTEGER NOT NULL DEFAULT 0);
INSERT INTO "sessions" VALUES(1,1,'SIM0001','upper_back','finished',1796326984395795,1796326987526841,1796326987526841,5.0,'clinic absolute maximum 14.00 N
region upper_back default 10.00 N
profile cap 10.00 N
anticoagulants x0.5 -> 5.00 N (strictest)',0,900.0,3,1,9.08999999999999919175e-01,8.9916114433353140356e+00,0);
INSERT INTO "sessions" VALUES(2,2,'SIM0001','neck','finished',1796326987534176,1796326988747890,1796326988747890,3.0,'clinic absolute maximum 14.00 N
region neck default 4.00 N
profile cap 3.00 N (strictest)',0,120.0,1,0,2.66999999999999959587e-01,2.01688305904768405696e+00,0);
INSERT INTO "sessions" VALUES(3,3,'SIM0001','calf','finished',1796326988756390,1796326988767852,1796326988767852,10.0,'clinic absolute maximum 14.00 N
region calf default 10.00 N (strictest)',0,1200.0,0,0,0.0,0.0,0);
CREATE TABLE strokes (  id INTEGER PRIMARY KEY,  session_id INTEGER NOT NULL REFERENCES sessions(id),  wall_us INTEGER NOT NULL,  region TEXT NOT NULL,  idx INTEGER NOT NULL,  start_s REAL, end_s REAL, duration_s REAL,  peak_n REAL, mean_n REAL, impulse_ns REAL,  above_limit_s REAL, limit_n REAL,  has INTEGER NOT NULL DEFAULT 0,  peak_shear_n REAL, mean_tilt_deg REAL, direction_deg REAL);
INSERT INTO "strokes" VALUES(1,1,1796326984817716,'calf',1,8.38160758527442262266e-02,3.5081607585274421357e-01,0.267,2.01813541886092373545e+00,1.40751516655157704605e+00,0.375806549469271,0.0,4.0,0,0.0,0.0,0.0);
INSERT INTO "strokes" VALUES(2,1,1796326985548278,'calf',2,7.30816075852744218011e-01,1.07781607585274419314e+00,0.347,8.9916114433353140356e+00,5.16578719029785649041e+00,1.79252815503335649616e+00,2.13999999999999968025e-01,4.0,0,0.0,0.0,0.0);
INSERT INTO "strokes" VALUES(3,1,1796326986737724,'upper_back',3,1.97681607585274421445e+00,2.27181607585274392135e+00,2.94999999999999706901e-01,2.50633829415300901644e+00,1.64414373855740714169e+00,0.485022402874435,0.0,5.0,0,0.0,0.0,0.0);
INSERT INTO "strokes" VALUES(4,2,1796326987952026,'neck',1,8.38160758527442262266e-02,3.5081607585274421357e-01,0.267,2.01688305904768405696e+00,1.40720275563413643737e+00,3.75723135754314374601e-01,0.0,3.0,0,0.0,0.0,0.0);
CREATE TABLE violations (  id INTEGER PRIMARY KEY,  session_id INTEGER NOT NULL REFERENCES sessions(id),  wall_us INTEGER NOT NULL,  region TEXT NOT NULL,  type TEXT NOT NULL,  t_s REAL, force_n REAL, limit_n REAL);
INSERT INTO "violations" VALUES(1,1,1796326985199880,'calf','warning',0.8,4.27317630653684,4.0);
INSERT INTO "violations" VALUES(2,1,1796326985208379,'calf','exceeded',0.806,4.70361401978638493659e+00,4.0);
CREATE UNIQUE INDEX profiles_live_ref ON profiles(patient_ref)  WHERE deleted_us IS NULL;
CREATE INDEX sessions_profile ON sessions(profile_id);
CREATE INDEX sessions_state ON sessions(state);
CREATE INDEX strokes_session ON strokes(session_id, id);
CREATE INDEX violations_session ON violations(session_id, id);
CREATE INDEX calibrations_instrument ON calibrations(instrument, id);
CREATE INDEX audit_session ON audit(session_id);
COMMIT;
