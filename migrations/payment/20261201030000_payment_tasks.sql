-- Provider calls leave the inbox transaction. The saga's consumer only records what is to be done (a task);
-- a worker claims due tasks, calls the provider with no transaction open, and records the outcome (payment
-- row, provider attempt, event) in one short transaction. An order's order-steps (authorize, capture,
-- cancel) run one at a time in the order they were recorded (seq); a reconciliation of an authorization
-- whose outcome is unknown runs beside them.

CREATE TYPE payment_task_kind AS ENUM ('authorize', 'capture', 'cancel', 'reconcile');
CREATE TYPE payment_task_state AS ENUM ('pending', 'done', 'attention');

CREATE TABLE payment_tasks (
    id            uuid               PRIMARY KEY,
    seq           bigint             GENERATED ALWAYS AS IDENTITY UNIQUE,
    order_id      uuid               NOT NULL,
    kind          payment_task_kind  NOT NULL,
    -- authorize and reconcile: the payment attempt, and what the provider is asked (the token is erased
    -- once the task is done).
    attempt       integer            CHECK (attempt >= 0),
    order_number  text,
    amount_minor  bigint             CHECK (amount_minor >= 0),
    currency      text               CHECK (currency ~ '^[A-Z]{3}$'),
    token         text,
    -- The payment the task is about (reconcile: the failed payment; capture and cancel: set when run).
    payment_id    uuid               REFERENCES payments (id),
    -- reconcile: the authorization the provider reported late, to be voided.
    provider_ref  text,
    state         payment_task_state NOT NULL DEFAULT 'pending',
    -- Claims so far (a claim that crashed counts too).
    tries         integer            NOT NULL DEFAULT 0 CHECK (tries >= 0),
    -- When the task may be claimed next: now, after a back-off, or after the lease of a running claim.
    next_try_at   timestamptz        NOT NULL DEFAULT now(),
    last_error    text,
    created_at    timestamptz        NOT NULL DEFAULT now(),
    updated_at    timestamptz        NOT NULL DEFAULT now(),
    CHECK (kind NOT IN ('authorize', 'reconcile') OR (attempt IS NOT NULL AND order_number IS NOT NULL
           AND amount_minor IS NOT NULL AND currency IS NOT NULL)),
    CHECK (kind <> 'reconcile' OR payment_id IS NOT NULL)
);
-- One authorization task per order and attempt: a repeated payment.requested finds it.
CREATE UNIQUE INDEX payment_tasks_one_authorize ON payment_tasks (order_id, attempt) WHERE kind = 'authorize';
CREATE INDEX payment_tasks_due ON payment_tasks (next_try_at, seq) WHERE state = 'pending';
CREATE INDEX payment_tasks_order_pending ON payment_tasks (order_id, seq) WHERE state = 'pending';
CREATE INDEX payment_tasks_attention ON payment_tasks (updated_at DESC, id DESC) WHERE state = 'attention';
