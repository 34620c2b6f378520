-- Payments: one row per authorization the order asked for (order id + attempt), moved through its life by
-- the saga. Every call to the provider is recorded in payment_attempts. The simulated provider keeps its own
-- ledger (simulated_provider_ledger), as a real provider would on its side.

CREATE TYPE payment_status AS ENUM ('authorized', 'failed', 'captured', 'voided', 'refunded');
CREATE TYPE payment_operation AS ENUM ('authorize', 'capture', 'void', 'refund');
CREATE TYPE attempt_result AS ENUM ('succeeded', 'declined', 'insufficient_funds', 'invalid_token', 'timed_out', 'error');

CREATE TABLE payments (
    id              uuid           PRIMARY KEY,
    order_id        uuid           NOT NULL,
    order_number    text           NOT NULL,
    attempt         integer        NOT NULL CHECK (attempt >= 0),
    amount_minor    bigint         NOT NULL CHECK (amount_minor >= 0),
    currency        text           NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status          payment_status NOT NULL,
    failure_reason  text,
    provider        text           NOT NULL,
    provider_ref    text,          -- the provider's id of the authorization
    created_at      timestamptz    NOT NULL DEFAULT now(),
    updated_at      timestamptz    NOT NULL DEFAULT now(),
    UNIQUE (order_id, attempt),
    CHECK ((status = 'failed') = (failure_reason IS NOT NULL)),
    CHECK (status = 'failed' OR provider_ref IS NOT NULL)
);
-- At most one payment of an order ever holds or took money: every other attempt failed.
CREATE UNIQUE INDEX payments_one_live_per_order ON payments (order_id) WHERE status <> 'failed';
CREATE INDEX payments_created_at ON payments (created_at DESC, id DESC);

-- Only the saga's transitions: authorized -> captured | voided, captured -> refunded. Failed, voided and
-- refunded payments are final. The application models the same machine as a Rust enum; this trigger is
-- the last line of defence.
CREATE FUNCTION payments_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> OLD.status AND NOT (
        (OLD.status = 'authorized' AND NEW.status IN ('captured', 'voided')) OR
        (OLD.status = 'captured' AND NEW.status = 'refunded')
    ) THEN
        RAISE EXCEPTION 'illegal payment transition % -> %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.order_id <> OLD.order_id OR NEW.attempt <> OLD.attempt OR NEW.amount_minor <> OLD.amount_minor
       OR NEW.currency <> OLD.currency THEN
        RAISE EXCEPTION 'a payment''s order, attempt and amount never change' USING ERRCODE = 'check_violation';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER payments_transition BEFORE UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION payments_check_transition();

-- Every call made to the provider for a payment, with its idempotency key. A key has at most one decided
-- call (success or refusal); calls that timed out or failed are kept beside it, so that every try is on
-- record.
CREATE TABLE payment_attempts (
    id              uuid              PRIMARY KEY,
    payment_id      uuid              NOT NULL REFERENCES payments (id),
    operation       payment_operation NOT NULL,
    idempotency_key text              NOT NULL,
    result          attempt_result    NOT NULL,
    detail          text,
    provider_ref    text,
    latency_ms      integer           NOT NULL CHECK (latency_ms >= 0),
    created_at      timestamptz       NOT NULL DEFAULT now()
);
CREATE INDEX payment_attempts_payment ON payment_attempts (payment_id, created_at);
CREATE UNIQUE INDEX payment_attempts_decided ON payment_attempts (idempotency_key)
    WHERE result NOT IN ('timed_out', 'error');

-- Orders we learned were cancelled: a late payment request for one is not authorized.
CREATE TABLE cancelled_orders (
    order_id     uuid        PRIMARY KEY,
    cancelled_at timestamptz NOT NULL DEFAULT now()
);

-- The simulated provider's own books, written outside the saga's transactions (a real provider's ledger
-- does not roll back with ours). One row per idempotency key: a repeated call returns the stored answer.
-- Timeouts are kept too (outcome 'timed_out') but are not answers: a repeated call decides again.
CREATE TABLE simulated_provider_ledger (
    idempotency_key text        PRIMARY KEY,
    operation       text        NOT NULL,
    reference       text        NOT NULL,   -- the merchant's reference (order id)
    token           text,
    amount_minor    bigint,
    currency        text,
    outcome         text        NOT NULL,
    provider_ref    text,
    calls           integer     NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX simulated_provider_ledger_reference ON simulated_provider_ledger (reference, operation);
