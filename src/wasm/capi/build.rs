//! Copies the C API's generated headers (wasmtime.h and friends, with `conf.h`) to the directory
//! named by STAVKA_CAPI_INCLUDE_DEST, where scripts/wasmtime.sh publishes them next to the library.
use std::{env, fs, path::Path};

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create include dir");
    for entry in fs::read_dir(from).expect("read include dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy header");
        }
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=STAVKA_CAPI_INCLUDE_DEST");
    let Ok(dest) = env::var("STAVKA_CAPI_INCLUDE_DEST") else { return };
    let include = env::var("DEP_WASMTIME_C_API_INCLUDE").expect("wasmtime-c-api-impl publishes its include dir");
    copy_tree(Path::new(&include), Path::new(&dest));
}
