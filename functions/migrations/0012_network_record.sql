-- The network the database's data belongs to, recorded by the first process that follows the chain or registers
-- addresses on it (npm start, the processor, the follower, the CLI's address commands); NULL until then. A process
-- configured for another network refuses to work on it (adapters/postgres/network-record.ts): mainnet addresses
-- and blocks read with a test network's slot clock would be wrong everywhere, and silently so.
ALTER TABLE sync_state ADD COLUMN network text NULL CHECK (network IN ('mainnet', 'preprod', 'preview'));
