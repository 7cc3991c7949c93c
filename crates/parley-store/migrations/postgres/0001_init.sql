-- Parley's schema (PostgreSQL): the same tables, columns and index names as the SQLite
-- schema (migrations/sqlite/0001_init.sql, which explains each table), so the portable SQL
-- runs unchanged and a unique violation names the same index on both. Every integer is
-- BIGINT (booleans are 0/1 BIGINTs too): the driver is strict about types. `seq` is a
-- BIGSERIAL: increasing, though not gap-free (paging only needs the order).

CREATE TABLE accounts (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  auth_token TEXT NOT NULL,
  friendly_name TEXT NOT NULL,
  status TEXT NOT NULL,
  owner_account_sid TEXT,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);

CREATE TABLE api_keys (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  friendly_name TEXT NOT NULL,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE INDEX api_keys_account ON api_keys(account_sid, seq);

-- The account-level Conversations configuration (/v1/Configuration) and the global
-- webhook settings (/v1/Configuration/Webhooks).
CREATE TABLE account_configs (
  seq BIGSERIAL PRIMARY KEY,
  account_sid TEXT NOT NULL UNIQUE,
  default_chat_service_sid TEXT NOT NULL,
  default_messaging_service_sid TEXT NOT NULL,
  default_inactive_timer TEXT,
  default_closed_timer TEXT,
  webhook_method TEXT NOT NULL,
  webhook_filters TEXT NOT NULL,
  webhook_pre_url TEXT,
  webhook_post_url TEXT,
  webhook_target TEXT NOT NULL,
  date_updated BIGINT NOT NULL
);

CREATE TABLE services (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  friendly_name TEXT NOT NULL,
  default_conversation_creator_role_sid TEXT,
  default_conversation_role_sid TEXT,
  default_chat_service_role_sid TEXT,
  reachability_enabled BIGINT NOT NULL,
  notifications TEXT NOT NULL,
  webhook_method TEXT NOT NULL,
  webhook_filters TEXT NOT NULL,
  webhook_pre_url TEXT,
  webhook_post_url TEXT,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE INDEX services_account ON services(account_sid, seq);

CREATE TABLE conversations (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  service_sid TEXT NOT NULL,
  messaging_service_sid TEXT,
  friendly_name TEXT,
  unique_name TEXT,
  attributes TEXT NOT NULL,
  state TEXT NOT NULL,
  timer_inactive TEXT,
  timer_closed TEXT,
  date_inactive BIGINT,
  date_closed BIGINT,
  bindings TEXT,
  next_index BIGINT NOT NULL,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE UNIQUE INDEX conversations_unique_name ON conversations(service_sid, unique_name) WHERE unique_name IS NOT NULL;
CREATE INDEX conversations_service ON conversations(service_sid, seq);

CREATE TABLE participants (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  service_sid TEXT NOT NULL,
  conversation_sid TEXT NOT NULL,
  identity TEXT,
  user_sid TEXT,
  address TEXT,
  proxy_address TEXT,
  projected_address TEXT,
  channel_type TEXT,
  attributes TEXT NOT NULL,
  role_sid TEXT,
  last_read_message_index BIGINT,
  last_read_timestamp TEXT,
  notification_level TEXT,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE UNIQUE INDEX participants_identity ON participants(conversation_sid, identity) WHERE identity IS NOT NULL;
CREATE INDEX participants_conversation ON participants(conversation_sid, seq);
CREATE INDEX participants_by_identity ON participants(service_sid, identity, seq) WHERE identity IS NOT NULL;
CREATE INDEX participants_by_address ON participants(service_sid, address, seq) WHERE address IS NOT NULL;

-- The routing index: an (address, proxy address) pair belongs to at most one conversation
-- that is not closed. Rows leave when the participant leaves or the conversation closes.
CREATE TABLE bindings (
  seq BIGSERIAL PRIMARY KEY,
  account_sid TEXT NOT NULL,
  address TEXT NOT NULL,
  proxy_address TEXT NOT NULL,
  conversation_sid TEXT NOT NULL,
  participant_sid TEXT NOT NULL
);
CREATE UNIQUE INDEX bindings_pair ON bindings(account_sid, address, proxy_address);
CREATE INDEX bindings_conversation ON bindings(conversation_sid);
CREATE INDEX bindings_participant ON bindings(participant_sid);

CREATE TABLE messages (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  service_sid TEXT NOT NULL,
  conversation_sid TEXT NOT NULL,
  idx BIGINT NOT NULL,
  author TEXT NOT NULL,
  participant_sid TEXT,
  body TEXT,
  attributes TEXT NOT NULL,
  media TEXT,
  content_sid TEXT,
  subject TEXT,
  source TEXT NOT NULL,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE UNIQUE INDEX messages_index ON messages(conversation_sid, idx);

CREATE TABLE receipts (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  service_sid TEXT NOT NULL,
  conversation_sid TEXT NOT NULL,
  message_sid TEXT NOT NULL,
  participant_sid TEXT,
  channel_message_sid TEXT NOT NULL,
  status TEXT NOT NULL,
  error_code BIGINT NOT NULL,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE INDEX receipts_message ON receipts(message_sid, seq);
CREATE INDEX receipts_channel_message ON receipts(channel_message_sid);

CREATE TABLE conversation_webhooks (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  service_sid TEXT NOT NULL,
  conversation_sid TEXT NOT NULL,
  target TEXT NOT NULL,
  url TEXT,
  method TEXT,
  filters TEXT NOT NULL,
  triggers TEXT NOT NULL,
  flow_sid TEXT,
  replay_after BIGINT,
  retry_count BIGINT,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE INDEX conversation_webhooks_conversation ON conversation_webhooks(conversation_sid, seq);

CREATE TABLE address_configs (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  address_type TEXT NOT NULL,
  address TEXT NOT NULL,
  friendly_name TEXT,
  address_country TEXT,
  auto_enabled BIGINT NOT NULL,
  auto_type TEXT,
  auto_service_sid TEXT,
  webhook_url TEXT,
  webhook_method TEXT,
  webhook_filters TEXT NOT NULL,
  studio_flow_sid TEXT,
  studio_retry_count BIGINT,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE UNIQUE INDEX address_configs_address ON address_configs(account_sid, address);

CREATE TABLE users (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  service_sid TEXT NOT NULL,
  identity TEXT NOT NULL,
  friendly_name TEXT,
  attributes TEXT NOT NULL,
  role_sid TEXT,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_identity ON users(service_sid, identity);

CREATE TABLE roles (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  service_sid TEXT NOT NULL,
  friendly_name TEXT NOT NULL,
  role_type TEXT NOT NULL,
  permissions TEXT NOT NULL,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE INDEX roles_service ON roles(service_sid, seq);

CREATE TABLE credentials (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  credential_type TEXT NOT NULL,
  friendly_name TEXT,
  sandbox BIGINT NOT NULL,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE INDEX credentials_account ON credentials(account_sid, seq);

-- Studio
CREATE TABLE flows (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  friendly_name TEXT NOT NULL,
  status TEXT NOT NULL,
  revision BIGINT NOT NULL,
  published_revision BIGINT,
  commit_message TEXT,
  definition TEXT NOT NULL,
  valid BIGINT NOT NULL,
  errors TEXT NOT NULL,
  warnings TEXT NOT NULL,
  test_users TEXT NOT NULL,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE INDEX flows_account ON flows(account_sid, seq);

CREATE TABLE flow_revisions (
  seq BIGSERIAL PRIMARY KEY,
  rev_key TEXT NOT NULL UNIQUE,
  flow_sid TEXT NOT NULL,
  account_sid TEXT NOT NULL,
  revision BIGINT NOT NULL,
  friendly_name TEXT NOT NULL,
  status TEXT NOT NULL,
  commit_message TEXT,
  definition TEXT NOT NULL,
  valid BIGINT NOT NULL,
  errors TEXT NOT NULL,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE INDEX flow_revisions_flow ON flow_revisions(flow_sid, revision);

CREATE TABLE executions (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  flow_sid TEXT NOT NULL,
  flow_revision BIGINT NOT NULL,
  contact_key TEXT NOT NULL,
  contact_channel_address TEXT NOT NULL,
  flow_channel_address TEXT NOT NULL,
  conversation_sid TEXT,
  status TEXT NOT NULL,
  initiated_by TEXT NOT NULL,
  waiting_for_reply BIGINT NOT NULL,
  session TEXT NOT NULL,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
-- One active execution per flow and contact (Studio's rule; 20409 on a REST duplicate).
CREATE UNIQUE INDEX executions_active_contact ON executions(flow_sid, contact_key) WHERE status = 'active';
CREATE INDEX executions_flow ON executions(flow_sid, seq);
CREATE INDEX executions_conversation ON executions(conversation_sid) WHERE status = 'active';
CREATE INDEX executions_waiting ON executions(account_sid, contact_channel_address, flow_channel_address) WHERE status = 'active' AND conversation_sid IS NULL;

CREATE TABLE steps (
  seq BIGSERIAL PRIMARY KEY,
  -- No unique index on sid: a step is always read through its execution
  -- (steps_execution), and the write path stays one index lighter.
  sid TEXT NOT NULL,
  account_sid TEXT NOT NULL,
  flow_sid TEXT NOT NULL,
  execution_sid TEXT NOT NULL,
  parent_step_sid TEXT,
  name TEXT NOT NULL,
  transitioned_from TEXT NOT NULL,
  transitioned_to TEXT NOT NULL,
  widget_type TEXT NOT NULL,
  context TEXT NOT NULL,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE INDEX steps_execution ON steps(execution_sid, seq);

-- Durable jobs: timers, webhook deliveries, outbound carrier deliveries, HTTP widget calls.
-- `job_key` lets a job be replaced or cancelled (a timer is rescheduled, a flow timer is
-- cancelled when its reply arrives).
CREATE TABLE jobs (
  seq BIGSERIAL PRIMARY KEY,
  job_key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  account_sid TEXT NOT NULL,
  run_at BIGINT NOT NULL,
  attempts BIGINT NOT NULL,
  max_attempts BIGINT NOT NULL,
  payload TEXT NOT NULL,
  locked_until BIGINT NOT NULL,
  last_error TEXT,
  date_created BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(run_at, locked_until);

-- What an operator sees of webhook deliveries: each attempt's outcome, including give-ups.
CREATE TABLE webhook_deliveries (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  conversation_sid TEXT,
  webhook_sid TEXT,
  event_type TEXT NOT NULL,
  url TEXT NOT NULL,
  method TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  response_status BIGINT,
  last_error TEXT,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_account ON webhook_deliveries(account_sid, seq);

-- The phone simulator's handsets: every message a virtual handset sent or received.
CREATE TABLE sim_messages (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  handset TEXT NOT NULL,
  parley_address TEXT NOT NULL,
  direction TEXT NOT NULL,
  body TEXT,
  media TEXT,
  status TEXT NOT NULL,
  conversation_sid TEXT,
  date_created BIGINT NOT NULL
);
CREATE INDEX sim_messages_handset ON sim_messages(account_sid, handset, seq);

-- Numbers (Twilio's IncomingPhoneNumbers) with their inbound webhook and their carrier.
CREATE TABLE phone_numbers (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  phone_number TEXT NOT NULL,
  friendly_name TEXT,
  sms_url TEXT,
  sms_method TEXT NOT NULL,
  voice_url TEXT,
  carrier TEXT NOT NULL,
  carrier_config TEXT NOT NULL,
  date_created BIGINT NOT NULL,
  date_updated BIGINT NOT NULL
);
CREATE UNIQUE INDEX phone_numbers_number ON phone_numbers(account_sid, phone_number);

-- Inbound messages that no route took: kept so an operator can see them.
CREATE TABLE refused_messages (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  from_address TEXT NOT NULL,
  to_address TEXT NOT NULL,
  body TEXT,
  reason TEXT NOT NULL,
  date_created BIGINT NOT NULL
);
CREATE INDEX refused_messages_account ON refused_messages(account_sid, seq);

-- Conversations handed from a flow to a human (send-to-flex).
CREATE TABLE handoffs (
  seq BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  account_sid TEXT NOT NULL,
  flow_sid TEXT NOT NULL,
  execution_sid TEXT NOT NULL,
  conversation_sid TEXT,
  workflow TEXT NOT NULL,
  channel TEXT NOT NULL,
  attributes TEXT NOT NULL,
  priority BIGINT NOT NULL,
  timeout BIGINT NOT NULL,
  date_created BIGINT NOT NULL
);
CREATE INDEX handoffs_account ON handoffs(account_sid, seq);
