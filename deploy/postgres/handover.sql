-- Hands every object of the current database over to the role named in the setting `sms_credits.owner`
-- (set it first: SET sms_credits.owner = 'sms_ledger'; or set_config), so that a database whose migrations
-- ran as the superuser, before the services had roles of their own, keeps working under its service's
-- role. Idempotent: what the role owns already is left alone. Used by scripts/provision.py (`make run`,
-- `make cluster`) and deploy/postgres/roles.sh (docker-compose). Objects of an extension stay the
-- extension's; a sequence owned by a column follows its table.
DO $handover$
DECLARE
    target regrole := current_setting('sms_credits.owner')::regrole;
    statement text;
BEGIN
    FOR statement IN
        -- Schemas first (public belongs to pg_database_owner, that is the database's owner: left alone).
        SELECT format('ALTER SCHEMA %I OWNER TO %I', n.nspname, target)
        FROM pg_namespace n
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
          AND n.nspowner NOT IN (target, 'pg_database_owner'::regrole)
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                          AND d.objid = n.oid AND d.deptype = 'e')
        UNION ALL
        SELECT * FROM (
            SELECT format('ALTER %s %s OWNER TO %I',
                          CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                         WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                          c.oid::regclass, target)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
              AND c.relowner <> target
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND d.deptype IN ('a', 'i', 'e'))
            ORDER BY c.relkind = 'S'
        ) AS relations
        UNION ALL
        SELECT format('ALTER %s %s OWNER TO %I', CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
                      t.oid::regtype, target)
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
          AND t.typowner <> target
          AND (t.typtype IN ('e', 'd', 'r')
               OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'))
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                          AND d.deptype = 'e')
        UNION ALL
        SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, target)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
          AND p.proowner <> target
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                          AND d.deptype = 'e')
    LOOP
        EXECUTE statement;
    END LOOP;
END
$handover$;
