-- Triggers; ACTION_ORDER ranks triggers of one table, timing and event (FOLLOWS/PRECEDES).
SELECT TRIGGER_NAME AS name,
       EVENT_MANIPULATION AS event,
       EVENT_OBJECT_TABLE AS table_name,
       ACTION_ORDER AS action_order,
       ACTION_STATEMENT AS body,
       ACTION_TIMING AS timing,
       ACTION_ORIENTATION AS orientation
FROM information_schema.TRIGGERS
WHERE TRIGGER_SCHEMA = %(db)s
ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER
