//! The build script of every function crate (`build = "../build.rs"`): links its Lambda
//! binary as a position-dependent executable.
//!
//! A position-independent one (Rust's default) makes the dynamic loader rewrite every absolute
//! pointer in the binary's read-only data as it starts: ~38,000 relocations over 1.3 MB, about
//! 300 more page faults than the hello-world floor, most of the gap between a function's init
//! and the floor's. Linked at a fixed address, those pointers are final in the file and the
//! pages are read only if used. The cost: the executable's own code and data are not placed at
//! a random address (its heap, stack and shared libraries still are); docs/security.md weighs
//! it. The floor (`bench`) is linked the same way.

fn main() {
    println!("cargo:rerun-if-changed=../build.rs");
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
