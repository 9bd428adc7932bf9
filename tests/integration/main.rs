//! The one integration test binary: the real `cruddur-infra` binary against a real moto
//! emulator, with results checked through the AWS SDK directly.

mod harness;

mod bad_input;
mod checks;
mod cli;
mod data;
mod dax;
mod dynamodb_local;
mod faults;
mod layering;
mod lock;
mod outputs;
mod permissions;
mod progress;
mod safety;
mod saved_plans;
mod seed;
mod speed;
mod status;
mod stream;
mod tables;
