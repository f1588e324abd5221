//! `migrate [--dir migrations] [--seed FILE]`: applies migrations to
//! `DATABASE_ADMIN_URL`, then optionally runs a seed file (demo data).

use std::path::PathBuf;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(message) = run().await {
        eprintln!("migrate: {message}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let mut dir = PathBuf::from("migrations");
    let mut seed: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dir" => dir = args.next().ok_or("--dir needs a path")?.into(),
            "--seed" => seed = Some(args.next().ok_or("--seed needs a file")?.into()),
            other => return Err(format!("unknown argument {other}; usage: migrate [--dir DIR] [--seed FILE]")),
        }
    }
    let url = std::env::var("DATABASE_ADMIN_URL").map_err(|_| "DATABASE_ADMIN_URL is not set".to_string())?;
    let files = migrate::discover(&dir).map_err(|e| e.to_string())?;
    let mut client = migrate::connect(&url).await.map_err(|e| e.to_string())?;
    let report = migrate::apply_all(&mut client, &files).await.map_err(|e| e.to_string())?;
    for name in &report.refused_emulation {
        println!(
            "refused {name}: the target has Supabase's own auth schema, the emulation is for local databases only"
        );
    }
    for name in &report.applied {
        println!("applied {name}");
    }
    println!(
        "{} applied, {} already applied, {} emulation files refused",
        report.applied.len(),
        report.already_applied.len(),
        report.refused_emulation.len()
    );
    if let Some(seed) = seed {
        let sql = std::fs::read_to_string(&seed).map_err(|e| format!("{}: {e}", seed.display()))?;
        client.batch_execute(&sql).await.map_err(|e| format!("seed {}: {e}", seed.display()))?;
        println!("seeded {}", seed.display());
    }
    Ok(())
}
