-- The audit trail of staff actions, present in every component's schema (see `platform::audit`).
--
-- A staff handler inserts its entry through the transaction that makes the change, so an entry exists
-- exactly when the change does; an action refused or failed is recorded once afterwards, in a short
-- transaction of its own. Rows are never changed or removed: the triggers below refuse UPDATE, DELETE
-- and TRUNCATE, whatever the caller.
CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,                 -- UUIDv7: sorts by time of writing
    occurred_at timestamptz NOT NULL DEFAULT now(),
    -- The `sub` of the access token that asked for the action, and the roles it carried.
    actor       text        NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
    actor_roles text[]      NOT NULL,
    -- What was done, `<resource>.<verb>` (e.g. `order.ship`, `stock.set`, `review.hide`).
    action      text        NOT NULL CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
    resource_type text      NOT NULL CHECK (length(resource_type) BETWEEN 1 AND 100),
    resource_id text        NOT NULL CHECK (length(resource_id) BETWEEN 1 AND 300),
    -- `succeeded`: the change committed with this row. `refused`: a 4xx (wrong state, invalid input,
    -- conflict), nothing changed. `failed`: a 5xx, nothing changed.
    outcome     text        NOT NULL CHECK (outcome IN ('succeeded', 'refused', 'failed')),
    -- Why it was refused or failed (the problem's detail); NULL when it succeeded.
    detail      text,
    before      jsonb,
    after       jsonb,
    -- The request's `x-request-id`, to find it in the logs.
    request_id  text
);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, id DESC);
CREATE INDEX audit_log_action ON audit_log (action, id DESC);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER audit_log_no_change
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
