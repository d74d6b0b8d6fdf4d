//! The hello-world floor is linked as the functions are (`functions/build.rs`: a
//! position-dependent executable), so init is compared like for like.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-link-arg-bin=hello-floor=-no-pie");
}
