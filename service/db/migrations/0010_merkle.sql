-- The Merkle tree of the log (RFC 6962), kept incrementally by service/merkle_store.py.
--
-- merkle_nodes holds every *perfect* subtree of the tree built so far: (level, index) covers
-- the leaves [index * 2^level, (index + 1) * 2^level); level 0 is the leaf hashes. A node
-- exists iff (index + 1) * 2^level <= size, and never changes once written, so the table only
-- grows. Ragged right edges are folded from these nodes when asked, never stored.
-- merkle_state is the one row saying how many leaves (log positions 1..size) the tree covers,
-- its root, the chain hash of event `size` (to check the next event links to it) and when the
-- tree reached that size (the timestamp of the signed head for it). Nodes and state are
-- written in one transaction, so a reader always sees a complete tree of `size` leaves.

CREATE TABLE merkle_nodes (
    level  smallint NOT NULL CHECK (level BETWEEN 0 AND 62),
    index  bigint   NOT NULL CHECK (index >= 0),
    hash   bytea    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, index)
);

CREATE TABLE merkle_state (
    one         boolean     PRIMARY KEY DEFAULT true CHECK (one),
    size        bigint      NOT NULL CHECK (size >= 0),
    root        bytea       NOT NULL CHECK (length(root) = 32),
    last_hash   bytea       NOT NULL CHECK (length(last_hash) = 32),
    updated_at  timestamptz NOT NULL
);

-- The empty tree: root SHA-256(""), and the genesis hash (32 zero bytes) to link event 1 to.
INSERT INTO merkle_state (one, size, root, last_hash, updated_at) VALUES (
    true,
    0,
    '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::bytea,
    '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
    now()
);

-- A node, once written, never changes. (To rebuild the tree from the log, an operator may
-- TRUNCATE merkle_nodes and reset merkle_state to the row above, in one transaction.)
CREATE FUNCTION merkle_nodes_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Merkle tree nodes never change: % on merkle_nodes is refused', TG_OP;
END;
$$;

CREATE TRIGGER merkle_nodes_append_only
    BEFORE UPDATE OR DELETE ON merkle_nodes
    FOR EACH ROW EXECUTE FUNCTION merkle_nodes_refuse_change();
