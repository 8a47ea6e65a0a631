//! Drivers shared by the fuzz targets (`fuzz_targets/`): each target is a thin entry point that
//! hands its arbitrary input to one of these.

pub mod drive;
pub mod pair;
