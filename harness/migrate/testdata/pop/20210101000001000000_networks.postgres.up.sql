-- Networks: one per tenant.
CREATE TABLE networks (id uuid PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now());
