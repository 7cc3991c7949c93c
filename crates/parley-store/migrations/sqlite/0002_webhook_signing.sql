-- How outbound webhooks are signed: HMAC-SHA1 with the Auth Token (Twilio's default), or
-- HMAC-SHA256 with a shared key (the newer libraries' X-Twilio-Webhooks-Signature-Settings).
ALTER TABLE account_configs ADD COLUMN webhook_signing_algorithm TEXT NOT NULL DEFAULT 'HMAC_SHA1';
ALTER TABLE account_configs ADD COLUMN webhook_signing_key_id TEXT;
ALTER TABLE account_configs ADD COLUMN webhook_signing_secret TEXT;
