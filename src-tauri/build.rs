fn main() {
    // The app embeds the built web UI (frontendDist): rebuild when it changes.
    println!("cargo:rerun-if-changed=../ui/dist");
    // The app's own commands get permissions (allow-api, …) so the capability file can list
    // exactly what the UI may call.
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(
            tauri_build::AppManifest::new().commands(&["api", "app_info", "ui_ready"]),
        ),
    )
    .expect("tauri-build failed (is src-tauri/tauri.conf.json valid and ui/dist built?)");
}
