//! goose integration: personas become scenarios, one goose user is one agent.
