-- Sending leaves the event's transaction. A delivery is recorded as `pending` with the event (inbox
-- transaction), then a sender claims it (`sending`, committed before the message leaves), sends, and records
-- `sent`. A claim found still `sending` after its lease (the sender died between handing the message over
-- and recording it) becomes `unknown` and is never sent again: at most one message per (event, recipient,
-- template). A send the transport reports as not done goes back to `pending` (with back-off) or, after the
-- last attempt or when refused, becomes `failed`.
CREATE TYPE delivery_state AS ENUM ('pending', 'sending', 'sent', 'failed', 'unknown');

ALTER TABLE deliveries
    ADD COLUMN state       delivery_state NOT NULL DEFAULT 'sent',  -- rows from before were sent
    ADD COLUMN attempts    integer        NOT NULL DEFAULT 1 CHECK (attempts >= 0),
    ADD COLUMN next_try_at timestamptz    NOT NULL DEFAULT now(),
    ADD COLUMN claimed_at  timestamptz,
    ADD COLUMN last_error  text,
    ADD COLUMN recorded_at timestamptz    NOT NULL DEFAULT now();
UPDATE deliveries SET recorded_at = sent_at;
ALTER TABLE deliveries
    ALTER COLUMN state SET DEFAULT 'pending',
    ALTER COLUMN attempts SET DEFAULT 0,
    ALTER COLUMN sent_at DROP NOT NULL,
    ALTER COLUMN sent_at DROP DEFAULT,
    ADD CONSTRAINT deliveries_sent_at CHECK ((state = 'sent') = (sent_at IS NOT NULL)),
    ADD CONSTRAINT deliveries_claimed CHECK (state = 'pending' OR attempts > 0);

CREATE INDEX deliveries_due ON deliveries (next_try_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_sending ON deliveries (claimed_at) WHERE state = 'sending';
