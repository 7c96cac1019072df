-- phase: expand
CREATE TABLE items (
    id         serial PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO items (name) VALUES ('butter'), ('flour'), ('sugar');

CREATE TABLE visits (
    id         bigserial PRIMARY KEY,
    path       text NOT NULL,
    visited_at timestamptz NOT NULL DEFAULT now()
);
