/// The cluster table's schema in PostgreSQL (DESIGN §9), created if missing.
///
/// DESIGN fixes `director_nodes`, `director_children`, `director_groups`, `director_events`
/// and `director_commands`; `record` is exactly what LMDB stores (as `jsonb`). Three tables
/// are additions, so that the PostgreSQL table is a whole `ChildTable` an embedder can use
/// directly: `director_meta` and `director_specs` (the LMDB databases of the same names) and
/// `director_sequences` (each node's last event seq, kept so that numbers are never reused,
/// not even when every event was trimmed). Every row belongs to one node; a `PostgresTable`
/// reads and writes only its node's rows. Triggers on `director_events` and
/// `director_commands` send `pg_notify` (channels of the same names) for readers and nodes.
public enum ClusterSchema {
    /// The statements, in order; each is idempotent.
    public static let statements: [String] = [
        """
        CREATE TABLE IF NOT EXISTS director_nodes (
            node text PRIMARY KEY, epoch bigint NOT NULL DEFAULT 0, pid integer,
            version text, started_at timestamptz, heartbeat_at timestamptz,
            lease interval NOT NULL DEFAULT '10 seconds', status text NOT NULL DEFAULT 'up')
        """,
        """
        CREATE TABLE IF NOT EXISTS director_children (
            node text NOT NULL, id text NOT NULL, epoch bigint NOT NULL DEFAULT 0,
            rev bigint NOT NULL DEFAULT 0, record jsonb NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (node, id))
        """,
        """
        CREATE TABLE IF NOT EXISTS director_groups (
            node text NOT NULL, path text NOT NULL, epoch bigint NOT NULL DEFAULT 0,
            rev bigint NOT NULL DEFAULT 0, record jsonb NOT NULL, PRIMARY KEY (node, path))
        """,
        """
        CREATE TABLE IF NOT EXISTS director_events (
            seq bigint NOT NULL, node text NOT NULL, at timestamptz NOT NULL, id text NOT NULL,
            kind text NOT NULL, detail text NOT NULL, PRIMARY KEY (node, seq))
        """,
        """
        CREATE TABLE IF NOT EXISTS director_commands (
            seq bigserial PRIMARY KEY, node text NOT NULL, op jsonb NOT NULL,
            issued_at timestamptz NOT NULL DEFAULT now(), taken_at timestamptz, result jsonb)
        """,
        """
        CREATE TABLE IF NOT EXISTS director_meta (
            node text NOT NULL, key text NOT NULL, value jsonb NOT NULL, PRIMARY KEY (node, key))
        """,
        """
        CREATE TABLE IF NOT EXISTS director_specs (
            node text NOT NULL, job_key text NOT NULL, spec jsonb NOT NULL, PRIMARY KEY (node, job_key))
        """,
        """
        CREATE TABLE IF NOT EXISTS director_sequences (node text PRIMARY KEY, last_seq bigint NOT NULL)
        """,
        // Events the mirror could not send (beyond the window while PostgreSQL was away).
        "ALTER TABLE director_nodes ADD COLUMN IF NOT EXISTS events_dropped bigint NOT NULL DEFAULT 0",
        // When the mirror's row reached PostgreSQL (by the database's clock): `mirrored_at - at`
        // is the mirror lag of an event (bench/cluster.py).
        "ALTER TABLE director_events ADD COLUMN IF NOT EXISTS mirrored_at timestamptz NOT NULL DEFAULT clock_timestamp()",
        "CREATE INDEX IF NOT EXISTS director_events_at ON director_events (at, node, seq)",
        "CREATE INDEX IF NOT EXISTS director_commands_open ON director_commands (node) WHERE taken_at IS NULL",
        // NOTIFY only wakes readers up (DESIGN §9): they catch up by sequence, so a missed
        // notification costs latency, never rows. The payload says which node and seq.
        """
        CREATE OR REPLACE FUNCTION director_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_TABLE_NAME = 'director_events' THEN
                PERFORM pg_notify('director_events', NEW.node || ' ' || NEW.seq);
            ELSIF TG_TABLE_NAME = 'director_commands' THEN
                PERFORM pg_notify('director_commands', NEW.node);
            ELSE
                PERFORM pg_notify('director_children', NEW.node);
            END IF;
            RETURN NULL;
        END $$
        """,
        """
        CREATE OR REPLACE TRIGGER director_events_notify AFTER INSERT ON director_events
            FOR EACH ROW EXECUTE FUNCTION director_notify()
        """,
        """
        CREATE OR REPLACE TRIGGER director_commands_notify AFTER INSERT ON director_commands
            FOR EACH ROW EXECUTE FUNCTION director_notify()
        """,
    ]

    /// The advisory lock key under which the schema is created (one creator at a time:
    /// concurrent `CREATE TABLE IF NOT EXISTS` can still collide).
    public static let creationLock: Int64 = 7_413_690

    /// The advisory lock whose holder marks nodes past their lease `down` (one marker for
    /// the whole cluster; any live node may hold it, and another takes over when it dies).
    public static let reaperLock: Int64 = 7_413_691
}
