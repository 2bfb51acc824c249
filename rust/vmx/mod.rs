// SPDX-License-Identifier: GPL-2.0

//! VT-x logic with no kernel dependency.
//!
//! This file is both the `vmx` module of the kernel crate and the root of the host crate that
//! `cargo test` builds, so everything below it uses `core` only.

pub mod capabilities;
pub mod control_fields;
pub mod controls;
pub mod cpuid;
pub mod cr_access;
pub mod entry_checks;
pub mod entry_failure;
pub mod event_injection;
pub mod exit_latency;
pub mod exit_reason;
pub mod exit_table;
pub mod exit_trace;
pub mod fields;
pub mod hand_over;
pub mod hypercall;
pub mod instruction_error;
pub mod msr;
pub mod native_resume;
pub mod observe;
pub mod rip;
pub mod segment;
pub mod single_step;
pub mod support;
pub mod vmcs_corruption;
pub mod vmx_operation;
pub mod xcr;
