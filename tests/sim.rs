//! Integration tests: sim (one binary; each module was a test binary of its own).

mod sim_agent;
mod sim_auth;
mod sim_banner;
mod sim_common;
mod sim_cors;
mod sim_customer;
mod sim_faults;
mod sim_fuzz;
mod sim_http;
mod sim_openapi;
mod sim_ops2;
mod sim_rejections;
mod sim_route_rejections;
mod sim_sandbox;
mod sim_schemathesis;
mod sim_transfer;
mod sim_windows;
