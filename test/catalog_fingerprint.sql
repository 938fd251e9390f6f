-- test/catalog_fingerprint.sql: every object of the extension as lines of
-- text, sorted, with no OIDs in them, so that two databases (one upgraded
-- from an older version, one installed fresh) can be compared with diff.
-- Functions with their bodies, settings, flags and ACLs; tables with their
-- columns, defaults, options and ACLs; constraints, indexes, triggers,
-- sequences, types, operators, operator classes and families, casts,
-- comments, the extension's configuration tables and its members, and the
-- partitioning: each partitioned table's key, each partition's parent and
-- bounds.
--
-- Nothing is left out for handle_events' monthly partitions: no script
-- makes one (create_history_partitions() does, at run time, and they
-- belong to no extension), so a fresh install and an updated database
-- both have the parent and its default partition alone, and a dated
-- partition that a script made would show here as a difference.
\pset format unaligned
\pset tuples_only on
\pset pager off
SET search_path = pg_catalog;

WITH ext AS (
    SELECT oid, extnamespace AS nsp FROM pg_extension WHERE extname = 'handle_market'
), members AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), lines AS (
    -- functions and procedures
    SELECT 'function ' || p.oid::regprocedure::text || ' ' || concat_ws(' ',
               'kind=' || p.prokind::text, 'volatile=' || p.provolatile::text, 'strict=' || p.proisstrict,
               'secdef=' || p.prosecdef, 'leakproof=' || p.proleakproof, 'parallel=' || p.proparallel::text,
               'cost=' || p.procost, 'rows=' || p.prorows, 'support=' || p.prosupport::regproc::text,
               'config=' || coalesce(p.proconfig::text, '-'), 'acl=' || coalesce(p.proacl::text, '-'),
               'comment=' || coalesce(obj_description(p.oid, 'pg_proc'), '-'),
               CASE WHEN p.prokind <> 'a' THEN 'def=' || md5(pg_get_functiondef(p.oid)) END,
               CASE WHEN p.prokind = 'a' THEN (SELECT 'agg=' || concat_ws(',', a.aggtransfn::regproc::text,
                        a.aggfinalfn::regproc::text, a.aggcombinefn::regproc::text,
                        a.aggsortop::regoperator::text, format_type(a.aggtranstype, NULL))
                      FROM pg_aggregate a WHERE a.aggfnoid = p.oid) END) AS line
      FROM pg_proc p, ext WHERE p.pronamespace = ext.nsp
    UNION ALL
    -- relations: tables, indexes, sequences, views
    SELECT 'relation ' || c.relname || ' ' || concat_ws(' ', 'kind=' || c.relkind::text,
               'persistence=' || c.relpersistence::text, 'options=' || coalesce(c.reloptions::text, '-'),
               'acl=' || coalesce(c.relacl::text, '-'),
               'comment=' || coalesce(obj_description(c.oid, 'pg_class'), '-'),
               'partitioned=' || c.relispartition)
      FROM pg_class c, ext WHERE c.relnamespace = ext.nsp
    UNION ALL
    SELECT 'partition key ' || c.relname || ' ' || pg_get_partkeydef(c.oid)
      FROM pg_class c, ext WHERE c.relnamespace = ext.nsp AND c.relkind = 'p'
    UNION ALL
    SELECT 'partition ' || c.relname || ' of ' || p.relname || ' ' || pg_get_expr(c.relpartbound, c.oid)
      FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid JOIN pg_class p ON p.oid = i.inhparent
      JOIN ext ON c.relnamespace = ext.nsp
     WHERE c.relispartition
    UNION ALL
    SELECT 'column ' || c.relname || '.' || a.attname || ' ' || concat_ws(' ',
               -- the position among live columns: an upgrade that drops a
               -- column leaves a gap in attnum that a fresh install has not
               'position=' || row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
               format_type(a.atttypid, a.atttypmod),
               'notnull=' || a.attnotnull, 'identity=' || a.attidentity::text, 'generated=' || a.attgenerated::text,
               'collation=' || coalesce((SELECT collname FROM pg_collation WHERE oid = a.attcollation), '-'),
               'default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-'),
               'acl=' || coalesce(a.attacl::text, '-'),
               'comment=' || coalesce(col_description(c.oid, a.attnum), '-'))
      FROM pg_class c JOIN ext ON c.relnamespace = ext.nsp
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    UNION ALL
    SELECT 'constraint ' || c.relname || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid)
           || ' deferrable=' || k.condeferrable || ' deferred=' || k.condeferred
           || ' comment=' || coalesce(obj_description(k.oid, 'pg_constraint'), '-')
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN ext ON c.relnamespace = ext.nsp
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid)
      FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN ext ON c.relnamespace = ext.nsp
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
           || ' comment=' || coalesce(obj_description(t.oid, 'pg_trigger'), '-')
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN ext ON c.relnamespace = ext.nsp
     WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'sequence ' || c.relname || ' ' || concat_ws(' ', format_type(s.seqtypid, NULL), s.seqstart,
               s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle)
      FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN ext ON c.relnamespace = ext.nsp
    UNION ALL
    SELECT 'type ' || format_type(t.oid, NULL) || ' ' || concat_ws(' ', 'kind=' || t.typtype::text,
               'category=' || t.typcategory::text, 'len=' || t.typlen, 'align=' || t.typalign::text,
               'storage=' || t.typstorage::text, 'in=' || t.typinput::text, 'out=' || t.typoutput::text,
               'recv=' || t.typreceive::text, 'send=' || t.typsend::text,
               'acl=' || coalesce(t.typacl::text, '-'),
               'comment=' || coalesce(obj_description(t.oid, 'pg_type'), '-'))
      FROM pg_type t, ext WHERE t.typnamespace = ext.nsp AND t.typtype <> 'c' AND t.typname !~ '^_'
    UNION ALL
    SELECT 'operator ' || o.oid::regoperator::text || ' ' || concat_ws(' ', 'code=' || o.oprcode::text,
               'commutator=' || o.oprcom::regoperator::text, 'negator=' || o.oprnegate::regoperator::text,
               'restrict=' || o.oprrest::text, 'join=' || o.oprjoin::text,
               'hashes=' || o.oprcanhash, 'merges=' || o.oprcanmerge,
               'comment=' || coalesce(obj_description(o.oid, 'pg_operator'), '-'))
      FROM pg_operator o, ext WHERE o.oprnamespace = ext.nsp
    UNION ALL
    SELECT 'opclass ' || am.amname || ' ' || oc.opcname || ' for ' || format_type(oc.opcintype, NULL)
           || ' default=' || oc.opcdefault || ' family=' || f.opfname
      FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
      JOIN pg_opfamily f ON f.oid = oc.opcfamily JOIN ext ON oc.opcnamespace = ext.nsp
    UNION ALL
    SELECT 'opfamily ' || am.amname || ' ' || f.opfname || ' op ' || ao.amopstrategy || ' '
           || ao.amopopr::regoperator::text || ' ' || ao.amoppurpose::text
      FROM pg_amop ao JOIN pg_opfamily f ON f.oid = ao.amopfamily JOIN pg_am am ON am.oid = f.opfmethod
      JOIN ext ON f.opfnamespace = ext.nsp
    UNION ALL
    SELECT 'opfamily ' || am.amname || ' ' || f.opfname || ' proc ' || ap.amprocnum || ' '
           || format_type(ap.amproclefttype, NULL) || ',' || format_type(ap.amprocrighttype, NULL)
           || ' ' || ap.amproc::regprocedure::text
      FROM pg_amproc ap JOIN pg_opfamily f ON f.oid = ap.amprocfamily JOIN pg_am am ON am.oid = f.opfmethod
      JOIN ext ON f.opfnamespace = ext.nsp
    UNION ALL
    SELECT 'cast ' || format_type(k.castsource, NULL) || ' -> ' || format_type(k.casttarget, NULL)
           || ' ' || k.castcontext::text || ' ' || k.castmethod::text || ' ' || coalesce(k.castfunc::regprocedure::text, '-')
      FROM pg_cast k JOIN members m ON m.classid = 'pg_cast'::regclass AND m.objid = k.oid
    UNION ALL
    SELECT 'schema ' || n.nspname || ' acl=' || coalesce(n.nspacl::text, '-')
      FROM pg_namespace n, ext WHERE n.oid = ext.nsp
    UNION ALL
    SELECT 'config ' || c.relname || ' ' || coalesce(cfg.cond, '')
      FROM (SELECT x.extconfig[i] AS rel, x.extcondition[i] AS cond
              FROM pg_extension x JOIN ext ON x.oid = ext.oid,
                   generate_subscripts(x.extconfig, 1) i) cfg
      JOIN pg_class c ON c.oid = cfg.rel
    UNION ALL
    SELECT 'member ' || pg_describe_object(m.classid, m.objid, 0) FROM members m
)
SELECT line FROM lines ORDER BY line COLLATE "C";
