-- What sipbuddy needs beside Kamailio's layout.

-- The xcap-directory's last-modified of each document. Kamailio names its
-- columns in every statement, so an extra column with a default is
-- invisible to it (rows it writes get the time of their insert).
ALTER TABLE xcap ADD COLUMN IF NOT EXISTS sipbuddy_modified TIMESTAMPTZ NOT NULL DEFAULT now();

-- Documents of AUIDs Kamailio has no doc_type number for (the legacy
-- oma_status-icon AUID), global documents, and keys that do not fit
-- Kamailio's column sizes.
CREATE TABLE sipbuddy_documents (
    auid TEXT NOT NULL,
    global BOOLEAN NOT NULL,
    xui TEXT NOT NULL,
    path TEXT NOT NULL,
    doc BYTEA NOT NULL,
    etag TEXT NOT NULL,
    modified TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (auid, global, xui, path)
);
CREATE INDEX sipbuddy_documents_xui_idx ON sipbuddy_documents (xui);

-- Users with digest HA1 values, not passwords, as Kamailio's subscriber
-- table keeps them: ha1 = H(user:realm:password), ha1b =
-- H(user@realm:realm:password), for MD5 and SHA-256.
CREATE TABLE sipbuddy_users (
    username TEXT PRIMARY KEY,
    realm TEXT NOT NULL,
    ha1 TEXT NOT NULL,
    ha1b TEXT NOT NULL,
    ha1_sha256 TEXT NOT NULL,
    ha1b_sha256 TEXT NOT NULL,
    modified TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Secrets every node shares: the digest nonce key, so that a nonce one
-- XCAP node issued is accepted by the others.
CREATE TABLE sipbuddy_secrets (
    name TEXT PRIMARY KEY,
    secret BYTEA NOT NULL,
    created TIMESTAMPTZ NOT NULL DEFAULT now()
);
