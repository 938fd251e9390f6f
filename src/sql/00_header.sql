-- handle_market--<version>.sql: built by the Makefile from src/sql/*.sql, in
-- order, for the version in handle_market.control.

\echo Use "CREATE EXTENSION handle_market" to load this file. \quit

-- CREATE EXTENSION reuses a schema named handle_market if one exists.  The
-- SECURITY DEFINER functions below resolve names in it, so a schema that
-- another role owns (and could rename, then plant functions under the old
-- name), that another role may create objects in, or that holds objects
-- already, would run that role's code as the extension's owner.  Refuse it.
DO $$
DECLARE
    v_owner oid;
    v_acl aclitem[];
    v_creator regrole;
    v_objects bigint;
BEGIN
    SELECT n.nspowner, n.nspacl INTO v_owner, v_acl
      FROM pg_catalog.pg_namespace n WHERE n.nspname = '@extschema@';
    IF v_owner IS DISTINCT FROM (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'schema "@extschema@" is owned by role "%", not by the role installing handle_market', v_owner::regrole
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Its owner could rename it and plant functions that the extension''s SECURITY DEFINER code would run.',
                  HINT = format('Drop schema @extschema@ (it was created before the extension), or install as role "%s".', v_owner::regrole);
    END IF;
    SELECT a.grantee::regrole INTO v_creator
      FROM pg_catalog.aclexplode(v_acl) a
     WHERE a.privilege_type = 'CREATE' AND a.grantee <> v_owner LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'schema "@extschema@" lets role "%" create objects in it', coalesce(v_creator::text, 'PUBLIC')
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'A role that may create objects in the schema could plant functions that the extension''s SECURITY DEFINER code would run.',
                  HINT = 'Revoke CREATE on the schema from every other role, or drop it before CREATE EXTENSION.';
    END IF;
    SELECT (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid)
         + (SELECT count(*) FROM pg_catalog.pg_proc p WHERE p.pronamespace = n.oid)
         + (SELECT count(*) FROM pg_catalog.pg_type t WHERE t.typnamespace = n.oid)
         + (SELECT count(*) FROM pg_catalog.pg_operator o WHERE o.oprnamespace = n.oid)
      INTO v_objects
      FROM pg_catalog.pg_namespace n WHERE n.nspname = '@extschema@';
    IF v_objects > 0 THEN
        RAISE EXCEPTION 'schema "@extschema@" already holds % objects', v_objects
            USING ERRCODE = 'duplicate_schema',
                  DETAIL = 'handle_market installs into a schema of its own; objects that were there before would resolve before its own.',
                  HINT = 'Move them out, or drop the schema before CREATE EXTENSION.';
    END IF;
END $$;
